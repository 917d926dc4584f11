//! `iam import`: stream rows, send them with bounded concurrency, journal every outcome.

use std::io::{BufReader, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use iam_clients::{Disposition, IdentityProvider};
use serde_json::json;
use tokio::sync::Semaphore;

use crate::cli::{Existing, Format, Import, Output};
use crate::exit::{self, Failure};
use crate::journal::{self, Record, State};
use crate::pace::{Heard, Pace};
use crate::results::{self, Results};
use crate::row_state::{self, Act, Answer, Event, Policy, RowState, Tally};
use crate::rows::{self, Row};

/// Counts, per outcome.
#[derive(Default)]
pub struct Counts {
    pub rows: AtomicU64,
    pub created: AtomicU64,
    /// Re-sent rows whose outcome was unknown and that the provider says exist (409).
    pub confirmed_existing: AtomicU64,
    pub already_done: AtomicU64,
    /// Users the provider had before (409 on a first send, now or in an earlier run).
    pub exists: AtomicU64,
    /// Refused by the provider (400), now or in an earlier run for the same content.
    pub refused: AtomicU64,
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
    fn tally(&self, tally: Tally) -> &AtomicU64 {
        match tally {
            Tally::Created => &self.created,
            Tally::ConfirmedExisting => &self.confirmed_existing,
            Tally::AlreadyDone => &self.already_done,
            Tally::Exists => &self.exists,
            Tally::Refused => &self.refused,
            Tally::Rejected => &self.rejected,
            Tally::Failed => &self.failed,
            Tally::Unknown => &self.unknown,
        }
    }

    /// Rows that ended: every outcome of the table, and the rows a dry run found valid.
    fn done(&self) -> u64 {
        Tally::ALL
            .into_iter()
            .map(|tally| Self::get(self.tally(tally)))
            .sum::<u64>()
            + Self::get(&self.valid)
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
    pace: Pace,
    /// Set when the journal cannot be written: nothing more is sent.
    stop: AtomicBool,
    journal_error: Mutex<Option<String>>,
    /// A request was sent (a stop after this is not "nothing was sent").
    sent: AtomicBool,
    results: Mutex<Option<Results>>,
}

/// The rejects file, opened on the first reject.
struct Rejects {
    path: PathBuf,
    file: Option<std::fs::File>,
}

impl Rejects {
    fn write(&mut self, value: serde_json::Value) {
        if self.file.is_none() {
            match crate::results::open_private(&self.path, true) {
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
    // No retry inside the client: the import waits out a 429 for every row at once (`pace`).
    let built = crate::target::build_with_retry(
        &args.target,
        args.dry_run,
        iam_clients::RetryPolicy::none(),
    )?;
    run_with(args, built).await
}

/// The import, with the client already built (the demo builds its own).
pub async fn run_with(args: Import, built: crate::target::Built) -> Result<(), Failure> {
    let started = Instant::now();
    let format = format_of(&args)?;
    let from_stdin = args.file.as_os_str() == "-";
    let journal_path = match (&args.journal, args.no_journal, from_stdin) {
        (Some(path), _, _) => Some(path.clone()),
        (None, true, _) => None,
        (None, false, false) => Some(default_beside(&args.file, ".journal")),
        (None, false, true) if args.dry_run => None,
        (None, false, true) => {
            return Err(Failure::usage(
                "reading standard input needs --journal PATH (a run stopped midway is then resumed without creating anyone twice) or --no-journal (rows are sent with no record of them)",
            ));
        }
    };
    let rejects_path = args.rejects.clone().unwrap_or_else(|| {
        if from_stdin {
            PathBuf::from("rejects.jsonl")
        } else {
            default_beside(&args.file, ".rejects")
        }
    });
    // Standard input has no file to put it beside: beside the journal, else a name no other
    // tool writes (the file is replaced at the end of the run).
    let results_path = args
        .results
        .clone()
        .unwrap_or_else(|| match (from_stdin, &journal_path) {
            (false, _) => default_beside(&args.file, ".results.csv"),
            (true, Some(journal)) => default_beside(journal, ".results.csv"),
            (true, None) => PathBuf::from("iam-stdin.results.csv"),
        });
    let (previous, journal) = match (&journal_path, args.dry_run) {
        (Some(path), false) => (
            journal::read(path, &built.target, &built.description)?,
            Some(journal::Writer::open(path, &built.target)?),
        ),
        _ => (journal::Previous::default(), None),
    };
    let concurrency = usize::from(args.concurrency);
    let mut rows = spawn_reader(&args, format, concurrency * 4)?;
    // Last of the checks before anything is sent, so a refused start leaves no partial file.
    let results = Results::create(&results_path).map_err(Failure::usage)?;
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
        pace: Pace::new(concurrency, args.rate.and_then(std::num::NonZeroU32::new)),
        stop: AtomicBool::new(false),
        sent: AtomicBool::new(false),
        journal_error: Mutex::new(None),
        results: Mutex::new(Some(results)),
    });
    let total = || {
        if from_stdin {
            None
        } else {
            count_lines(&args.file, format)
        }
    };
    let progress = crate::progress::Progress::start(total, args.dry_run);
    let ticker = (!args.dry_run).then(|| {
        let (shared, progress) = (shared.clone(), progress.clone());
        let adaptive = args.rate.is_none();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(500));
            loop {
                tick.tick().await;
                progress.note(shared.pace.status().describe(adaptive));
                progress.line_if_due();
            }
        })
    });

    // Rows in the pipeline (journaled ahead, waiting, in flight, being journaled) and requests in
    // flight (`pace`) are bounded separately: the journal's fsyncs then overlap other rows'
    // requests instead of sitting on every row's path. Memory stays bounded by `slots`.
    let slots = Arc::new(Semaphore::new(concurrency * 4));
    let mut tasks = tokio::task::JoinSet::new();
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let mut interrupted = false;
    // Rows read so far: each row's position in the input, for the results file's order.
    let mut read = 0u64;
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
        let position = read;
        read += 1;
        tasks.spawn(async move {
            let line = process(&shared, row).await;
            if let Some(results) = shared.results.lock().expect("lock").as_mut() {
                results.put(position, line);
            }
            progress.set(shared.counts.done());
            drop(permit);
        });
    }
    drop(rows); // the reader thread stops at its next row
    if interrupted {
        shared.pace.interrupt();
        eprintln!(
            "\ninterrupted: finishing the requests in flight and recording them (Ctrl-C again does not stop that)"
        );
    }
    while tasks.join_next().await.is_some() {}
    if let Some(ticker) = ticker {
        ticker.abort();
    }
    progress.finish();
    let results = shared.results.lock().expect("lock").take();
    if let Some(Err(why)) = results.map(Results::finish) {
        eprintln!("warning: {why}");
    }

    let journal_error = shared.journal_error.lock().expect("lock").clone();
    let summary = Summary {
        journal_error: journal_error.clone(),
        target: description,
        shared: &shared,
        elapsed: started.elapsed(),
        journal: journal_path.as_deref(),
        rejects: &rejects_path,
        results: &results_path,
        interrupted,
        dry_run: args.dry_run,
        existing: args.existing,
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
        let code = if shared.sent.load(Ordering::Relaxed) {
            exit::STOPPED
        } else {
            exit::USAGE
        };
        return Err(Failure::new(code, message));
    }
    let c = &shared.counts;
    let code = if interrupted {
        exit::INTERRUPTED
    } else if Counts::get(&c.unknown) > 0 {
        exit::UNKNOWN
    } else if args.dry_run && Counts::get(&c.rejected) > 0 {
        exit::USAGE
    } else if Tally::ALL.into_iter().any(|tally| {
        tally.fails_run(args.existing == Existing::Fail) && Counts::get(c.tally(tally)) > 0
    }) {
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

/// How a row ended, for the journal and the rejects file.
#[derive(Default)]
struct Outcome {
    /// The provider's id of the user, when its answer (or its lookup) gave one.
    id: Option<String>,
    status: Option<u16>,
    reason: Option<String>,
    kind: &'static str,
    field: Option<String>,
    hash: Option<String>,
}

impl Outcome {
    /// The row was not sent (again) because the import was interrupted.
    fn interrupted(reason: String) -> Self {
        Self {
            reason: Some(reason),
            kind: "interrupted",
            ..Self::default()
        }
    }
}

/// One row and what an earlier run did with it.
struct RowRun<'a> {
    shared: &'a Shared,
    line: u64,
    key: String,
    state: RowState,
    /// An earlier run already put this line in the rejects file.
    listed_before: bool,
    /// What an earlier run recorded of the user's id and the answer's status.
    earlier: Option<(Option<String>, Option<u16>)>,
    /// The row's line of the results file, once it has ended.
    result: Option<results::Line>,
}

impl RowRun<'_> {
    /// Moves the row by `event`; a `Finish` is counted, journaled and listed here.
    async fn step(&mut self, event: Event, outcome: Outcome) -> Act {
        let policy = Policy {
            skip_unknown: self.shared.skip_unknown,
        };
        let (to, act) = row_state::next(self.state, event, policy).unwrap_or_else(|| {
            panic!(
                "iam import: no transition from {:?} on {event:?} (a bug)",
                self.state
            )
        });
        self.state = to;
        if let Act::Finish { tally, record } = act {
            self.finish(tally, record, outcome).await;
        }
        act
    }

    async fn finish(&mut self, tally: Tally, journal: bool, outcome: Outcome) {
        let shared = self.shared;
        let c = &shared.counts;
        c.tally(tally).fetch_add(1, Ordering::Relaxed);
        let (id, status) = match (&self.earlier, tally) {
            // Done by an earlier run: what it recorded.
            (Some((id, status)), Tally::AlreadyDone | Tally::Exists | Tally::Refused)
                if outcome.status.is_none() =>
            {
                (id.clone().or(outcome.id.clone()), *status)
            }
            _ => (outcome.id.clone(), outcome.status),
        };
        self.result = Some(results::Line {
            line: self.line,
            user: self.key.clone(),
            outcome: tally.word(),
            id,
            status,
            reason: outcome.reason.clone(),
        });
        if tally == Tally::Unknown {
            let mut rows = c.unknown_rows.lock().expect("lock");
            rows.push((self.line, self.key.clone()));
        }
        if !journal {
            return;
        }
        if tally.listed() && !self.listed_before {
            reject(
                shared,
                self.line,
                &self.key,
                outcome.kind,
                outcome.field.as_deref(),
                outcome.reason.as_deref().unwrap_or_default(),
            );
        }
        if !shared.dry_run {
            let entry = Record {
                line: self.line,
                user: self.key.clone(),
                state: self.state.journal(),
                status: outcome.status,
                reason: outcome.reason,
                hash: outcome.hash,
                id: outcome.id,
            };
            record(shared, entry).await;
        }
    }

    /// The row does not parse or validate.
    async fn invalid(&mut self, kind: &'static str, field: Option<&str>, reason: String) {
        let outcome = Outcome {
            reason: Some(reason),
            kind,
            field: field.map(str::to_owned),
            ..Outcome::default()
        };
        self.step(Event::Invalid, outcome).await;
    }
}

/// The provider's answer, as the row's state machine sees it: the facade's
/// [`iam_clients::Error::disposition`], which owns what an answer means.
pub fn answer_of(disposition: Disposition) -> Answer {
    match disposition {
        Disposition::Exists => Answer::Conflict,
        Disposition::Refused => Answer::Refused,
        Disposition::SendAgainAfter(_) => Answer::RateLimited,
        Disposition::NothingCreated { .. } => Answer::Failed,
        Disposition::Unknown => Answer::Unknown,
    }
}

/// What a lookup of a user the provider says exists found: the id when exactly one matched,
/// and a note for people (never a guess: none or several is said as such).
pub fn lookup_note(
    found: Result<iam_clients::Lookup, iam_clients::Error>,
) -> (Option<String>, String) {
    use iam_clients::Lookup;
    match found {
        Ok(Lookup::One { id }) => {
            let note = format!("the existing user's id is {id}");
            (Some(id), note)
        }
        Ok(Lookup::NotFound) => (
            None,
            "the vendor's lookup found no such user (its id is unknown)".to_owned(),
        ),
        Ok(Lookup::Several(n)) => (
            None,
            format!(
                "the vendor's lookup found {n} users with that key (not guessed: the id is unknown)"
            ),
        ),
        Ok(Lookup::NotPublished) => (
            None,
            "the vendor publishes no lookup (the id is unknown)".to_owned(),
        ),
        Err(e) => (None, format!("the lookup of its id failed: {e}")),
    }
}

/// One row, from the file to its end for this run: its line of the results file (`None`: the
/// import stopped before deciding it).
async fn process(shared: &Shared, row: Row) -> Option<results::Line> {
    let key = row.key();
    let line = row.line;
    let earlier = shared.previous.lines.get(&line);
    let mut run = RowRun {
        shared,
        line,
        key,
        state: RowState::New,
        listed_before: row_state::listed_before(earlier.map(|e| e.state)),
        earlier: earlier.map(|e| (e.id.clone(), e.status)),
        result: None,
    };
    drive(&mut run, row).await;
    run.result
}

/// [`process`]'s steps.
async fn drive(run: &mut RowRun<'_>, row: Row) {
    let shared = run.shared;
    let c = &shared.counts;
    c.rows.fetch_add(1, Ordering::Relaxed);
    let line = run.line;
    let earlier = shared.previous.lines.get(&line);
    let user = match row.user {
        Ok(user) => user,
        Err(reason) => {
            let reason = format!("line {line}: {reason}");
            return run.invalid("invalid input", None, reason).await;
        }
    };
    // What an earlier run did with this line (a row rejected as invalid was never sent and may
    // have had no key: it is checked again below).
    if let Some(earlier) = earlier {
        let same_hash = || earlier.hash.as_deref() == Some(row_state::content_hash(&user).as_str());
        let event = match row_state::resume(earlier.state, &earlier.user, &run.key, same_hash) {
            Ok(event) => event,
            Err(was) => {
                let why = format!(
                    "line {line} was `{was}` when the journal was written and is `{}` now: the file changed; use a new --journal",
                    run.key
                );
                shared.stop.store(true, Ordering::Relaxed);
                shared
                    .journal_error
                    .lock()
                    .expect("lock")
                    .get_or_insert(why);
                return;
            }
        };
        match run.step(event, Outcome::default()).await {
            Act::Finish { .. } => return,
            Act::Check => {} // checked and sent below
            act => unreachable!("iam import: {act:?} after a journal record (a bug)"),
        }
    }
    if let Err(e) = shared.provider.validate(&user) {
        let reason = format!("line {line}: {e}");
        return run.invalid(e.kind().as_str(), e.field(), reason).await;
    }
    if shared.dry_run {
        c.valid.fetch_add(1, Ordering::Relaxed);
        run.result = Some(results::Line {
            line,
            user: run.key.clone(),
            outcome: "valid",
            ..results::Line::default()
        });
        return;
    }
    if shared.stop.load(Ordering::Relaxed)
        || !record(
            shared,
            Record {
                line,
                user: run.key.clone(),
                state: State::Sending,
                status: None,
                reason: None,
                hash: None,
                id: None,
            },
        )
        .await
    {
        return;
    }
    let act = run.step(Event::Sent, Outcome::default()).await;
    debug_assert_eq!(act, Act::Wait, "the request goes out now");
    loop {
        let Some(slot) = shared.pace.acquire().await else {
            let reason = format!("line {line}: not sent: interrupted while the import waited");
            run.step(Event::Interrupted, Outcome::interrupted(reason))
                .await;
            return;
        };
        shared.sent.store(true, Ordering::Relaxed);
        let result = shared.provider.create_user(&user).await;
        let (answer, outcome) = match &result {
            Ok(created) => (
                Answer::Created,
                Outcome {
                    id: created.id.clone(),
                    status: Some(created.status),
                    ..Outcome::default()
                },
            ),
            Err(e) => {
                let answer = answer_of(e.disposition());
                let reason = match answer {
                    Answer::Conflict if run.state == (RowState::Sending { resend: true }) => {
                        "409 on re-send: created by the earlier run".to_owned()
                    }
                    _ => format!("line {line}: {e}"),
                };
                let hash = (answer == Answer::Refused).then(|| row_state::content_hash(&user));
                (
                    answer,
                    Outcome {
                        id: None,
                        status: e.status(),
                        reason: Some(reason),
                        kind: e.kind().as_str(),
                        field: e.field().map(str::to_owned),
                        hash,
                    },
                )
            }
        };
        let (outcome, answer) = if answer == Answer::Conflict {
            // The user exists (before us, or from an earlier run's unknown send): its id.
            let (id, note) = lookup_note(shared.provider.find_user(&user).await);
            let reason = outcome.reason.map(|r| format!("{r}; {note}"));
            (
                Outcome {
                    id,
                    reason,
                    ..outcome
                },
                answer,
            )
        } else {
            (outcome, answer)
        };
        let heard = match (&result, answer) {
            (Err(e), Answer::RateLimited) => Heard::Limited(e.retry_after(), e.rate_limit()),
            _ => Heard::Answer,
        };
        shared.pace.answered(slot, heard);
        match run.step(Event::Answer(answer), outcome).await {
            Act::Retry if shared.pace.is_interrupted() => {
                let reason = format!("line {line}: rate limited; not sent again: interrupted");
                run.step(Event::Interrupted, Outcome::interrupted(reason))
                    .await;
                return;
            }
            Act::Retry => continue,
            Act::Finish { .. } => return,
            act => unreachable!("iam import: {act:?} after an answer (a bug)"),
        }
    }
}

struct Summary<'a> {
    journal_error: Option<String>,
    target: String,
    shared: &'a Shared,
    elapsed: Duration,
    journal: Option<&'a Path>,
    rejects: &'a Path,
    results: &'a Path,
    interrupted: bool,
    dry_run: bool,
    existing: Existing,
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
        let mut summary = json!({
            "import": self.target,
            "dry_run": self.dry_run,
            "interrupted": self.interrupted,
            "rows": Counts::get(&c.rows),
            "existing": match self.existing { Existing::Fail => "fail", Existing::Skip => "skip" },
            "rate_limited": self.shared.pace.status().limited,
            "valid": Counts::get(&c.valid),
            "unknown_rows": unknown,
            "elapsed_seconds": self.elapsed.as_secs_f64(),
            "rows_per_second": self.rate(),
            "journal": self.journal.map(|p| p.display().to_string()),
            "rejects": self.rejects.display().to_string(),
            "results": self.results.display().to_string(),
            "journal_error": self.journal_error.as_ref().map(|why| format!("{why}; the import stopped before sending more rows")),
        });
        // Every outcome's count, under the word the results file uses for it.
        for tally in Tally::ALL {
            summary[tally.word()] = Counts::get(c.tally(tally)).into();
        }
        summary
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
        }
        for tally in Tally::ALL {
            if tally == Tally::Created && self.dry_run {
                continue;
            }
            let note = note(tally, self.existing, self.rejects);
            line(tally.label(), Counts::get(c.tally(tally)), &note);
        }
        for (line_no, user) in c.unknown_rows.lock().expect("lock").iter().take(20) {
            out.push_str(&format!("    line {line_no}: {user}\n"));
        }
        let limited = self.shared.pace.status().limited;
        if limited > 0 {
            out.push_str(&format!(
                "  the provider rate-limited {limited} requests (429 or 503); sent again\n"
            ));
        }
        if let Some(journal) = self.journal {
            out.push_str(&format!("journal: {}\n", journal.display()));
        }
        out.push_str(&format!(
            "results: {} (every row's outcome and the provider's id)\n",
            self.results.display()
        ));
        out
    }
}

/// What the text summary says beside an outcome's count.
fn note(tally: Tally, existing: Existing, rejects: &Path) -> String {
    let rejects = format!("   (see {})", rejects.display());
    match tally {
        Tally::Created => String::new(),
        Tally::ConfirmedExisting => {
            "   (outcome was unknown; the provider says they exist)".to_owned()
        }
        Tally::AlreadyDone => "   (by an earlier run, per the journal)".to_owned(),
        Tally::Exists => match existing {
            Existing::Skip => "   (the provider had them already; --existing skip: done)",
            Existing::Fail => {
                "   (the provider had them already; never re-sent; --existing skip counts them as done)"
            }
        }
        .to_owned(),
        Tally::Refused => format!("{rejects}; sent again only once the row changes"),
        Tally::Rejected => rejects,
        Tally::Failed => "   (nothing created; a re-run sends them again)".to_owned(),
        Tally::Unknown => {
            "   (may exist; a re-run sends them again and counts a 409 as created)".to_owned()
        }
    }
}

/// Whether stderr is a terminal (for the progress bar).
pub fn stderr_is_terminal() -> bool {
    std::io::stderr().is_terminal()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_map_to_the_row_machine() {
        use Disposition as D;
        let table = [
            (D::Exists, Answer::Conflict),
            (D::Refused, Answer::Refused),
            (D::SendAgainAfter(None), Answer::RateLimited),
            (
                D::SendAgainAfter(Some(Duration::from_secs(3))),
                Answer::RateLimited,
            ),
            (D::NothingCreated { retry: true }, Answer::Failed),
            (D::NothingCreated { retry: false }, Answer::Failed),
            (D::Unknown, Answer::Unknown),
        ];
        for (disposition, expected) in table {
            assert_eq!(answer_of(disposition), expected, "{disposition:?}");
        }
    }
}
