//! Bytes into lines: the physical line a record starts on (LF, CRLF and a lone CR each end one;
//! the csv crate counts `\n` bytes up to where the previous record stopped, one low after a CRLF
//! and short of blank lines), and whether a file is UTF-8 ([`check_utf8`], one streaming pass,
//! with an `iconv` command to convert it).

use std::collections::VecDeque;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use crate::exit::Failure;

use super::columns::shell_word;

/// The input, for messages: its path, or standard input.
pub(super) fn describe(file: Option<&Path>) -> String {
    match file {
        Some(path) if path.as_os_str() != "-" => path.display().to_string(),
        _ => "standard input".to_owned(),
    }
}

/// `COMMAND users.csv > users.TAG.csv, then import users.TAG.csv`: a file converted beside
/// itself, and what to do next.
pub(super) fn converted(path: &Path, tag: &str, command: &str) -> String {
    let to = shell_word(&beside(path, tag).display().to_string());
    format!(
        "{command} {} > {to}, then import {to}",
        shell_word(&path.display().to_string())
    )
}

/// `users.csv` with `tag`: `users.TAG.csv`.
pub(super) fn beside(path: &Path, tag: &str) -> PathBuf {
    match (path.file_stem(), path.extension()) {
        (Some(stem), Some(extension)) => {
            let mut name = stem.to_owned();
            name.push(format!(".{tag}."));
            name.push(extension);
            path.with_file_name(name)
        }
        _ => {
            let mut name = path.as_os_str().to_owned();
            name.push(format!(".{tag}"));
            PathBuf::from(name)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Physical lines.

/// The UTF-8 byte-order mark.
pub(super) const BOM: [u8; 3] = [0xEF, 0xBB, 0xBF];

/// Consecutive bytes that are line endings (`\r`, `\n`), or the byte-order mark.
pub(super) struct Run {
    start: u64,
    end: u64,
    /// Line endings among them (CRLF is one).
    endings: u64,
}

/// A reader that remembers where the line endings it passed on are, so that the byte offset
/// where the csv crate started a record (`Position::byte`) gives the physical line of the
/// record's first field.
///
/// The csv crate starts a record where the previous one stopped: after its terminator's first
/// byte (the `\n` of a CRLF is still to come), before any blank lines, which it skips. The
/// record's first byte is the first one from there that is not `\r` or `\n` (nor the byte-order
/// mark): its line is 1 + the line endings before it. Only the runs of such bytes ahead of the
/// last record asked about are kept, so memory is bounded by a record and the csv crate's
/// read-ahead.
pub(super) struct Lines<R> {
    inner: R,
    /// Bytes passed on so far.
    offset: u64,
    /// The last byte passed on was `\r`.
    after_cr: bool,
    /// The runs not yet behind a record asked about.
    runs: VecDeque<Run>,
    /// Line endings in the runs dropped.
    behind: u64,
    /// The first bytes of the stream.
    head: [u8; 3],
}

impl<R> Lines<R> {
    pub(super) fn new(inner: R) -> Self {
        Self {
            inner,
            offset: 0,
            after_cr: false,
            runs: VecDeque::new(),
            behind: 0,
            head: [0; 3],
        }
    }

    pub(super) fn note(&mut self, bytes: &[u8]) {
        let offset = self.offset;
        let head = usize::try_from(3u64.saturating_sub(offset)).unwrap_or(0);
        for (i, &b) in bytes.iter().enumerate().take(head) {
            let at = 3 - head + i;
            self.head[at] = b;
            if at == 2 && self.head == BOM {
                self.runs.push_back(Run {
                    start: 0,
                    end: 3,
                    endings: 0,
                });
            }
        }
        let mut after_cr = self.after_cr;
        line_endings(bytes, &mut after_cr, |i, counts| {
            self.mark(offset + i as u64, u64::from(counts));
        });
        self.after_cr = after_cr;
        self.offset += bytes.len() as u64;
    }

    pub(super) fn mark(&mut self, at: u64, endings: u64) {
        match self.runs.back_mut() {
            Some(run) if run.end == at => {
                run.end += 1;
                run.endings += endings;
            }
            _ => self.runs.push_back(Run {
                start: at,
                end: at + 1,
                endings,
            }),
        }
    }

    /// The line of the record the csv crate started at byte `start`. Records are asked about in
    /// order: what is before `start` is dropped.
    pub(super) fn line_at(&mut self, start: u64) -> u64 {
        while let Some(run) = self.runs.front() {
            if run.start > start {
                break;
            }
            self.behind += run.endings;
            self.runs.pop_front();
        }
        1 + self.behind
    }

    /// The line of the record the csv crate started at `position`; without one (an error
    /// reading), the line the stream is at.
    pub(super) fn line_of(&mut self, position: Option<&csv::Position>) -> u64 {
        match position {
            Some(p) => self.line_at(p.byte()),
            None => 1 + self.behind + self.runs.iter().map(|r| r.endings).sum::<u64>(),
        }
    }

    /// The stream starts with a UTF-16 byte-order mark.
    pub(super) fn utf16(&self) -> Option<&'static str> {
        utf16_mark(&self.head)
    }
}

impl<R: Read> Read for Lines<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.note(&buf[..n]);
        Ok(n)
    }
}

/// `FF FE` or `FE FF` at the start: UTF-16, little or big endian.
pub(super) fn utf16_mark(head: &[u8]) -> Option<&'static str> {
    match head {
        [0xFF, 0xFE, ..] => Some("FF FE"),
        [0xFE, 0xFF, ..] => Some("FE FF"),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Encodings.

/// Where a stream stops being UTF-8.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct NotUtf8 {
    /// The physical line of the first byte that is not UTF-8.
    pub(super) line: u64,
    /// Its place in the line, counted in bytes from 1.
    pub(super) byte: u64,
    /// The UTF-16 byte-order mark the stream starts with, if it does.
    pub(super) utf16: Option<&'static str>,
}

/// Counts physical lines over a stream fed in pieces.
#[derive(Default)]
pub(super) struct LineCount {
    /// Line endings so far.
    endings: u64,
    /// Where the current line starts.
    line_start: u64,
    after_cr: bool,
}

impl LineCount {
    /// `bytes`, the first of which is at `offset` in the stream.
    pub(super) fn feed(&mut self, bytes: &[u8], offset: u64) {
        let mut after_cr = self.after_cr;
        line_endings(bytes, &mut after_cr, |i, counts| {
            self.endings += u64::from(counts);
            self.line_start = offset + i as u64 + 1;
        });
        self.after_cr = after_cr;
    }
}

/// Calls `found(i, counts)` for each `\r` and `\n` in `bytes`, at `i`: `counts` is false for the
/// `\n` of a CRLF (the `\r` ended the line). `after_cr`: whether the byte before `bytes` was
/// `\r`; updated to the last of `bytes`.
pub(super) fn line_endings(bytes: &[u8], after_cr: &mut bool, mut found: impl FnMut(usize, bool)) {
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'\r' {
            found(i, true);
        } else if b == b'\n' {
            let cr_before = if i == 0 {
                *after_cr
            } else {
                bytes[i - 1] == b'\r'
            };
            found(i, !cr_before);
        }
    }
    if let Some(&last) = bytes.last() {
        *after_cr = last == b'\r';
    }
}

/// Reads until `buf` is full or the stream ends.
pub(super) fn fill(input: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match input.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// The first byte of `input` that is not UTF-8, in one pass with a fixed buffer (a character
/// cut by the buffer's end is completed by the next read).
pub(super) fn first_non_utf8(mut input: impl Read, capacity: usize) -> io::Result<Option<NotUtf8>> {
    let mut buf = vec![0u8; capacity.max(8)];
    let mut lines = LineCount::default();
    // Where `buf[0]` is in the stream, and how many bytes of a cut character start `buf`.
    let (mut offset, mut carried) = (0u64, 0usize);
    let mut utf16 = None;
    loop {
        let n = fill(&mut input, &mut buf[carried..])?;
        let end = carried + n;
        if offset == 0 && carried == 0 {
            utf16 = utf16_mark(&buf[..end]);
        }
        let chunk = &buf[..end];
        // Lines are counted over the bytes read this time (the bytes carried over, part of a
        // character, hold no line ending).
        let (valid, bad) = match std::str::from_utf8(chunk) {
            Ok(_) => (end, false),
            Err(e) => (e.valid_up_to(), e.error_len().is_some() || n == 0),
        };
        if valid > carried {
            lines.feed(&chunk[carried..valid], offset + carried as u64);
        }
        if bad {
            let at = offset + valid as u64;
            return Ok(Some(NotUtf8 {
                line: 1 + lines.endings,
                byte: at - lines.line_start + 1,
                utf16: utf16.filter(|_| at == 0),
            }));
        }
        if n == 0 {
            return Ok(None);
        }
        // A character cut by the buffer's end: its bytes start the next read.
        buf.copy_within(valid..end, 0);
        offset += valid as u64;
        carried = end - valid;
    }
}

/// How to convert a file to UTF-8 with iconv: `iconv -f ENCODING -t UTF-8 users.csv >
/// users.utf8.csv` (for standard input, the pipe to put it through).
pub(super) fn iconv_hint(file: Option<&Path>, utf16: Option<&'static str>) -> String {
    let from = if utf16.is_some() {
        "UTF-16"
    } else {
        "WINDOWS-1252"
    };
    let why = match utf16 {
        Some(mark) => {
            format!("it is UTF-16 (it starts with the byte-order mark {mark}); convert it")
        }
        None => "convert it, e.g. from WINDOWS-1252 (what Excel writes on Western Windows; name the file's own encoding if it is another)".to_owned(),
    };
    match file {
        Some(path) if path.as_os_str() != "-" => format!(
            "{why}: {}",
            converted(path, "utf8", &format!("iconv -f {from} -t UTF-8"))
        ),
        _ => format!("{why} on the way in: ... | iconv -f {from} -t UTF-8 | iam import ... -"),
    }
}

/// Refuses (exit 2) a regular file that is not UTF-8, naming the line of its first byte that is
/// not and giving the `iconv` command that converts it (`iconv -f UTF-16` for a file that starts
/// with a UTF-16 byte-order mark). One streaming pass, in constant memory, before anything is
/// sent. Anything else (standard input, a pipe such as `<(...)`) is not read here: it cannot be
/// read twice, and its rows are checked as they are read (the readers stop at the first row
/// that is not UTF-8).
pub fn check_utf8(path: &Path) -> Result<(), Failure> {
    let fail = |e: io::Error| Failure::input(format!("{}: {e}", path.display()));
    if !std::fs::metadata(path).map_err(fail)?.is_file() {
        return Ok(());
    }
    let file = std::fs::File::open(path).map_err(fail)?;
    match first_non_utf8(file, 64 << 10).map_err(fail)? {
        None => Ok(()),
        Some(bad) => Err(Failure::input(format!(
            "{} is not UTF-8: line {} (its byte {}) is the first that is not, and nothing was sent; {}",
            path.display(),
            bad.line,
            bad.byte,
            iconv_hint(Some(path), bad.utf16)
        ))),
    }
}

/// Why a row read from a stream that could not be checked in advance is not UTF-8, and that
/// nothing after it is read.
pub(super) fn not_utf8_row(what: &str, utf16: Option<&'static str>) -> String {
    format!(
        "{what} is not UTF-8, so the rest of the input was not read (standard input cannot be checked before the import starts); {}, and import it again (with --journal, the rows done are skipped)",
        iconv_hint(None, utf16)
    )
}
