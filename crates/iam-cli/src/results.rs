//! The results file of `iam import` (`FILE.results.csv`): one CSV line per input row, in input
//! order, `line,user,outcome,id,status,reason`, for rows done by this run and by earlier ones
//! (their ids come from the journal). It is what a user reconciles against: which rows were
//! created, which existed, and the provider's id of each.
//!
//! Rows finish out of order (many are in flight at once), so lines wait in a small reorder
//! buffer keyed by the row's position in the input and are written as soon as every earlier
//! row has finished. The buffer holds at most the rows in the import's pipeline, so memory does
//! not grow with the file. The file is written beside its final name and renamed over it at the
//! end (atomic: a reader never sees half a run), and created readable by its owner only: it
//! holds personal data. No secret reaches it: reasons are the redacted ones of the rejects file.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// Opens `path` for writing (`append` or truncating), creating it readable and writable by its
/// owner only (0600 on Unix). An existing file keeps its mode.
pub fn open_private(path: &Path, append: bool) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.create(true);
    if append {
        options.append(true);
    } else {
        options.write(true).truncate(true);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// One row's line of the results file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Line {
    /// The row's line in the input.
    pub line: u64,
    /// The row's key (username).
    pub user: String,
    /// The summary's word for the outcome (`created`, `exists`, ...).
    pub outcome: &'static str,
    /// The provider's id of the user, when known.
    pub id: Option<String>,
    pub status: Option<u16>,
    pub reason: Option<String>,
}

const HEADER: &str = "line,user,outcome,id,status,reason";

/// A CSV field, quoted when it must be (RFC 4180).
fn field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

impl Line {
    fn csv(&self) -> String {
        format!(
            "{},{},{},{},{},{}",
            self.line,
            field(&self.user),
            self.outcome,
            field(self.id.as_deref().unwrap_or_default()),
            self.status.map(|s| s.to_string()).unwrap_or_default(),
            field(self.reason.as_deref().unwrap_or_default()),
        )
    }
}

/// The results file being written.
pub struct Results {
    path: PathBuf,
    partial: PathBuf,
    out: Option<BufWriter<File>>,
    /// Lines that finished before an earlier row, by position in the input.
    waiting: BTreeMap<u64, Option<Line>>,
    /// The position of the next row to write.
    next: u64,
    error: Option<String>,
}

impl Results {
    /// Starts writing the results to `path` (through `path` + `.partial`).
    pub fn create(path: &Path) -> Result<Self, String> {
        let mut partial = path.as_os_str().to_owned();
        partial.push(".partial");
        let partial = PathBuf::from(partial);
        let file = open_private(&partial, false)
            .map_err(|e| format!("results file {}: {e}", partial.display()))?;
        let mut out = BufWriter::with_capacity(64 << 10, file);
        writeln!(out, "{HEADER}")
            .map_err(|e| format!("results file {}: {e}", partial.display()))?;
        Ok(Self {
            path: path.to_owned(),
            partial,
            out: Some(out),
            waiting: BTreeMap::new(),
            next: 0,
            error: None,
        })
    }

    /// The row at `position` (0 for the first row read) finished as `line`; `None`: it has no
    /// line (the import stopped before deciding it).
    pub fn put(&mut self, position: u64, line: Option<Line>) {
        self.waiting.insert(position, line);
        while let Some(line) = self.waiting.remove(&self.next) {
            self.next += 1;
            if let (Some(line), Some(out)) = (line, self.out.as_mut())
                && let Err(e) = writeln!(out, "{}", line.csv())
            {
                self.error
                    .get_or_insert(format!("results file {}: {e}", self.partial.display()));
                self.out = None;
            }
        }
    }

    /// Lines waiting for an earlier row (for tests: the buffer stays small).
    pub fn waiting(&self) -> usize {
        self.waiting.len()
    }

    /// Writes what is left, syncs, and renames the file into place.
    pub fn finish(mut self) -> Result<PathBuf, String> {
        // Rows that never finished (a stop) leave gaps: write what came after them, in order.
        let rest = std::mem::take(&mut self.waiting);
        if let Some(out) = self.out.as_mut() {
            for line in rest.into_values().flatten() {
                if let Err(e) = writeln!(out, "{}", line.csv()) {
                    self.error
                        .get_or_insert(format!("results file {}: {e}", self.partial.display()));
                    break;
                }
            }
        }
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        let out = self.out.take().expect("written unless an error was kept");
        let file = out
            .into_inner()
            .map_err(|e| format!("results file {}: {e}", self.partial.display()))?;
        file.sync_all()
            .and_then(|()| std::fs::rename(&self.partial, &self.path))
            .map_err(|e| format!("results file {}: {e}", self.path.display()))?;
        Ok(self.path.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(n: u64, outcome: &'static str) -> Line {
        Line {
            line: n,
            user: format!("u{n}"),
            outcome,
            ..Line::default()
        }
    }

    #[test]
    fn fields_are_quoted_as_rfc_4180_says() {
        let l = Line {
            line: 7,
            user: "a,b".into(),
            outcome: "refused",
            id: Some("id-1".into()),
            status: Some(400),
            reason: Some("line 7: \"email\" is bad\nreally".into()),
        };
        assert_eq!(
            l.csv(),
            "7,\"a,b\",refused,id-1,400,\"line 7: \"\"email\"\" is bad\nreally\""
        );
        assert_eq!(line(2, "created").csv(), "2,u2,created,,,");
    }

    #[test]
    fn lines_come_out_in_input_order_whatever_order_they_finish_in() {
        let dir = std::env::temp_dir().join(format!("iam-results-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("r.csv");
        let mut r = Results::create(&path).unwrap();
        r.put(2, Some(line(4, "exists")));
        r.put(1, None); // stopped before it was decided
        assert_eq!(r.waiting(), 2);
        r.put(0, Some(line(2, "created")));
        assert_eq!(r.waiting(), 0, "all written once the first came");
        r.put(4, Some(line(6, "unknown")));
        assert!(!path.exists(), "nothing at the final name before the end");
        r.finish().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            "line,user,outcome,id,status,reason\n2,u2,created,,,\n4,u4,exists,,,\n6,u6,unknown,,,\n"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
