//! Progress on stderr: an indicatif bar on a terminal, else a plain line every few seconds.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

#[derive(Clone)]
pub struct Progress {
    inner: Arc<Inner>,
}

enum Inner {
    Bar(ProgressBar, &'static str),
    Lines {
        started: Instant,
        last: Mutex<Instant>,
        verb: &'static str,
        note: Mutex<String>,
        /// Rows finished so far, for the lines printed between rows.
        done: std::sync::atomic::AtomicU64,
    },
}

impl Progress {
    /// A bar on a terminal (its length from `total`, called only then: counting reads the file),
    /// else a line every 5 s.
    pub fn start(total: impl FnOnce() -> Option<u64>, dry_run: bool) -> Self {
        let verb = if dry_run { "checked" } else { "done" };
        let inner = if crate::import::stderr_is_terminal() {
            let bar = match total() {
                Some(total) => {
                    ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr())
                        .with_style(
                            ProgressStyle::with_template(
                                "{bar:40} {pos}/{len} rows {msg} ({per_sec}, ETA {eta})",
                            )
                            .expect("a valid template"),
                        )
                }
                None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr())
                    .with_style(
                        ProgressStyle::with_template("{spinner} {pos} rows {msg} ({per_sec})")
                            .expect("a valid template"),
                    ),
            };
            bar.set_message(verb);
            bar.enable_steady_tick(Duration::from_millis(200));
            Inner::Bar(bar, verb)
        } else {
            Inner::Lines {
                started: Instant::now(),
                last: Mutex::new(Instant::now()),
                verb,
                note: Mutex::default(),
                done: std::sync::atomic::AtomicU64::new(0),
            }
        };
        Self {
            inner: Arc::new(inner),
        }
    }

    /// `done` rows finished so far.
    pub fn set(&self, done: u64) {
        match &*self.inner {
            Inner::Bar(bar, _) => bar.set_position(done),
            Inner::Lines { done: count, .. } => {
                count.store(done, std::sync::atomic::Ordering::Relaxed);
                self.line_if_due();
            }
        }
    }

    /// Prints the line if 5 s passed since the last one, rows finished or not: while the
    /// provider holds the import back, no row finishes, and a silent import looks hung.
    pub fn line_if_due(&self) {
        if let Inner::Lines {
            started,
            last,
            verb,
            note,
            done,
        } = &*self.inner
        {
            let mut last = last.lock().expect("lock");
            if last.elapsed() >= Duration::from_secs(5) {
                *last = Instant::now();
                let done = done.load(std::sync::atomic::Ordering::Relaxed);
                let rate = done as f64 / started.elapsed().as_secs_f64().max(1e-9);
                let note = note.lock().expect("lock");
                let note = if note.is_empty() {
                    String::new()
                } else {
                    format!("; now {note}")
                };
                eprintln!("progress: {done} rows {verb} ({rate:.0} rows/s{note})");
            }
        }
    }

    /// What the import's pace says now (current rate, limit, whether the provider holds it back).
    pub fn note(&self, text: String) {
        match &*self.inner {
            Inner::Bar(bar, verb) => bar.set_message(format!("{verb}; {text}")),
            Inner::Lines { note, .. } => *note.lock().expect("lock") = text,
        }
    }

    pub fn finish(&self) {
        if let Inner::Bar(bar, _) = &*self.inner {
            bar.finish_and_clear();
        }
    }
}
