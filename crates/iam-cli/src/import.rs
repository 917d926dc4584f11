//! `iam import`: stream rows, send them with bounded concurrency, journal every outcome.

use std::io::{BufReader, IsTerminal};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use iam_clients::{Disposition, IdentityProvider, NewUser};
use serde_json::json;
use tokio::sync::Semaphore;

use crate::cli::{Existing, Format, Import, Output};
use crate::duplicates::Duplicates;
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
    pub not_sent: AtomicU64,
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
            Tally::NotSent => &self.not_sent,
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
    /// Where the credentials come from (`IAM_TOKEN`, `--token-file PATH`, ...), for messages.
    credentials: String,
    journal: Option<journal::Writer>,
    previous: journal::Previous,
    counts: Counts,
    dry_run: bool,
    skip_unknown: bool,
    pace: Pace,
    /// Set when the import must send nothing more: the journal cannot be written, the file
    /// changed under it, or the credentials were refused.
    stop: AtomicBool,
    journal_error: Mutex<Option<String>>,
    /// The provider refused the credentials (401 after any renewal): what it said.
    refused_credentials: Mutex<Option<String>>,
    /// A request was sent (a stop after this is not "nothing was sent").
    sent: AtomicBool,
    results: Mutex<Option<Results>>,
}

impl Shared {
    /// The credentials were refused: nothing more is sent, and rows waiting are not sent.
    fn refuse_credentials(&self, error: &iam_clients::Error) {
        self.refused_credentials
            .lock()
            .expect("lock")
            .get_or_insert_with(|| {
                format!(
                    "the provider refused the credentials from {} ({error})",
                    self.credentials
                )
            });
        self.stop.store(true, Ordering::Relaxed);
        self.pace.interrupt();
    }

    /// Why a row waiting to be sent was not, for its reason.
    fn why_stopped(&self) -> String {
        if self.refused_credentials.lock().expect("lock").is_some() {
            format!(
                "the provider refused the credentials from {}",
                self.credentials
            )
        } else if self.journal_error.lock().expect("lock").is_some() {
            "the import stopped (see the journal error)".to_owned()
        } else {
            "interrupted while the import waited".to_owned()
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

/// The rows of the file (or stdin), after the checks of the whole file: the flags, the
/// encoding (`check_encoding`: a regular file; standard input cannot be read twice, its reader
/// stops at the first row not UTF-8) and the header.
fn open_rows(
    args: &Import,
    format: Format,
    check_encoding: bool,
) -> Result<Box<dyn Iterator<Item = Row> + Send>, Failure> {
    let from_stdin = args.file.as_os_str() == "-";
    let csv_options = match format {
        Format::Csv => Some(rows::CsvOptions::from_args(args)?),
        Format::Jsonl => {
            rows::refuse_csv_flags(args)?;
            None
        }
    };
    let input: Box<dyn std::io::Read + Send> = if from_stdin {
        Box::new(std::io::stdin())
    } else {
        let file = std::fs::File::open(&args.file)
            .map_err(|e| Failure::input(format!("{}: {e}", args.file.display())))?;
        if check_encoding {
            rows::check_utf8(&args.file)?;
        }
        Box::new(file)
    };
    let input = BufReader::with_capacity(64 << 10, input);
    Ok(match csv_options {
        Some(options) => Box::new(rows::csv_rows(Box::new(input), &options)?),
        None => Box::new(rows::jsonl_rows_from(
            Box::new(input),
            Some(args.file.as_path()),
        )?),
    })
}

/// Rows read on a thread of their own into a bounded channel.
fn spawn_reader(
    rows: Box<dyn Iterator<Item = Row> + Send>,
    capacity: usize,
) -> Result<tokio::sync::mpsc::Receiver<Row>, Failure> {
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
        .map_err(|e| Failure::input(format!("cannot start reading: {e}")))?;
    Ok(rx)
}

/// The users given twice in the input, and how many rows a file has (the progress bar's
/// length): a regular file is read once more for it first; standard input or a pipe, which can
/// be read only once, keeps every key ([`Duplicates`]).
async fn find_duplicates(args: &Import, format: Format) -> Result<Duplicates, Failure> {
    // Standard input, a pipe (`<(...)`): read once, so every key is kept.
    let regular = std::fs::metadata(&args.file).is_ok_and(|m| m.is_file());
    if args.file.as_os_str() == "-" || !regular {
        return Ok(Duplicates::remember_all());
    }
    let rows = open_rows(args, format, false)?;
    let dir = std::env::temp_dir();
    let shown = dir.display().to_string();
    tokio::task::spawn_blocking(move || Duplicates::scan(rows.map(|r| (r.line, r.key())), &dir))
        .await
        .map_err(|e| Failure::input(format!("cannot look for users given twice: {e}")))?
        .map_err(|e| {
            Failure::input(format!(
                "cannot look for users given twice (with files in {shown}): {e}"
            ))
        })
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

/// Where a run writes: its journal (none for a dry run, or with `--no-journal`), rejects and
/// results files. A dry run writes its own rejects and results files (`FILE.dry-run.rejects`,
/// `FILE.dry-run.results.csv`), so that checking a file never muddies the real run's.
struct Paths {
    journal: Option<PathBuf>,
    rejects: PathBuf,
    results: PathBuf,
}

fn paths_of(args: &Import) -> Result<Paths, Failure> {
    let from_stdin = args.file.as_os_str() == "-";
    let journal = match (&args.journal, args.no_journal, from_stdin) {
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
    let dry = if args.dry_run { ".dry-run" } else { "" };
    let rejects = args.rejects.clone().unwrap_or_else(|| {
        if from_stdin {
            PathBuf::from(format!("rejects{dry}.jsonl"))
        } else {
            default_beside(&args.file, &format!("{dry}.rejects"))
        }
    });
    // Standard input has no file to put it beside: beside the journal, else a name no other
    // tool writes (the file is replaced at the end of the run).
    let results = args.results.clone().unwrap_or_else(|| {
        let suffix = format!("{dry}.results.csv");
        match (from_stdin, &journal) {
            (false, _) => default_beside(&args.file, &suffix),
            (true, Some(journal)) => default_beside(journal, &suffix),
            (true, None) => PathBuf::from(format!("iam-stdin{suffix}")),
        }
    });
    Ok(Paths {
        journal: journal.filter(|_| !args.dry_run),
        rejects,
        results,
    })
}

/// FILE is something rows can be read from: not a directory (which opens, on Unix, and fails
/// only when read).
fn check_input(file: &Path) -> Result<(), Failure> {
    if file.as_os_str() == "-" {
        return Ok(());
    }
    match std::fs::metadata(file) {
        Ok(meta) if meta.is_dir() => Err(Failure::input(format!(
            "{} is a directory; give the .csv or .jsonl file to import",
            file.display()
        ))),
        Ok(_) => Ok(()),
        Err(e) => Err(Failure::input(format!("{}: {e}", file.display()))),
    }
}

/// The import, with the client already built (the demo builds its own).
///
/// Nothing is created or changed on disk until the input opens and its header reads, and the
/// journal is locked and read: a run refused at the start (a missing file, a bad header, a
/// journal in use or of another import) leaves every file as it was.
pub async fn run_with(args: Import, built: crate::target::Built) -> Result<(), Failure> {
    let started = Instant::now();
    let format = format_of(&args)?;
    let from_stdin = args.file.as_os_str() == "-";
    let paths = paths_of(&args)?;
    check_input(&args.file)?;
    let concurrency = usize::from(args.concurrency);
    let reader = open_rows(&args, format, true)?;
    let mut duplicates = find_duplicates(&args, format).await?;
    let mut rows = spawn_reader(reader, concurrency * 4)?;
    let (previous, journal, created_journal) = match &paths.journal {
        Some(path) => {
            let opened = journal::open(path, &built.target, &built.description)?;
            (opened.previous, Some(opened.writer), opened.created)
        }
        None => (journal::Previous::default(), None, false),
    };
    // Last of the checks before anything is sent.
    let results = match Results::create(&paths.results, &paths.rejects) {
        Ok(results) => results,
        Err(why) => {
            if let (true, Some(path)) = (created_journal, &paths.journal) {
                drop(journal);
                let _ = std::fs::remove_file(path);
            }
            return Err(Failure::usage(why));
        }
    };
    let description = format!("{} into {}", args.file.display(), built.description);
    let shared = Arc::new(Shared {
        provider: built.provider,
        credentials: built.credentials,
        journal,
        previous,
        counts: Counts::default(),
        dry_run: args.dry_run,
        skip_unknown: args.skip_unknown,
        pace: Pace::new(concurrency, args.rate.and_then(std::num::NonZeroU32::new)),
        stop: AtomicBool::new(false),
        sent: AtomicBool::new(false),
        journal_error: Mutex::new(None),
        refused_credentials: Mutex::new(None),
        results: Mutex::new(Some(results)),
    });
    let progress = crate::progress::Progress::start(|| duplicates.rows(), args.dry_run);
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
    let mut input_read = false;
    // A row read when Ctrl-C came, before it had a place in the pipeline.
    let mut unsent: Option<Row> = None;
    loop {
        while tasks.try_join_next().is_some() {}
        if shared.stop.load(Ordering::Relaxed) {
            break;
        }
        let row = tokio::select! {
            _ = &mut ctrl_c => { interrupted = true; break; }
            row = rows.recv() => match row {
                Some(row) => row,
                None => { input_read = true; break }
            },
        };
        let permit = tokio::select! {
            _ = &mut ctrl_c => { interrupted = true; unsent = Some(row); break; }
            permit = slots.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
        };
        let duplicate_of = duplicates.first_line(row.line, &row.key());
        let shared = shared.clone();
        let progress = progress.clone();
        let position = read;
        read += 1;
        tasks.spawn(async move {
            let line = process(&shared, row, duplicate_of).await;
            if let Some(results) = shared.results.lock().expect("lock").as_mut() {
                results.put(position, line);
            }
            progress.set(shared.counts.done());
            drop(permit);
        });
    }
    if interrupted || shared.stop.load(Ordering::Relaxed) {
        // Rows waiting for the provider's pause or for the rate are not sent.
        shared.pace.interrupt();
    }
    if interrupted {
        eprintln!(
            "\ninterrupted: finishing the requests in flight and recording them (Ctrl-C again does not stop that)"
        );
    }
    while tasks.join_next().await.is_some() {}
    // The rows never reached are listed (a file's rest is read without sending anything; the
    // rest of standard input is not waited for).
    if let Some(row) = unsent {
        let line = not_reached(&shared, row).await;
        if let Some(results) = shared.results.lock().expect("lock").as_mut() {
            results.put(read, line);
        }
        read += 1;
    }
    if !input_read && !from_stdin {
        while let Some(row) = rows.recv().await {
            let line = not_reached(&shared, row).await;
            if let Some(results) = shared.results.lock().expect("lock").as_mut() {
                results.put(read, line);
            }
            read += 1;
        }
        input_read = true;
    }
    drop(rows); // the reader thread stops at its next row
    if let Some(ticker) = ticker {
        ticker.abort();
    }
    progress.finish();
    let results = shared.results.lock().expect("lock").take();
    if let Some(Err(why)) = results.map(Results::finish) {
        eprintln!("warning: {why}");
    }

    let journal_error = shared.journal_error.lock().expect("lock").clone();
    let refused_credentials = shared.refused_credentials.lock().expect("lock").clone();
    let c = &shared.counts;
    let code = exit_code(Ending {
        journal_failed: journal_error.is_some(),
        sent: shared.sent.load(Ordering::Relaxed),
        credentials_refused: refused_credentials.is_some(),
        interrupted,
        unknown: Counts::get(&c.unknown) > 0,
        dry_run_rejected: args.dry_run && Counts::get(&c.rejected) > 0,
        rows_failed: Tally::ALL.into_iter().any(|tally| {
            tally.fails_run(args.existing == Existing::Fail) && Counts::get(c.tally(tally)) > 0
        }),
    });
    // Why the import stopped early, said once (the summary and the counts say the rest).
    let failure = match (journal_error, refused_credentials) {
        (Some(why), _) => Some(
            Failure::new(
                code,
                format!("{why}; the import stopped before sending more rows"),
            )
            .with_kind(if code == exit::USAGE {
                "journal"
            } else {
                "stopped"
            }),
        ),
        (None, Some(why)) => {
            let mut failure = Failure::new(
                code,
                format!(
                    "{why}; the import stopped: {} rows were not sent (fix the credentials, then run the same command again: rows done are skipped)",
                    Counts::get(&c.not_sent)
                ),
            )
            .with_kind("unauthorized")
            .with_field(shared.credentials.clone());
            failure.status = Some(401);
            Some(failure)
        }
        (None, None) => None,
    };
    let summary = Summary {
        failure: failure.as_ref(),
        target: description,
        shared: &shared,
        elapsed: started.elapsed(),
        journal: paths.journal.as_deref(),
        rejects: &paths.rejects,
        results: &paths.results,
        interrupted,
        input_read,
        dry_run: args.dry_run,
        existing: args.existing,
    };
    match args.output {
        Output::Json => crate::print_stdout(&format!("{}\n", summary.json())),
        Output::Text => crate::print_stdout(&summary.text()),
    }
    match failure {
        Some(mut failure) => {
            // The JSON summary on stdout carries it already: stderr gets the line for people.
            failure.summarised = args.output == Output::Json;
            Err(failure)
        }
        None if code == exit::OK => Ok(()),
        None => Err(Failure::new(code, String::new())),
    }
}

/// How a run ended, as far as its exit code is concerned.
#[derive(Clone, Copy, Debug, Default)]
struct Ending {
    /// The journal could not be written, or the file changed under it.
    journal_failed: bool,
    /// A request was sent.
    sent: bool,
    /// The provider refused the credentials.
    credentials_refused: bool,
    /// Ctrl-C.
    interrupted: bool,
    /// Some rows' outcome is unknown.
    unknown: bool,
    /// A dry run found bad rows.
    dry_run_rejected: bool,
    /// Some rows ended in an outcome that fails the run ([`Tally::fails_run`]).
    rows_failed: bool,
}

/// The exit code of an import: the first of these that holds.
fn exit_code(ending: Ending) -> u8 {
    match ending {
        Ending {
            journal_failed: true,
            sent: true,
            ..
        } => exit::STOPPED,
        Ending {
            journal_failed: true,
            ..
        } => exit::USAGE,
        Ending {
            credentials_refused: true,
            ..
        } => exit::CREDENTIALS,
        Ending {
            interrupted: true, ..
        } => exit::INTERRUPTED,
        Ending { unknown: true, .. } => exit::UNKNOWN,
        Ending {
            dry_run_rejected: true,
            ..
        } => exit::USAGE,
        Ending {
            rows_failed: true, ..
        } => exit::REFUSED,
        _ => exit::OK,
    }
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

/// How a row ended, for the journal, the results and the rejects file.
#[derive(Default)]
struct Outcome {
    /// The provider's id of the user, when its answer (or its lookup) gave one.
    id: Option<String>,
    status: Option<u16>,
    reason: Option<String>,
    /// The error's stable kind (the facade's, or `invalid_input`, `duplicate`, `not_sent`).
    kind: Option<String>,
    field: Option<String>,
    hash: Option<String>,
}

impl Outcome {
    /// The row was not sent: the import stopped first (`why`).
    fn not_sent(line: u64, why: &str) -> Self {
        Self {
            reason: Some(format!("line {line}: not sent: {why}")),
            kind: Some("not_sent".to_owned()),
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
    /// The journal's last record of this line, from an earlier run.
    earlier: Option<&'a journal::Earlier>,
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
        // A row an earlier run decided, skipped now: what that run recorded.
        let outcome = match self.earlier {
            Some(earlier) if !journal && tally != Tally::NotSent => Outcome {
                id: earlier.id.clone().or(outcome.id),
                status: earlier.status,
                reason: earlier.reason.clone(),
                kind: earlier.kind.clone(),
                field: earlier.field.clone(),
                hash: None,
            },
            _ => outcome,
        };
        self.result = Some(results::Line {
            line: self.line,
            user: self.key.clone(),
            outcome: tally.word(),
            id: outcome.id.clone(),
            status: outcome.status,
            reason: outcome.reason.clone(),
            listed: tally.listed(),
            kind: outcome.kind.clone(),
            field: outcome.field.clone(),
        });
        if tally == Tally::Unknown {
            let mut rows = c.unknown_rows.lock().expect("lock");
            rows.push((self.line, self.key.clone()));
        }
        if journal && !shared.dry_run {
            let entry = Record {
                line: self.line,
                user: self.key.clone(),
                state: self.state.journal(),
                status: outcome.status,
                reason: outcome.reason,
                hash: outcome.hash,
                id: outcome.id,
                kind: outcome.kind,
                field: outcome.field,
            };
            record(shared, entry).await;
        }
    }

    /// The row does not parse or validate.
    async fn invalid(&mut self, kind: &str, field: Option<&str>, reason: String) {
        let outcome = Outcome {
            reason: Some(reason),
            kind: Some(kind.to_owned()),
            field: field.map(str::to_owned),
            ..Outcome::default()
        };
        self.step(Event::Invalid, outcome).await;
    }

    /// What the journal says of this line: `Ok(true)` when that decides the row for this run,
    /// `Ok(false)` when the row is to be checked (and sent), `Err` when the file changed under
    /// its journal (the line's user is another).
    async fn resume(&mut self, user: &NewUser) -> Result<bool, String> {
        let Some(earlier) = self.earlier else {
            return Ok(false);
        };
        let same_hash = || earlier.hash.as_deref() == Some(row_state::content_hash(user).as_str());
        let event = row_state::resume(earlier.state, &earlier.user, &self.key, same_hash).map_err(
            |was| {
                let older = if self.shared.previous.legacy_lines {
                    " (or the journal was written by an earlier iam, which numbered a CSV's rows lower after a CRLF or a blank line: finish that import with that iam, or start a new --journal with --existing skip)"
                } else {
                    ""
                };
                format!(
                    "line {} was `{was}` when the journal was written and is `{}` now: the file changed{older}; use a new --journal",
                    self.line, self.key
                )
            },
        )?;
        match self.step(event, Outcome::default()).await {
            Act::Finish { .. } => Ok(true),
            Act::Check => Ok(false),
            act => unreachable!("iam import: {act:?} after a journal record (a bug)"),
        }
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

/// Whether an error stops the whole import: the credentials were refused (401, after the
/// facade renewed a renewable token once), so every other row would be refused too, each a
/// failed login at the provider.
pub fn stops_import(error: &iam_clients::Error) -> bool {
    error.kind() == iam_clients::ErrorKind::Unauthorized
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

fn row_run<'a>(shared: &'a Shared, row: &Row) -> RowRun<'a> {
    RowRun {
        shared,
        line: row.line,
        key: row.key(),
        state: RowState::New,
        earlier: shared.previous.lines.get(&row.line),
        result: None,
    }
}

/// One row, from the file to its end for this run: its line of the results file (`None`: the
/// import stopped before deciding it). `duplicate_of`: the line the same user was first on.
async fn process(shared: &Shared, row: Row, duplicate_of: Option<u64>) -> Option<results::Line> {
    let mut run = row_run(shared, &row);
    drive(&mut run, row, duplicate_of).await;
    run.result
}

/// A row the import never reached (it stopped first): what an earlier run decided, else not
/// sent. Nothing is checked or sent.
async fn not_reached(shared: &Shared, row: Row) -> Option<results::Line> {
    shared.counts.rows.fetch_add(1, Ordering::Relaxed);
    let mut run = row_run(shared, &row);
    let decided = match &row.user {
        Ok(user) => run.resume(user).await.unwrap_or(false),
        Err(_) => false,
    };
    if !decided {
        let outcome = Outcome::not_sent(run.line, "the import stopped before this row");
        run.step(Event::NotReached, outcome).await;
    }
    run.result
}

/// [`process`]'s steps.
async fn drive(run: &mut RowRun<'_>, row: Row, duplicate_of: Option<u64>) {
    let shared = run.shared;
    let c = &shared.counts;
    c.rows.fetch_add(1, Ordering::Relaxed);
    let line = run.line;
    let user = match row.user {
        Ok(user) => user,
        Err(reason) => {
            let reason = format!("line {line}: {reason}");
            return run.invalid("invalid_input", None, reason).await;
        }
    };
    // What an earlier run did with this line (a row rejected as invalid was never sent and may
    // have had no key: it is checked again below).
    match run.resume(&user).await {
        Ok(true) => return,
        Ok(false) => {}
        Err(why) => {
            shared.stop.store(true, Ordering::Relaxed);
            shared
                .journal_error
                .lock()
                .expect("lock")
                .get_or_insert(why);
            let outcome = Outcome::not_sent(line, "the file changed under its journal here");
            run.step(Event::NotReached, outcome).await;
            return;
        }
    }
    if let Some(first) = duplicate_of {
        let field = if user.username.is_some() {
            "username"
        } else {
            "email"
        };
        let reason = format!(
            "line {line}: `{}` is on line {first} too (a duplicate: only line {first} is sent)",
            run.key
        );
        return run.invalid("duplicate", Some(field), reason).await;
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
    let sending = Record {
        line,
        user: run.key.clone(),
        state: State::Sending,
        status: None,
        reason: None,
        hash: None,
        id: None,
        kind: None,
        field: None,
    };
    if shared.stop.load(Ordering::Relaxed) || !record(shared, sending).await {
        let outcome = Outcome::not_sent(line, "the import stopped before this row");
        run.step(Event::NotReached, outcome).await;
        return;
    }
    let act = run.step(Event::Sent, Outcome::default()).await;
    debug_assert_eq!(act, Act::Wait, "the request goes out now");
    loop {
        // A slot taken after the import stopped is given back unused.
        let Some(slot) = shared
            .pace
            .acquire()
            .await
            .filter(|_| !shared.pace.is_interrupted())
        else {
            let outcome = Outcome::not_sent(line, &shared.why_stopped());
            run.step(Event::Interrupted, outcome).await;
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
                if stops_import(e) {
                    shared.refuse_credentials(e);
                }
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
                        kind: Some(e.kind().as_str().to_owned()),
                        field: e.field().map(str::to_owned),
                        hash,
                    },
                )
            }
        };
        let outcome = if answer == Answer::Conflict {
            // The user exists (before us, or from an earlier run's unknown send): its id.
            let (id, note) = lookup_note(shared.provider.find_user(&user).await);
            let reason = outcome.reason.map(|r| format!("{r}; {note}"));
            Outcome {
                id,
                reason,
                ..outcome
            }
        } else {
            outcome
        };
        let heard = match (&result, answer) {
            (Err(e), Answer::RateLimited) => Heard::Limited(e.retry_after(), e.rate_limit()),
            _ => Heard::Answer,
        };
        shared.pace.answered(slot, heard);
        match run.step(Event::Answer(answer), outcome).await {
            Act::Retry if shared.pace.is_interrupted() => {
                let outcome = Outcome::not_sent(line, &shared.why_stopped());
                run.step(Event::Interrupted, outcome).await;
                return;
            }
            Act::Retry => continue,
            Act::Finish { .. } => return,
            act => unreachable!("iam import: {act:?} after an answer (a bug)"),
        }
    }
}

struct Summary<'a> {
    /// Why the import stopped early (exit 2, 4 or 5).
    failure: Option<&'a Failure>,
    target: String,
    shared: &'a Shared,
    elapsed: Duration,
    journal: Option<&'a Path>,
    rejects: &'a Path,
    results: &'a Path,
    interrupted: bool,
    /// The whole input was read (false: standard input, after a stop).
    input_read: bool,
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
            "input_read": self.input_read,
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
            "error": self.failure.map(|f| f.to_json()["error"].clone()),
            // Before `error` (0.1): the journal's failure alone; kept for scripts that read it.
            "journal_error": self.failure.filter(|f| matches!(f.kind, "journal" | "stopped")).map(|f| f.message.clone()),
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
        let stopped = match (self.interrupted, self.failure.is_some()) {
            (true, _) => " (interrupted)",
            (false, true) => " (stopped)",
            (false, false) => "",
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
        if !self.input_read {
            out.push_str("  the rest of standard input was not read\n");
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
        Tally::NotSent => {
            "   (never reached: the import stopped first; a re-run sends them)".to_owned()
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
    fn the_exit_code_of_an_import() {
        let e = Ending::default;
        #[rustfmt::skip]
        let table = [
            (e(), exit::OK),
            (Ending { rows_failed: true, ..e() }, exit::REFUSED),
            (Ending { dry_run_rejected: true, rows_failed: true, ..e() }, exit::USAGE),
            (Ending { unknown: true, rows_failed: true, ..e() }, exit::UNKNOWN),
            (Ending { interrupted: true, unknown: true, ..e() }, exit::INTERRUPTED),
            (Ending { credentials_refused: true, interrupted: true, sent: true, ..e() }, exit::CREDENTIALS),
            (Ending { journal_failed: true, ..e() }, exit::USAGE),
            (Ending { journal_failed: true, sent: true, credentials_refused: true, ..e() }, exit::STOPPED),
            (Ending { sent: true, ..e() }, exit::OK),
        ];
        for (ending, code) in table {
            assert_eq!(exit_code(ending), code, "{ending:?}");
        }
    }

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
