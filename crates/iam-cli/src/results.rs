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
//!
//! The rejects file (`FILE.rejects`, JSONL) is written the same way, from the same lines: one
//! object per row whose outcome is listed (`Tally::listed`: refused, rejected, failed, unknown),
//! whichever run decided it. Each run replaces it, so it lists the rows that are not done now:
//! a row rejected by an earlier run and created since is no longer there. A run that lists none
//! removes it.

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
    /// The row goes to the rejects file (its outcome is listed), with these:
    pub listed: bool,
    /// The error's stable kind (`invalid_input`, `duplicate`, ...).
    pub kind: Option<String>,
    /// The field at fault, when the error names one.
    pub field: Option<String>,
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

    /// Its line of the rejects file.
    fn reject(&self) -> String {
        serde_json::json!({
            "line": self.line,
            "user": self.user,
            "outcome": self.outcome,
            "kind": self.kind,
            "field": self.field,
            "status": self.status,
            "reason": self.reason,
        })
        .to_string()
    }
}

/// A file written beside its final name (`NAME.partial`) and renamed over it at the end.
struct Partial {
    path: PathBuf,
    partial: PathBuf,
    out: Option<BufWriter<File>>,
    lines: u64,
}

impl Partial {
    fn create(path: &Path, what: &str) -> Result<Self, String> {
        let mut partial = path.as_os_str().to_owned();
        partial.push(".partial");
        let partial = PathBuf::from(partial);
        let file = open_private(&partial, false)
            .map_err(|e| format!("{what} {}: {e}", partial.display()))?;
        Ok(Self {
            path: path.to_owned(),
            partial,
            out: Some(BufWriter::with_capacity(64 << 10, file)),
            lines: 0,
        })
    }

    fn write(&mut self, text: &str) -> std::io::Result<()> {
        if let Some(out) = self.out.as_mut() {
            writeln!(out, "{text}")?;
            self.lines += 1;
        }
        Ok(())
    }

    /// Syncs and renames it into place; `keep_empty: false` removes both names instead when
    /// nothing was written.
    fn finish(mut self, keep_empty: bool) -> std::io::Result<()> {
        let Some(out) = self.out.take() else {
            return Ok(());
        };
        let file = out.into_inner().map_err(|e| e.into_error())?;
        if !keep_empty && self.lines == 0 {
            drop(file);
            std::fs::remove_file(&self.partial)?;
            return match std::fs::remove_file(&self.path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
                _ => Ok(()),
            };
        }
        file.sync_all()?;
        std::fs::rename(&self.partial, &self.path)
    }

    /// Removes the partial file (a start refused after it was created).
    fn abandon(mut self) {
        self.out = None;
        let _ = std::fs::remove_file(&self.partial);
    }
}

/// The results file, and the rejects file, being written.
pub struct Results {
    results: Partial,
    rejects: Partial,
    /// Lines that finished before an earlier row, by position in the input.
    waiting: BTreeMap<u64, Option<Line>>,
    /// The position of the next row to write.
    next: u64,
    error: Option<String>,
}

impl Results {
    /// Starts writing the results to `path` and the rejects to `rejects` (each through its
    /// name + `.partial`).
    pub fn create(path: &Path, rejects: &Path) -> Result<Self, String> {
        let mut results = Partial::create(path, "results file")?;
        results
            .write(HEADER)
            .map_err(|e| format!("results file {}: {e}", results.partial.display()))?;
        let rejects = match Partial::create(rejects, "rejects file") {
            Ok(rejects) => rejects,
            Err(e) => {
                results.abandon();
                return Err(e);
            }
        };
        Ok(Self {
            results,
            rejects,
            waiting: BTreeMap::new(),
            next: 0,
            error: None,
        })
    }

    /// Removes the partial files: the run was refused before it started.
    pub fn abandon(self) {
        self.results.abandon();
        self.rejects.abandon();
    }

    /// The row at `position` (0 for the first row read) finished as `line`; `None`: it has no
    /// line (the import stopped before deciding it).
    pub fn put(&mut self, position: u64, line: Option<Line>) {
        self.waiting.insert(position, line);
        while let Some(line) = self.waiting.remove(&self.next) {
            self.next += 1;
            if let Some(line) = line {
                self.write(&line);
            }
        }
    }

    fn write(&mut self, line: &Line) {
        if self.error.is_some() {
            return;
        }
        let written = self
            .results
            .write(&line.csv())
            .map_err(|e| format!("results file {}: {e}", self.results.partial.display()))
            .and_then(|()| {
                if line.listed {
                    self.rejects.write(&line.reject()).map_err(|e| {
                        format!("rejects file {}: {e}", self.rejects.partial.display())
                    })
                } else {
                    Ok(())
                }
            });
        if let Err(e) = written {
            self.error = Some(e);
        }
    }

    /// Lines waiting for an earlier row (for tests: the buffer stays small).
    pub fn waiting(&self) -> usize {
        self.waiting.len()
    }

    /// Rows listed in the rejects file so far (for tests).
    #[cfg(test)]
    pub fn rejects_listed(&self) -> u64 {
        self.rejects.lines
    }

    /// Writes what is left, syncs, and renames the files into place (the rejects file is
    /// removed when no row is listed).
    pub fn finish(mut self) -> Result<PathBuf, String> {
        // Rows that never finished (a stop) leave gaps: write what came after them, in order.
        let rest = std::mem::take(&mut self.waiting);
        for line in rest.into_values().flatten() {
            self.write(&line);
        }
        if let Some(e) = self.error.take() {
            self.abandon();
            return Err(e);
        }
        let (path, partial) = (self.results.path.clone(), self.results.partial.clone());
        let rejects = self.rejects.path.clone();
        self.results
            .finish(true)
            .map_err(|e| format!("results file {}: {e}", partial.display()))?;
        self.rejects
            .finish(false)
            .map_err(|e| format!("rejects file {}: {e}", rejects.display()))?;
        Ok(path)
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
            ..Line::default()
        };
        assert_eq!(
            l.csv(),
            "7,\"a,b\",refused,id-1,400,\"line 7: \"\"email\"\" is bad\nreally\""
        );
        assert_eq!(line(2, "created").csv(), "2,u2,created,,,");
    }

    #[test]
    fn the_rejects_file_lists_the_listed_rows_of_this_run_only_and_replaces_the_last_one() {
        let dir = std::env::temp_dir().join(format!("iam-rejects-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (path, rejects) = (dir.join("r.csv"), dir.join("r.rejects"));
        std::fs::write(
            &rejects,
            "{\"line\":2,\"reason\":\"from an earlier run\"}\n",
        )
        .unwrap();
        let mut r = Results::create(&path, &rejects).unwrap();
        let refused = Line {
            listed: true,
            kind: Some("invalid_input".into()),
            field: Some("email".into()),
            reason: Some("line 3: bad".into()),
            status: Some(400),
            ..line(3, "refused")
        };
        r.put(1, Some(refused));
        r.put(0, Some(line(2, "created")));
        assert_eq!(r.rejects_listed(), 1);
        r.finish().unwrap();
        let listed = std::fs::read_to_string(&rejects).unwrap();
        let value: serde_json::Value = serde_json::from_str(listed.trim()).unwrap();
        assert_eq!(listed.lines().count(), 1, "{listed}");
        assert_eq!(
            value,
            serde_json::json!({"line": 3, "user": "u3", "outcome": "refused", "kind": "invalid_input",
                "field": "email", "status": 400, "reason": "line 3: bad"})
        );
        // A run that lists none removes it.
        let r = Results::create(&path, &rejects).unwrap();
        r.finish().unwrap();
        assert!(!rejects.exists());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn lines_come_out_in_input_order_whatever_order_they_finish_in() {
        let dir = std::env::temp_dir().join(format!("iam-results-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("r.csv");
        let mut r = Results::create(&path, &dir.join("r.rejects")).unwrap();
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
        assert!(
            !dir.join("r.rejects").exists() && !dir.join("r.rejects.partial").exists(),
            "no row listed: no rejects file"
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
