//! `iam import`: stream rows, send them with bounded concurrency, journal every outcome.

use std::fs::OpenOptions;
use std::io::{BufReader, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use iam_clients::{ErrorKind, IdentityProvider};
use serde_json::json;
use tokio::sync::Semaphore;

use crate::cli::{Format, Import, Output};
use crate::exit::{self, Failure};
use crate::journal::{self, Record, State};
use crate::rows::{self, Row};

/// Counts, per outcome.
#[derive(Default)]
pub struct Counts {
    pub rows: AtomicU64,
    pub created: AtomicU64,
    /// Re-sent rows whose outcome was unknown and that the provider says exist (409).
    pub confirmed_existing: AtomicU64,
    pub already_done: AtomicU64,
    pub valid: AtomicU64,
    pub rejected: AtomicU64,
    pub failed: AtomicU64,
    pub unknown: AtomicU64,
    pub unknown_rows: Mutex<Vec<(u64, String)>>,
}

impl Counts {
    fn get(v: &AtomicU64) -> u64 {
        v.load(Ordering::Relaxed)
    }
    fn done(&self) -> u64 {
        [
            &self.created,
            &self.confirmed_existing,
            &self.already_done,
            &self.valid,
            &self.rejected,
            &self.failed,
            &self.unknown,
        ]
        .iter()
        .map(|c| Self::get(c))
        .sum()
    }
}

struct Shared {
    provider: Box<dyn IdentityProvider>,
    journal: Option<journal::Writer>,
    previous: journal::Previous,
    rejects: Mutex<Option<Rejects>>,
    counts: Counts,
    dry_run: bool,
    skip_unknown: bool,
    /// Set when the journal cannot be written: nothing more is sent.
    stop: AtomicBool,
    journal_error: Mutex<Option<String>>,
}

/// The rejects file, opened on the first reject.
struct Rejects {
    path: PathBuf,
    file: Option<std::fs::File>,
}

impl Rejects {
    fn write(&mut self, value: serde_json::Value) {
        if self.file.is_none() {
            match OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)
            {
                Ok(file) => self.file = Some(file),
                Err(e) => {
                    eprintln!(
                        "warning: cannot write the rejects file {}: {e}",
                        self.path.display()
                    );
                    return;
                }
            }
        }
        if let Some(file) = &mut self.file {
            let _ = writeln!(file, "{value}");
        }
    }
}

fn default_beside(file: &Path, suffix: &str) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn format_of(args: &Import) -> Result<Format, Failure> {
    if let Some(format) = args.format {
        return Ok(format);
    }
    match args
        .file
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("csv") => Ok(Format::Csv),
        Some("jsonl" | "ndjson") => Ok(Format::Jsonl),
        _ if args.file.as_os_str() == "-" => Err(Failure::usage(
            "reading standard input (-) needs --format csv or --format jsonl",
        )),
        _ => Err(Failure::usage(format!(
            "{}: cannot tell the format from the name; use a .csv or .jsonl file or --format",
            args.file.display()
        ))),
    }
}

/// Rows from the file (or stdin), read on a thread of their own into a bounded channel.
fn spawn_reader(
    args: &Import,
    format: Format,
    capacity: usize,
) -> Result<tokio::sync::mpsc::Receiver<Row>, Failure> {
    let input: Box<dyn std::io::Read + Send> = if args.file.as_os_str() == "-" {
        Box::new(std::io::stdin())
    } else {
        Box::new(
            std::fs::File::open(&args.file)
                .map_err(|e| Failure::usage(format!("{}: {e}", args.file.display())))?,
        )
    };
    let rows: Box<dyn Iterator<Item = Row> + Send> = match format {
        Format::Csv => Box::new(rows::csv_rows(Box::new(BufReader::with_capacity(
            64 << 10,
            input,
        )))?),
        Format::Jsonl => Box::new(rows::jsonl_rows(Box::new(BufReader::with_capacity(
            64 << 10,
            input,
        )))),
    };
    let (tx, rx) = tokio::sync::mpsc::channel(capacity);
    std::thread::Builder::new()
        .name("iam-rows".into())
        .spawn(move || {
            for row in rows {
                if tx.blocking_send(row).is_err() {
                    return; // the import stopped
                }
            }
        })
        .map_err(|e| Failure::usage(format!("cannot start reading: {e}")))?;
    Ok(rx)
}

pub async fn run(args: Import) -> Result<(), Failure> {
    let built = crate::target::build(&args.target, args.dry_run)?;
    run_with(args, built).await
}

/// The import, with the client already built (the demo builds its own).
pub async fn run_with(args: Import, built: crate::target::Built) -> Result<(), Failure> {
    let started = Instant::now();
    let format = format_of(&args)?;
    let from_stdin = args.file.as_os_str() == "-";
    let journal_path = match (&args.journal, from_stdin) {
        (Some(path), _) => Some(path.clone()),
        (None, false) => Some(default_beside(&args.file, ".journal")),
        (None, true) => None,
    };
    let rejects_path = args.rejects.clone().unwrap_or_else(|| {
        if from_stdin {
            PathBuf::from("rejects.jsonl")
        } else {
            default_beside(&args.file, ".rejects")
        }
    });
    let (previous, journal) = match (&journal_path, args.dry_run) {
        (Some(path), false) => (
            journal::read(path, &built.description)?,
            Some(journal::Writer::open(path, &built.description)?),
        ),
        _ => (journal::Previous::default(), None),
    };
    let concurrency = usize::from(args.concurrency);
    let mut rows = spawn_reader(&args, format, concurrency * 4)?;
    let description = format!("{} into {}", args.file.display(), built.description);
    let shared = Arc::new(Shared {
        provider: built.provider,
        journal,
        previous,
        rejects: Mutex::new(Some(Rejects {
            path: rejects_path.clone(),
            file: None,
        })),
        counts: Counts::default(),
        dry_run: args.dry_run,
        skip_unknown: args.skip_unknown,
        stop: AtomicBool::new(false),
        journal_error: Mutex::new(None),
    });
    let total = || {
        if from_stdin {
            None
        } else {
            count_lines(&args.file, format)
        }
    };
    let progress = crate::progress::Progress::start(total, args.dry_run);

    // Rows in the pipeline (journaled ahead, waiting, in flight, being journaled) and requests in
    // flight are bounded separately: the journal's fsyncs then overlap other rows' requests
    // instead of sitting on every row's path. Memory stays bounded by `slots`.
    let slots = Arc::new(Semaphore::new(concurrency * 4));
    let sends = Arc::new(Semaphore::new(concurrency));
    let mut tasks = tokio::task::JoinSet::new();
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let mut interrupted = false;
    loop {
        while tasks.try_join_next().is_some() {}
        if shared.stop.load(Ordering::Relaxed) {
            break;
        }
        let row = tokio::select! {
            _ = &mut ctrl_c => { interrupted = true; break; }
            row = rows.recv() => match row { Some(row) => row, None => break },
        };
        let permit = tokio::select! {
            _ = &mut ctrl_c => { interrupted = true; break; }
            permit = slots.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
        };
        let shared = shared.clone();
        let progress = progress.clone();
        let sends = sends.clone();
        tasks.spawn(async move {
            process(&shared, row, &sends).await;
            progress.set(shared.counts.done());
            drop(permit);
        });
    }
    drop(rows); // the reader thread stops at its next row
    if interrupted {
        eprintln!(
            "\ninterrupted: finishing the requests in flight and recording them (Ctrl-C again does not stop that)"
        );
    }
    while tasks.join_next().await.is_some() {}
    progress.finish();

    let journal_error = shared.journal_error.lock().expect("lock").clone();
    let summary = Summary {
        journal_error: journal_error.clone(),
        target: description,
        shared: &shared,
        elapsed: started.elapsed(),
        journal: journal_path.as_deref(),
        rejects: &rejects_path,
        interrupted,
        dry_run: args.dry_run,
    };
    match args.output {
        Output::Json => crate::print_stdout(&format!("{}\n", summary.json())),
        Output::Text => crate::print_stdout(&summary.text()),
    }
    if let Some(why) = journal_error {
        // With --output json the summary carries it: stdout holds one JSON object.
        let message = match args.output {
            Output::Json => String::new(),
            Output::Text => format!("{why}; the import stopped before sending more rows"),
        };
        return Err(Failure::new(exit::USAGE, message));
    }
    let c = &shared.counts;
    let code = if interrupted {
        exit::INTERRUPTED
    } else if Counts::get(&c.unknown) > 0 {
        exit::UNKNOWN
    } else if args.dry_run && Counts::get(&c.rejected) > 0 {
        exit::USAGE
    } else if Counts::get(&c.rejected) + Counts::get(&c.failed) > 0 {
        exit::REFUSED
    } else {
        exit::OK
    };
    if code == exit::OK {
        Ok(())
    } else {
        Err(Failure::new(code, String::new()))
    }
}

/// Lines in the file, for the progress bar's length (CSV: minus the header).
fn count_lines(path: &Path, format: Format) -> Option<u64> {
    use std::io::Read;
    let mut file = std::fs::File::open(path).ok()?;
    let mut buf = vec![0u8; 64 << 10];
    let mut lines = 0u64;
    loop {
        let n = file.read(&mut buf).ok()?;
        if n == 0 {
            break;
        }
        lines += buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
    }
    Some(if format == Format::Csv {
        lines.saturating_sub(1)
    } else {
        lines
    })
}

async fn record(shared: &Shared, record: Record) -> bool {
    let Some(journal) = &shared.journal else {
        return true;
    };
    match journal.append(record).await {
        Ok(()) => true,
        Err(why) => {
            shared.stop.store(true, Ordering::Relaxed);
            shared
                .journal_error
                .lock()
                .expect("lock")
                .get_or_insert(why);
            false
        }
    }
}

fn reject(shared: &Shared, line: u64, user: &str, kind: &str, field: Option<&str>, reason: &str) {
    if let Some(rejects) = shared.rejects.lock().expect("lock").as_mut() {
        rejects.write(
            json!({"line": line, "user": user, "kind": kind, "field": field, "reason": reason}),
        );
    }
}

/// A row that is invalid: counted, listed in the rejects file and journaled `rejected` (never
/// sent, so a re-run checks it again).
async fn reject_invalid(
    shared: &Shared,
    line: u64,
    key: String,
    kind: &str,
    field: Option<&str>,
    reason: String,
) {
    shared.counts.rejected.fetch_add(1, Ordering::Relaxed);
    reject(shared, line, &key, kind, field, &reason);
    if !shared.dry_run {
        let record_ = Record {
            line,
            user: key,
            state: State::Rejected,
            status: None,
            reason: Some(reason),
        };
        record(shared, record_).await;
    }
}

/// One row. `sends` bounds the requests in flight; a row holds a permit only while its request is.
async fn process(shared: &Shared, row: Row, sends: &Semaphore) {
    let c = &shared.counts;
    c.rows.fetch_add(1, Ordering::Relaxed);
    let key = row.key();
    let line = row.line;
    let user = match row.user {
        Ok(user) => user,
        Err(reason) => {
            let reason = format!("line {line}: {reason}");
            return reject_invalid(shared, line, key, "invalid input", None, reason).await;
        }
    };
    // What an earlier run did with this line (a row rejected as invalid was never sent: check it
    // again, the file may have been fixed).
    let mut resend_unknown = false;
    let previous = shared
        .previous
        .lines
        .get(&line)
        .filter(|(_, state)| *state != State::Rejected);
    if let Some((previous_key, state)) = previous {
        if *previous_key != key {
            let why = format!(
                "line {line} was `{previous_key}` when the journal was written and is `{key}` now: the file changed; use a new --journal"
            );
            shared.stop.store(true, Ordering::Relaxed);
            shared
                .journal_error
                .lock()
                .expect("lock")
                .get_or_insert(why);
            return;
        }
        match state {
            State::Created | State::Refused => {
                c.already_done.fetch_add(1, Ordering::Relaxed);
                return;
            }
            State::Rejected => unreachable!("filtered out above"),
            State::Sending | State::Unknown if shared.skip_unknown => {
                c.unknown.fetch_add(1, Ordering::Relaxed);
                c.unknown_rows.lock().expect("lock").push((line, key));
                return;
            }
            State::Sending | State::Unknown => resend_unknown = true,
            State::Failed => {}
        }
    }
    if let Err(e) = shared.provider.validate(&user) {
        let reason = format!("line {line}: {e}");
        return reject_invalid(shared, line, key, e.kind().as_str(), e.field(), reason).await;
    }
    if shared.dry_run {
        c.valid.fetch_add(1, Ordering::Relaxed);
        return;
    }
    if shared.stop.load(Ordering::Relaxed)
        || !record(
            shared,
            Record {
                line,
                user: key.clone(),
                state: State::Sending,
                status: None,
                reason: None,
            },
        )
        .await
    {
        return;
    }
    let permit = sends
        .acquire()
        .await
        .expect("the semaphore is never closed");
    let result = shared.provider.create_user(&user).await;
    drop(permit);
    let (state, status, reason) = match result {
        Ok(created) => {
            c.created.fetch_add(1, Ordering::Relaxed);
            (State::Created, Some(created.status), None)
        }
        Err(e) if e.is_conflict() && resend_unknown => {
            // Sent before with an unknown outcome; the provider says it exists: that send created it.
            c.confirmed_existing.fetch_add(1, Ordering::Relaxed);
            (
                State::Created,
                e.status(),
                Some("409 on re-send: created by the earlier run".to_owned()),
            )
        }
        Err(e) => {
            let reason = format!("line {line}: {e}");
            let state = match e.kind() {
                ErrorKind::OutcomeUnknown => State::Unknown,
                ErrorKind::InvalidInput
                | ErrorKind::UnsupportedField
                | ErrorKind::Conflict
                | ErrorKind::Config => State::Rejected,
                _ => State::Failed,
            };
            match state {
                State::Unknown => {
                    c.unknown.fetch_add(1, Ordering::Relaxed);
                    c.unknown_rows
                        .lock()
                        .expect("lock")
                        .push((line, key.clone()));
                }
                State::Refused => {
                    c.rejected.fetch_add(1, Ordering::Relaxed);
                }
                _ => {
                    c.failed.fetch_add(1, Ordering::Relaxed);
                }
            }
            reject(shared, line, &key, e.kind().as_str(), e.field(), &reason);
            (state, e.status(), Some(reason))
        }
    };
    record(
        shared,
        Record {
            line,
            user: key,
            state,
            status,
            reason,
        },
    )
    .await;
}

struct Summary<'a> {
    journal_error: Option<String>,
    target: String,
    shared: &'a Shared,
    elapsed: Duration,
    journal: Option<&'a Path>,
    rejects: &'a Path,
    interrupted: bool,
    dry_run: bool,
}

impl Summary<'_> {
    fn rate(&self) -> f64 {
        let sent = Counts::get(&self.shared.counts.rows) as f64;
        sent / self.elapsed.as_secs_f64().max(1e-9)
    }

    fn json(&self) -> serde_json::Value {
        let c = &self.shared.counts;
        let unknown: Vec<_> = c
            .unknown_rows
            .lock()
            .expect("lock")
            .iter()
            .map(|(line, user)| json!({"line": line, "user": user}))
            .collect();
        json!({
            "import": self.target,
            "dry_run": self.dry_run,
            "interrupted": self.interrupted,
            "rows": Counts::get(&c.rows),
            "created": Counts::get(&c.created),
            "confirmed_existing": Counts::get(&c.confirmed_existing),
            "already_done": Counts::get(&c.already_done),
            "valid": Counts::get(&c.valid),
            "rejected": Counts::get(&c.rejected),
            "failed": Counts::get(&c.failed),
            "unknown": Counts::get(&c.unknown),
            "unknown_rows": unknown,
            "elapsed_seconds": self.elapsed.as_secs_f64(),
            "rows_per_second": self.rate(),
            "journal": self.journal.map(|p| p.display().to_string()),
            "rejects": self.rejects.display().to_string(),
            "journal_error": self.journal_error.as_ref().map(|why| format!("{why}; the import stopped before sending more rows")),
        })
    }

    fn text(&self) -> String {
        let c = &self.shared.counts;
        let mut out = String::new();
        let what = if self.dry_run { "checked" } else { "imported" };
        let stopped = if self.interrupted {
            " (interrupted)"
        } else {
            ""
        };
        out.push_str(&format!(
            "{what} {}{stopped}: {} rows in {:.1} s ({:.0} rows/s)\n",
            self.target,
            Counts::get(&c.rows),
            self.elapsed.as_secs_f64(),
            self.rate()
        ));
        let mut line = |label: &str, n: u64, note: &str| {
            if n > 0 || label == "created" && !self.dry_run || label == "valid" && self.dry_run {
                out.push_str(&format!("  {label:<20} {n:>8}{note}\n"));
            }
        };
        if self.dry_run {
            line("valid", Counts::get(&c.valid), "");
        } else {
            line("created", Counts::get(&c.created), "");
        }
        line(
            "confirmed existing",
            Counts::get(&c.confirmed_existing),
            "   (outcome was unknown; the provider says they exist)",
        );
        line(
            "already done",
            Counts::get(&c.already_done),
            "   (by an earlier run, per the journal)",
        );
        let rejects_note = format!("   (see {})", self.rejects.display());
        line("rejected", Counts::get(&c.rejected), &rejects_note);
        line(
            "failed",
            Counts::get(&c.failed),
            "   (nothing created; a re-run sends them again)",
        );
        line(
            "outcome unknown",
            Counts::get(&c.unknown),
            "   (may exist; a re-run sends them again and counts a 409 as created)",
        );
        for (line_no, user) in c.unknown_rows.lock().expect("lock").iter().take(20) {
            out.push_str(&format!("    line {line_no}: {user}\n"));
        }
        if let Some(journal) = self.journal {
            out.push_str(&format!("journal: {}\n", journal.display()));
        }
        out
    }
}

/// Whether stderr is a terminal (for the progress bar).
pub fn stderr_is_terminal() -> bool {
    std::io::stderr().is_terminal()
}
