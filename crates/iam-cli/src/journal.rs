//! The import journal: an append-only JSONL file recording, for each row, that it is about to
//! be sent and then how it ended. A record counts once it is synced to disk; one writer thread
//! syncs records in batches (group commit), so durability does not cost one `fsync` per row.
//!
//! ```text
//! {"iam_journal":2,"target":{"provider":"nexway","base_url":"https://api.nexway.store"},"lines":"physical"}
//! {"line":2,"user":"ada","state":"sending"}
//! {"line":2,"user":"ada","state":"created","status":201,"id":"5f0c..."}
//! {"line":3,"user":"bob","state":"rejected","reason":"..."}      (invalid: never sent)
//! {"line":4,"user":"cy","state":"exists","status":409,"reason":"..."}
//! {"line":5,"user":"di","state":"refused","status":400,"reason":"...","hash":"9c0b5e2f3a1d4e77"}
//! ```
//!
//! A `refused` record keeps a hash of the row without its secrets
//! ([`crate::row_state::content_hash`]): a re-run sends the row again only if it changed.
//!
//! Reading it back gives each line's last state. A line `sending` without an outcome was in
//! flight when the run stopped: its outcome is unknown.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::sync::mpsc;

use serde::{Deserialize, Serialize};

use crate::exit::Failure;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// About to be sent.
    Sending,
    /// Created (or, on a re-send of an unknown row, found to exist).
    Created,
    /// Invalid, never sent: checked again on every run (so a fixed row goes through).
    Rejected,
    /// The provider already had the user (409 on a first send): final, never sent again.
    Exists,
    /// Sent and refused by the provider (400): final for this content (see `Record::hash`).
    Refused,
    /// Refused in a way that proves nothing was created (401, 403, 5xx, ...): sent again on a re-run.
    Failed,
    /// Sent, but the outcome is unknown.
    Unknown,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Record {
    pub line: u64,
    #[serde(default)]
    pub user: String,
    pub state: State,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// `refused` records: the row's content hash, without secrets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<String>,
    /// `created`/`exists` records: the provider's id of the user, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Rows that did not succeed: the error's stable kind and the field at fault (for the
    /// rejects file of a later run that skips the row).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// Where a journal's import goes, as data: its header keeps it, and a run to another target is
/// refused (rewording a message does not change it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    /// `entrust`, `mid-ssms`, `mid-shift` or `nexway`.
    pub provider: String,
    /// The base URL, normalised ([`normalise_url`]).
    pub base_url: String,
    /// mID's tenant, when the target names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
}

impl Target {
    pub fn new(provider: &str, base_url: &str, tenant: Option<&str>) -> Self {
        Self {
            provider: provider.to_owned(),
            base_url: normalise_url(base_url),
            tenant: tenant.filter(|t| !t.is_empty()).map(str::to_owned),
        }
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} at {}", self.provider, self.base_url)?;
        if let Some(tenant) = &self.tenant {
            write!(f, " (tenant {tenant})")?;
        }
        Ok(())
    }
}

/// A base URL as the journal compares it: scheme and host in lower case, no trailing `/`.
pub fn normalise_url(url: &str) -> String {
    let url = url.trim().trim_end_matches('/');
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            format!(
                "{}://{}{path}",
                scheme.to_ascii_lowercase(),
                authority.to_ascii_lowercase()
            )
        }
        None => url.to_owned(),
    }
}

/// The journal's first line. Format 2 names the target as data; format 1 (before 0.2) named it
/// with the sentence `iam` printed then, which is still read (compared with that sentence).
#[derive(Serialize, Deserialize)]
struct Header {
    iam_journal: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    target: Option<serde_json::Value>,
    /// `physical`: lines are numbered as an editor numbers them (LF, CRLF, CR). Journals
    /// without it were written by an iam that numbered a CSV's rows after a CRLF or a blank line
    /// one or more lines lower.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    lines: Option<String>,
}

/// What a new journal's header says of its line numbers.
const PHYSICAL_LINES: &str = "physical";

/// What a header says of its target, against the one of this run: `Ok` when they are the same.
fn check_header(header: &Header, target: &Target, legacy: &str) -> Result<(), String> {
    let other = |what: String| {
        Err(format!(
            "it records an import to {what}, not to {target}; use another --journal (or delete this one if that import is over)"
        ))
    };
    match (header.iam_journal, &header.target) {
        (2, Some(value)) => match serde_json::from_value::<Target>(value.clone()) {
            Ok(theirs) if theirs == *target => Ok(()),
            Ok(theirs) => other(theirs.to_string()),
            Err(e) => Err(format!("its target is not readable: {e}")),
        },
        (1, Some(serde_json::Value::String(theirs))) if theirs == legacy => Ok(()),
        (1, Some(serde_json::Value::String(theirs))) => other(theirs.clone()),
        (n, _) => Err(format!(
            "journal format {n} is not one this iam reads (1 or 2); finish that import with the iam that started it, or use another --journal"
        )),
    }
}

/// What an earlier run left: each line's user key, last state, and content hash if recorded.
#[derive(Default)]
pub struct Previous {
    pub lines: HashMap<u64, Earlier>,
    /// The journal was written by an iam that numbered CSV lines the csv crate's way (one low
    /// after a CRLF or a blank line): a line whose user differs may be that, not a changed file.
    pub legacy_lines: bool,
}

/// A line's last record.
pub struct Earlier {
    pub user: String,
    pub state: State,
    pub hash: Option<String>,
    /// The provider's id, from the last record that had one.
    pub id: Option<String>,
    pub status: Option<u16>,
    pub reason: Option<String>,
    pub kind: Option<String>,
    pub field: Option<String>,
}

/// Reads the journal at `path`, if there is one. A last line cut off by a crash is ignored;
/// anything else unreadable stops the import.
fn read(path: &Path, target: &Target, legacy: &str) -> Result<Previous, Failure> {
    require_regular_file(path)?;
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Previous::default()),
        Err(e) => return Err(Failure::journal(format!("journal {}: {e}", path.display()))),
    };
    let fail = |n: usize, why: String| {
        Failure::journal(format!("journal {}, line {n}: {why}", path.display()))
    };
    let mut previous = Previous::default();
    // Only a last line can be torn (see `cut_torn_tail`); it is ignored below.
    let mut lines = BufReader::new(file).lines().enumerate().peekable();
    while let Some((i, line)) = lines.next() {
        let n = i + 1;
        let line = line.map_err(|e| fail(n, e.to_string()))?;
        let is_last = lines.peek().is_none();
        if n == 1 {
            match serde_json::from_str::<Header>(&line) {
                Ok(header) => match check_header(&header, target, legacy) {
                    Ok(()) => {
                        previous.legacy_lines = header.lines.as_deref() != Some(PHYSICAL_LINES);
                        continue;
                    }
                    Err(why) => return Err(fail(n, why)),
                },
                Err(_) if is_last => break,
                Err(e) => return Err(fail(n, format!("not an iam journal: {e}"))),
            }
        }
        match serde_json::from_str::<Record>(&line) {
            Ok(record) => {
                let id = record.id.or_else(|| {
                    previous
                        .lines
                        .get(&record.line)
                        .and_then(|earlier| earlier.id.clone())
                });
                previous.lines.insert(
                    record.line,
                    Earlier {
                        user: record.user,
                        state: record.state,
                        hash: record.hash,
                        id,
                        status: record.status,
                        reason: record.reason,
                        kind: record.kind,
                        field: record.field,
                    },
                );
            }
            // A crash while appending leaves at most a cut-off last line.
            Err(_) if is_last => break,
            Err(e) => return Err(fail(n, e.to_string())),
        }
    }
    Ok(previous)
}

/// A journal is a regular file (a device such as /dev/full could be read forever), or none yet.
fn require_regular_file(path: &Path) -> Result<(), Failure> {
    match std::fs::metadata(path) {
        Ok(meta) if !meta.is_file() => Err(Failure::journal(format!(
            "journal {}: not a regular file; give --journal a file path",
            path.display()
        ))),
        _ => Ok(()),
    }
}

/// A crash in the middle of a write leaves a last line without its newline. Its batch was never
/// acknowledged (acknowledgements follow the sync), so no row relied on it: cut it off, so that
/// records appended now do not follow half a record.
fn cut_torn_tail(path: &Path) -> std::io::Result<()> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = match OpenOptions::new().read(true).write(true).open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok(());
    }
    // Look back in chunks for the last newline.
    let mut end = len;
    let mut chunk = vec![0u8; 64 << 10];
    loop {
        let start = end.saturating_sub(chunk.len() as u64);
        let size = (end - start) as usize;
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(&mut chunk[..size])?;
        if let Some(i) = chunk[..size].iter().rposition(|&b| b == b'\n') {
            let keep = start + i as u64 + 1;
            if keep != len {
                file.set_len(keep)?;
                file.sync_data()?;
            }
            return Ok(());
        }
        if start == 0 {
            // Not one complete line: nothing was ever acknowledged.
            file.set_len(0)?;
            return file.sync_data();
        }
        end = start;
    }
}

/// Appends records; `append` returns once the record is on disk.
pub struct Writer {
    tx: mpsc::Sender<(Record, tokio::sync::oneshot::Sender<Result<(), String>>)>,
}

/// A journal opened for a run: what earlier runs recorded, and the writer. The file stays
/// locked (an OS advisory lock, `flock` on Unix) until the writer is dropped, so a second
/// import with the same journal is refused instead of interleaving its records.
pub struct Opened {
    pub previous: Previous,
    pub writer: Writer,
    /// The journal did not exist before this run (a start refused later may remove it).
    pub created: bool,
}

/// Opens the journal at `path` for a run: locks it (refusing, and naming the other process,
/// when another import holds it), reads what earlier runs recorded (refusing a journal of
/// another target), cuts a torn last line, and writes the header of a new journal. Nothing in
/// the file changes before the lock is held and the header read.
pub fn open(path: &Path, target: &Target, legacy: &str) -> Result<Opened, Failure> {
    let fail = |e: std::io::Error| Failure::journal(format!("journal {}: {e}", path.display()));
    require_regular_file(path)?;
    let created = std::fs::symlink_metadata(path).is_err();
    let mut file = crate::results::open_private(path, true).map_err(fail)?;
    if let Err(e) = file.try_lock() {
        return Err(match e {
            std::fs::TryLockError::WouldBlock => Failure::journal(
                format!(
                    "journal {} is in use by {}: two imports with one journal would both send its rows; wait for that one to end (or stop it with Ctrl-C), then run this again",
                    path.display(),
                    holder(&file).unwrap_or_else(|| "another process".to_owned())
                ),
            )
            .with_kind("journal_locked"),
            std::fs::TryLockError::Error(e) => fail(e),
        });
    }
    let refused = |failure: Failure| {
        if created {
            let _ = std::fs::remove_file(path);
        }
        failure
    };
    let previous = read(path, target, legacy).map_err(refused)?;
    cut_torn_tail(path).map_err(fail).map_err(refused)?;
    let empty = file.metadata().map_err(fail)?.len() == 0;
    if empty {
        let header = serde_json::to_string(&Header {
            iam_journal: 2,
            target: Some(serde_json::to_value(target).expect("a target serializes")),
            lines: Some(PHYSICAL_LINES.to_owned()),
        })
        .expect("header");
        writeln!(file, "{header}")
            .and_then(|()| file.sync_data())
            .map_err(fail)?;
    }
    let (tx, rx) = mpsc::channel::<(Record, tokio::sync::oneshot::Sender<Result<(), String>>)>();
    let shown = path.display().to_string();
    // The thread owns the file, and with it the lock: released when the run drops the writer.
    std::thread::Builder::new()
        .name("iam-journal".into())
        .spawn(move || write_loop(file, rx, shown))
        .map_err(fail)?;
    Ok(Opened {
        previous,
        writer: Writer { tx },
        created,
    })
}

/// The process holding an `flock` on `file`, from Linux's `/proc/locks`, with its command line:
/// `process 4242 (iam import ... users.csv)`. `None` elsewhere, or when it cannot be told.
fn holder(file: &File) -> Option<String> {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::MetadataExt;
        let meta = file.metadata().ok()?;
        let locks = std::fs::read_to_string("/proc/locks").ok()?;
        let pid = lock_holder(&locks, meta.dev(), meta.ino())?;
        let command = std::fs::read(format!("/proc/{pid}/cmdline"))
            .ok()
            .map(|bytes| {
                String::from_utf8_lossy(&bytes)
                    .split('\0')
                    .filter(|part| !part.is_empty())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .filter(|command| !command.is_empty());
        Some(match command {
            Some(command) => format!("process {pid} ({command})"),
            None => format!("process {pid}"),
        })
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = file;
        None
    }
}

/// The pid that `/proc/locks` (`1: FLOCK  ADVISORY  WRITE 4242 08:01:1234 0 EOF`) names as
/// holding a lock on the file with device `dev` and inode `ino` (the device as `MAJOR:MINOR`
/// in hex, glibc's encoding of `st_dev`).
pub fn lock_holder(locks: &str, dev: u64, ino: u64) -> Option<u32> {
    let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
    let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
    let wanted = format!("{major:02x}:{minor:02x}:{ino}");
    let inode = format!(":{ino}");
    // Some file systems (btrfs, overlayfs) show another device there than `stat` gives: then
    // the inode alone, when one holder has it.
    let holders = |matches: &dyn Fn(&str) -> bool| -> Vec<u32> {
        locks
            .lines()
            .filter_map(|line| {
                let fields: Vec<&str> = line.split_whitespace().collect();
                // `->` marks a process waiting for the lock, not holding it.
                if fields.get(1) == Some(&"->") {
                    return None;
                }
                let i = fields.iter().position(|f| matches(f))?;
                fields.get(i.checked_sub(1)?)?.parse().ok()
            })
            .collect()
    };
    let exact = holders(&|f| f == wanted);
    if let Some(&pid) = exact.first() {
        return Some(pid);
    }
    match holders(&|f| f.ends_with(&inode) && f.matches(':').count() == 2)[..] {
        [pid] => Some(pid),
        _ => None,
    }
}

impl Writer {
    /// Appends `record` and waits until it is synced.
    pub async fn append(&self, record: Record) -> Result<(), String> {
        let (ack, done) = tokio::sync::oneshot::channel();
        self.tx
            .send((record, ack))
            .map_err(|_| "the journal writer stopped".to_owned())?;
        done.await
            .map_err(|_| "the journal writer stopped".to_owned())?
    }
}

/// Test hook, debug builds only: `IAM_TEST_ABORT_IN_JOURNAL_WRITE=N` writes half of the N-th batch
/// and aborts the process, as a crash in the middle of a journal write would.
#[cfg(debug_assertions)]
fn abort_in_write(batch: u64, file: &mut File, text: &str) {
    let wanted = std::env::var("IAM_TEST_ABORT_IN_JOURNAL_WRITE")
        .ok()
        .and_then(|v| v.parse::<u64>().ok());
    if wanted == Some(batch) {
        let _ = file.write_all(&text.as_bytes()[..text.len() / 2]);
        let _ = file.sync_data();
        std::process::abort();
    }
}

/// Test hook, debug builds only: `IAM_TEST_JOURNAL_FULL_AT=N` fails the N-th batch and every
/// later one as a full disk would (ENOSPC).
fn disk_full_at(batch: u64) -> bool {
    cfg!(debug_assertions)
        && std::env::var("IAM_TEST_JOURNAL_FULL_AT")
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .is_some_and(|n| batch >= n)
}

fn write_loop(
    mut file: File,
    rx: mpsc::Receiver<(Record, tokio::sync::oneshot::Sender<Result<(), String>>)>,
    shown: String,
) {
    let mut broken: Option<String> = None;
    let mut batches = 0u64;
    while let Ok(first) = rx.recv() {
        batches += 1;
        let mut batch = vec![first];
        batch.extend(rx.try_iter());
        let result = match &broken {
            Some(why) => Err(why.clone()),
            None => {
                let mut text = String::new();
                for (record, _) in &batch {
                    text.push_str(&serde_json::to_string(record).expect("a record serializes"));
                    text.push('\n');
                }
                #[cfg(debug_assertions)]
                abort_in_write(batches, &mut file, &text);
                let written = if disk_full_at(batches) {
                    Err(std::io::Error::from_raw_os_error(28)) // ENOSPC, as on a full disk
                } else {
                    file.write_all(text.as_bytes())
                        .and_then(|()| file.sync_data())
                };
                written.map_err(|e| format!("cannot write the journal {shown}: {e}"))
            }
        };
        if let Err(why) = &result {
            broken = Some(why.clone());
        }
        for (_, ack) in batch {
            let _ = ack.send(result.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_holder_of_a_lock_is_read_from_proc_locks() {
        // st_dev 0x801 is device 08:01 (glibc's encoding).
        let locks = "1: POSIX  ADVISORY  WRITE 700 08:01:99 0 EOF\n\
                     2: FLOCK  ADVISORY  WRITE 4242 08:01:1234 0 EOF\n\
                     2: -> FLOCK  ADVISORY  WRITE 4343 08:01:1234 0 EOF\n\
                     3: FLOCK  ADVISORY  WRITE 5151 00:2d:777 0 EOF\n";
        let cases = [
            (0x801, 1234, Some(4242)),
            (0x801, 99, Some(700)),
            (0x801, 5, None),
            // Another device shown than stat gives (btrfs): the inode alone.
            (0x802, 777, Some(5151)),
            (0x802, 1234, Some(4242)),
        ];
        for (dev, ino, expected) in cases {
            assert_eq!(lock_holder(locks, dev, ino), expected, "{dev:x} {ino}");
        }
    }

    #[test]
    fn base_urls_compare_by_scheme_host_and_path() {
        let cases = [
            ("https://API.Nexway.store/", "https://api.nexway.store"),
            ("HTTP://127.0.0.1:8080", "http://127.0.0.1:8080"),
            (
                "https://x.example/Base/Path/",
                "https://x.example/Base/Path",
            ),
            (" https://x.example ", "https://x.example"),
            ("not a url", "not a url"),
        ];
        for (given, expected) in cases {
            assert_eq!(normalise_url(given), expected, "{given}");
        }
    }

    #[test]
    fn a_header_is_the_same_target_or_says_what_to_do() {
        let here = Target::new("mid-shift", "https://MID.example/", Some("acme"));
        let legacy = "mid-shift at https://mid.example (tenant acme)";
        let v2 = |t: &Target| Header {
            iam_journal: 2,
            target: Some(serde_json::to_value(t).unwrap()),
            lines: None,
        };
        let v1 = |s: &str| Header {
            iam_journal: 1,
            target: Some(serde_json::Value::String(s.into())),
            lines: None,
        };
        let elsewhere = Target::new("mid-shift", "https://mid.example", Some("other"));
        // (header, accepted, what the refusal says)
        let cases = [
            (
                v2(&Target::new(
                    "mid-shift",
                    "https://mid.example",
                    Some("acme"),
                )),
                None,
            ),
            (
                v2(&elsewhere),
                Some(
                    "(tenant other), not to mid-shift at https://mid.example (tenant acme); use another --journal",
                ),
            ),
            (v1(legacy), None),
            (
                v1("nexway at https://api.nexway.store"),
                Some("it records an import to nexway at https://api.nexway.store"),
            ),
            (
                Header {
                    iam_journal: 3,
                    target: None,
                    lines: None,
                },
                Some("journal format 3 is not one this iam reads"),
            ),
            (
                Header {
                    iam_journal: 2,
                    target: Some(serde_json::json!({"provider": 1})),
                    lines: None,
                },
                Some("its target is not readable"),
            ),
        ];
        for (i, (header, refused)) in cases.into_iter().enumerate() {
            match (check_header(&header, &here, legacy), refused) {
                (Ok(()), None) => {}
                (Err(why), Some(part)) => assert!(why.contains(part), "case {i}: {why}"),
                (got, want) => panic!("case {i}: {got:?}, expected {want:?}"),
            }
        }
    }
}
