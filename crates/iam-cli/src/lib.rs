//! The `iam` command line as a library: the binary (`src/main.rs`) is a thin `main`; the row
//! readers are public for the fuzz targets in `fuzz/`. It is not an API for other crates (use
//! `iam-clients`), hence no documentation requirement on its items.
#![allow(missing_docs)]

pub mod adaptive;
pub mod cli;
pub mod create;
pub mod demo;
pub mod duplicates;
pub mod exit;
pub mod import;
pub mod journal;
pub mod pace;
pub mod progress;
pub mod results;
pub mod row_state;
pub mod rows;
pub mod target;

use std::io::Write;

/// Writes to stdout; a closed pipe (`iam ... | head`) is not an error.
pub fn print_stdout(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush());
}
