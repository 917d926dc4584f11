//! A user given twice in one file: the later rows are rejected as duplicates of the first line,
//! never sent (the provider would answer 409, and the row would read as a user it had before).
//!
//! Keys are compared without case (the username, else the email: the providers compare them
//! so; Keycloak lowers both). Memory must not grow with the file (an import of a million rows
//! runs in about 10 MiB), so a file is read once before the import ([`Duplicates::scan`]):
//! each row's key is hashed (64 bits) and the hashes spill, past 16,384 rows, to 64 temporary
//! files by their top bits, each then sorted on its own. What is kept is only the lines that
//! repeat a hash and the first line of each; while the import reads the rows, the first line's
//! exact key is kept, and a later row is a duplicate only if its key is that one (a hash
//! collision is not). Standard input or a pipe cannot be read twice: there every key is kept
//! ([`Duplicates::remember_all`]), and memory grows with the input.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::PathBuf;

/// Rows kept in memory before the hashes spill to files (256 KiB).
const IN_MEMORY: usize = 1 << 14;
/// The files the hashes spill to, by their top 6 bits.
const PARTITIONS: usize = 64;

/// What the import asks, row by row, in the order of the file.
#[derive(Debug, Default)]
pub struct Duplicates {
    /// For each line whose key's hash an earlier line has: that earlier (first) line.
    later: HashMap<u64, u64>,
    /// The first lines of repeated hashes, with their exact key once the row is read.
    firsts: HashMap<u64, Option<String>>,
    /// Standard input: every key seen, with its first line.
    all: Option<HashMap<String, u64>>,
    /// The rows the first reading counted (none for standard input).
    rows: Option<u64>,
}

/// The key as the providers compare it.
fn folded(key: &str) -> String {
    key.to_lowercase()
}

/// FNV-1a, 64 bits.
fn hash(key: &str) -> u64 {
    key.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

impl Duplicates {
    /// For input read once (standard input): every key is kept.
    pub fn remember_all() -> Self {
        Self {
            all: Some(HashMap::new()),
            ..Self::default()
        }
    }

    /// Reads every row's `(line, key)` (an empty key: no user) and keeps the lines whose key's
    /// hash repeats an earlier line's. Spills to files in `dir` past 16,384 rows.
    pub fn scan(
        rows: impl Iterator<Item = (u64, String)>,
        dir: &std::path::Path,
    ) -> io::Result<Self> {
        let mut memory: Vec<(u64, u64)> = Vec::new();
        let mut spill: Option<Spill> = None;
        let mut count = 0;
        for (line, key) in rows {
            count += 1;
            if key.is_empty() {
                continue;
            }
            let entry = (hash(&folded(&key)), line);
            match &mut spill {
                Some(spill) => spill.write(entry)?,
                None if memory.len() < IN_MEMORY => memory.push(entry),
                None => {
                    let mut files = Spill::create(dir)?;
                    for entry in memory.drain(..).chain([entry]) {
                        files.write(entry)?;
                    }
                    memory.shrink_to_fit();
                    spill = Some(files);
                }
            }
        }
        let mut found = Self {
            rows: Some(count),
            ..Self::default()
        };
        match spill {
            None => found.repeats(memory),
            Some(spill) => {
                for part in spill.parts()? {
                    found.repeats(part?);
                }
            }
        }
        Ok(found)
    }

    /// Notes the repeated hashes of `entries` (all the rows of their hashes).
    fn repeats(&mut self, mut entries: Vec<(u64, u64)>) {
        entries.sort_unstable();
        for same in entries.chunk_by(|a, b| a.0 == b.0) {
            if let [(_, first), rest @ ..] = same
                && !rest.is_empty()
            {
                self.firsts.insert(*first, None);
                for (_, line) in rest {
                    self.later.insert(*line, *first);
                }
            }
        }
    }

    /// How many rows the first reading found (the progress bar's length); `None` for
    /// standard input, which is read once.
    pub fn rows(&self) -> Option<u64> {
        self.rows
    }

    /// The row at `line` with user `key` (rows asked in the order of the file): the line the
    /// same user was first given on, when it is not this one.
    pub fn first_line(&mut self, line: u64, key: &str) -> Option<u64> {
        if key.is_empty() {
            return None;
        }
        let key = folded(key);
        if let Some(all) = &mut self.all {
            let first = *all.entry(key).or_insert(line);
            return (first != line).then_some(first);
        }
        if let Some(kept) = self.firsts.get_mut(&line) {
            *kept = Some(key);
            return None;
        }
        let first = *self.later.get(&line)?;
        // The same hash, and the same key (not a collision).
        (self.firsts.get(&first)?.as_deref() == Some(key.as_str())).then_some(first)
    }
}

/// Hashes spilled to files, by their top bits; removed when dropped.
struct Spill {
    dir: PathBuf,
    files: Vec<BufWriter<File>>,
}

impl Spill {
    fn create(parent: &std::path::Path) -> io::Result<Self> {
        let dir = parent.join(format!(
            "iam-duplicates-{}-{:x}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos())
        ));
        std::fs::create_dir(&dir)?;
        let mut spill = Self {
            dir,
            files: Vec::new(),
        };
        for i in 0..PARTITIONS {
            let file = File::create(spill.dir.join(i.to_string()))?;
            spill.files.push(BufWriter::with_capacity(4 << 10, file));
        }
        Ok(spill)
    }

    fn write(&mut self, (hash, line): (u64, u64)) -> io::Result<()> {
        let part = (hash >> 58) as usize;
        let file = &mut self.files[part];
        file.write_all(&hash.to_le_bytes())?;
        file.write_all(&line.to_le_bytes())
    }

    /// Each file's entries, one file at a time.
    fn parts(mut self) -> io::Result<impl Iterator<Item = io::Result<Vec<(u64, u64)>>>> {
        for file in &mut self.files {
            file.flush()?;
        }
        self.files.clear();
        Ok((0..PARTITIONS).map(move |i| {
            let file = File::open(self.dir.join(i.to_string()))?;
            let len = file.metadata()?.len() as usize;
            let mut input = BufReader::with_capacity(4 << 10, file);
            let mut entries = Vec::with_capacity(len / 16);
            let mut entry = [0u8; 16];
            for _ in 0..len / 16 {
                input.read_exact(&mut entry)?;
                let word = |at: usize| u64::from_le_bytes(entry[at..at + 8].try_into().expect("8"));
                entries.push((word(0), word(8)));
            }
            Ok(entries)
        }))
    }
}

impl Drop for Spill {
    fn drop(&mut self) {
        self.files.clear();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(names: &[&str]) -> Vec<(u64, String)> {
        names
            .iter()
            .enumerate()
            .map(|(i, k)| (i as u64 + 2, (*k).to_owned()))
            .collect()
    }

    /// Every row asked in order: the first line each duplicate names.
    fn ask(found: &mut Duplicates, rows: &[(u64, String)]) -> Vec<(u64, u64)> {
        rows.iter()
            .filter_map(|(line, key)| found.first_line(*line, key).map(|first| (*line, first)))
            .collect()
    }

    #[test]
    fn a_later_row_names_the_first_line_of_its_user_whatever_the_case() {
        let rows = keys(&["ada", "bob", "Ada", "", "cy", "ADA", "", "bob"]);
        let expected = vec![(4, 2), (7, 2), (9, 3)];
        let dir = std::env::temp_dir();
        let mut scanned = Duplicates::scan(rows.clone().into_iter(), &dir).unwrap();
        assert_eq!(
            scanned.rows(),
            Some(8),
            "every row counts, with a user or not"
        );
        assert_eq!(ask(&mut scanned, &rows), expected);
        assert_eq!(Duplicates::remember_all().rows(), None);
        assert_eq!(ask(&mut Duplicates::remember_all(), &rows), expected);
    }

    #[test]
    fn past_the_memory_the_hashes_spill_to_files_that_are_removed() {
        let dir = std::env::temp_dir().join(format!("iam-dup-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let n = IN_MEMORY * 3;
        let mut rows: Vec<(u64, String)> =
            (0..n as u64).map(|i| (i + 2, format!("u{i}"))).collect();
        rows.push((n as u64 + 2, "U17".to_owned()));
        rows.push((n as u64 + 3, "u30000".to_owned()));
        let mut found = Duplicates::scan(rows.clone().into_iter(), &dir).unwrap();
        assert_eq!(
            ask(&mut found, &rows),
            vec![(n as u64 + 2, 19), (n as u64 + 3, 30_002)]
        );
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            0,
            "spill files left"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_hash_collision_is_not_a_duplicate() {
        // Two keys given the same hash by hand: the exact keys differ.
        let mut found = Duplicates::default();
        found.firsts.insert(2, None);
        found.later.insert(5, 2);
        assert_eq!(found.first_line(2, "ada"), None);
        assert_eq!(found.first_line(5, "bob"), None);
        let mut found = Duplicates::default();
        found.firsts.insert(2, None);
        found.later.insert(5, 2);
        assert_eq!(found.first_line(2, "ada"), None);
        assert_eq!(found.first_line(5, "ADA"), Some(2));
    }
}
