//! Progress on stderr: an indicatif bar on a terminal, else a plain line every few seconds; and
//! what the line says of the pace ([`Status`], [`Meter`]).

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

/// What the progress line shows.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Status {
    /// Answers in the last second.
    pub rate: f64,
    /// The rate the import sends at (`--rate`, or the adaptive one), if it is limited.
    pub pace: Option<f64>,
    /// The provider's limit as the adaptive pace found it, if it has.
    pub limit: Option<f64>,
    /// How long the provider still holds the import back (a 429's pause), if it does.
    pub held: Option<Duration>,
    /// 429 and 503 answers so far.
    pub limited: u64,
}

impl Status {
    /// `19/s, pace 19.6/s, limit 20.0/s found, held back by the provider for 0.8 s (429), 3
    /// rate-limited`.
    pub fn describe(&self, adaptive: bool) -> String {
        let mut text = format!("{:.0}/s", self.rate);
        match (self.pace, adaptive) {
            (Some(pace), true) => text.push_str(&format!(", pace {pace:.1}/s")),
            (Some(pace), false) => text.push_str(&format!(", --rate {pace:.0}/s")),
            (None, _) => {}
        }
        if let Some(limit) = self.limit {
            text.push_str(&format!(", limit {limit:.1}/s found"));
        }
        if let Some(held) = self.held {
            text.push_str(&format!(
                ", held back by the provider for {:.1} s (429/503 Retry-After)",
                held.as_secs_f64()
            ));
        }
        if self.limited > 0 {
            text.push_str(&format!(", {} rate-limited", self.limited));
        }
        text
    }
}

/// Answers per 100 ms over the last second: the rate the provider takes now.
#[derive(Debug)]
pub struct Meter {
    started: Instant,
    buckets: [u32; 10],
    /// The 100 ms tick of `buckets[tick % 10]`.
    tick: u64,
}

impl Meter {
    pub fn new(now: Instant) -> Self {
        Self {
            started: now,
            buckets: [0; 10],
            tick: 0,
        }
    }

    fn advance(&mut self, now: Instant) {
        let tick = (now.saturating_duration_since(self.started).as_millis() / 100) as u64;
        for t in (self.tick + 1)..=tick.min(self.tick + 10) {
            self.buckets[(t % 10) as usize] = 0;
        }
        self.tick = self.tick.max(tick);
    }

    pub fn add(&mut self, now: Instant) {
        self.advance(now);
        self.buckets[(self.tick % 10) as usize] += 1;
    }

    /// Answers in the last second: the 9 full buckets and the current one, over the 0.9 s and
    /// the part of the current 100 ms they cover.
    pub fn last_second(&mut self, now: Instant) -> f64 {
        self.advance(now);
        let into_tick = now.saturating_duration_since(self.started).as_micros() % 100_000;
        let covered = 0.9 + (into_tick as f64 / 1e6).max(0.001);
        f64::from(self.buckets.iter().sum::<u32>()) / covered
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_meter_counts_the_last_second() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut recent = Meter::new(t0);
        for i in 0..10 {
            recent.add(t0 + ms(i * 100));
        }
        // At 0.95 s: 10 answers over the 0.95 s covered.
        let close = |a: f64, b: f64| (a - b).abs() < 1e-6;
        assert!(close(recent.last_second(t0 + ms(950)), 10.0 / 0.95));
        // At 1.05 s the first bucket is gone: 9 over 0.95 s.
        assert!(close(recent.last_second(t0 + ms(1050)), 9.0 / 0.95));
        assert_eq!(recent.last_second(t0 + ms(5000)), 0.0);
    }
}
