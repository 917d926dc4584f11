//! Reading rows from CSV or JSONL, one at a time (the file is never held in memory).
//!
//! A row's line is the physical line it starts on, as an editor numbers it: LF, CRLF and a lone
//! CR each end one line (the csv crate's own count is of `\n` bytes up to where the previous
//! record stopped, one too low after a CRLF and short of any blank lines; [`csv_rows`] counts
//! from the record's byte offset instead: `text.rs`).
//!
//! Three modules: this one reads rows; `columns.rs` plans the CSV header's columns (and
//! `--map`, `--ignore-column`, `--delimiter`); `text.rs` turns bytes into physical lines and
//! checks UTF-8.
//!
//! What is wrong with a whole file is said before any row is read, as one error (exit 2):
//! - a file that is not UTF-8 ([`check_utf8`], one streaming pass over a regular file, with an
//!   `iconv` command to convert it). Standard input cannot be checked in advance: its reading
//!   stops at the first row that is not UTF-8, with that row rejected saying why;
//! - a CSV header naming columns the importer does not know (every one at once, each with a
//!   "did you mean"), the same column twice, or a file that looks separated by `;` or tabs;
//!   `--map FROM=TO`, `--ignore-column NAME` and `--delimiter CHAR` ([`CsvOptions`]) read such a
//!   file as it is;
//! - a JSONL file that is a JSON array, or objects followed by commas, or objects spread over
//!   several lines (with a `jq` or `sed` command to convert it).

mod columns;
mod text;

use std::collections::BTreeMap;
use std::io::{self, BufRead, Read};
use std::path::Path;

use iam_clients::{NewUser, Vendor};

use crate::create::attribute_value;
use crate::exit::Failure;

use columns::*;
pub use columns::{CsvOptions, parse_delimiter, refuse_csv_flags};
pub use text::check_utf8;
use text::*;

/// One row: where it is, and the user or why there is none.
pub struct Row {
    /// The physical line the row starts on (1-based; LF, CRLF and a lone CR each end a line).
    pub line: u64,
    pub user: Result<NewUser, String>,
}

impl Row {
    /// The row's user key: its username, else its email, else empty.
    pub fn key(&self) -> String {
        self.user
            .as_ref()
            .ok()
            .and_then(|u| u.username.clone().or_else(|| u.email.clone()))
            .unwrap_or_default()
    }
}

// ---------------------------------------------------------------------------------------------
// CSV.

/// A CSV reader: checks the header (with `options`), then yields rows. Every problem with the
/// header is one error (exit 2), before any row is read.
pub fn csv_rows(
    input: Box<dyn Read + Send>,
    options: &CsvOptions,
) -> Result<impl Iterator<Item = Row> + Send + use<>, Failure> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(false)
        .delimiter(options.delimiter)
        .from_reader(Lines::new(input));
    let headers = match reader.headers() {
        Ok(headers) => headers.clone(),
        Err(e) => {
            let lines = reader.get_mut();
            let line = lines.line_of(e.position());
            let utf16 = lines.utf16();
            return Err(Failure::input(match e.kind() {
                csv::ErrorKind::Utf8 { err, .. } => format!(
                    "line {line} (the header row), column {}, is not UTF-8; {}",
                    err.field() + 1,
                    iconv_hint(None, utf16)
                ),
                _ => format!("line {line} (the header row): {e}"),
            }));
        }
    };
    let header_line = headers
        .position()
        .map_or(1, |p| reader.get_mut().line_at(p.byte()));
    let columns = plan_columns(&headers, header_line, options)?;
    let mut record = csv::StringRecord::new();
    let mut stopped = false;
    Ok(std::iter::from_fn(move || {
        if stopped {
            return None;
        }
        let read = reader.read_record(&mut record);
        let lines = reader.get_mut();
        match read {
            Ok(false) => None,
            Ok(true) => Some(Row {
                line: lines.line_of(record.position()),
                user: csv_user(&columns, &record),
            }),
            Err(e) => {
                let line = lines.line_of(e.position());
                let reason = match e.kind() {
                    csv::ErrorKind::UnequalLengths {
                        expected_len, len, ..
                    } => {
                        format!("{len} fields where the header has {expected_len}")
                    }
                    csv::ErrorKind::Utf8 { err, .. } => {
                        // A stream not checked in advance: nothing after this row is read.
                        stopped = true;
                        let column = err.field() + 1;
                        let name = headers.get(err.field()).unwrap_or_default();
                        not_utf8_row(&format!("column {column} `{name}`"), None)
                    }
                    _ => {
                        stopped = true;
                        e.to_string()
                    }
                };
                Some(Row {
                    line,
                    user: Err(reason),
                })
            }
        }
    }))
}

fn csv_user(columns: &[Option<String>], record: &csv::StringRecord) -> Result<NewUser, String> {
    let mut user = NewUser::default();
    let mut attributes = BTreeMap::new();
    let list = |v: &str| {
        v.split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    };
    for (i, (column, value)) in columns.iter().zip(record.iter()).enumerate() {
        let Some(name) = column else { continue };
        if value.is_empty() {
            continue;
        }
        let text = Some(value.to_owned());
        match name.as_str() {
            "username" => user.username = text,
            "email" => user.email = text,
            "first_name" => user.first_name = text,
            "last_name" => user.last_name = text,
            "phone" => user.phone = text,
            "mobile" => user.mobile = text,
            "password" => user.password = Some(value.into()),
            "enabled" => {
                user.enabled = Some(match value.to_ascii_lowercase().as_str() {
                    "true" | "yes" | "1" => true,
                    "false" | "no" | "0" => false,
                    _ => {
                        return Err(format!(
                            "column {} `enabled`: `{value}` is not true or false",
                            i + 1
                        ));
                    }
                })
            }
            "roles" => user.roles = list(value),
            "groups" => user.groups = list(value),
            column if vendor_column(column).is_some() => {
                let (vendor, property) = vendor_column(column).expect("checked");
                let value = vendor
                    .value_from_text(property, value)
                    .map_err(|e| format!("column {} `{column}`: {e}", i + 1))?;
                user.section_mut(vendor).insert(property.to_owned(), value);
            }
            attr => {
                let key = attr.trim_start_matches("attr.");
                attributes.insert(key.to_owned(), attribute_value(value));
            }
        }
    }
    user.attributes = attributes;
    Ok(user)
}

// ---------------------------------------------------------------------------------------------
// JSONL.

/// The lines of a JSONL stream, each with its physical line.
struct JsonLines {
    input: Box<dyn BufRead + Send>,
    /// The physical line of the next line.
    next: u64,
    /// A read failed: nothing more is read.
    done: bool,
}

impl JsonLines {
    /// The next line (without its line ending; the byte-order mark off the first), or why it
    /// could not be read.
    fn next_line(&mut self) -> Option<(u64, io::Result<Vec<u8>>)> {
        if self.done {
            return None;
        }
        let line = self.next;
        let mut bytes = Vec::new();
        match self.input.read_until(b'\n', &mut bytes) {
            Ok(0) => None,
            Ok(_) => {
                if bytes.last() == Some(&b'\n') {
                    bytes.pop();
                    self.next += 1;
                    if bytes.last() == Some(&b'\r') {
                        bytes.pop();
                    }
                }
                // A lone CR ends a line for an editor: the lines after it are numbered so.
                self.next += bytes.iter().filter(|&&b| b == b'\r').count() as u64;
                if line == 1 && bytes.starts_with(&BOM) {
                    bytes.drain(..3);
                }
                Some((line, Ok(bytes)))
            }
            Err(e) => {
                self.done = true;
                Some((line, Err(e)))
            }
        }
    }
}

/// A JSONL reader: one `NewUser` per non-blank line. A JSON array, or objects followed by
/// commas or spread over several lines, is refused (exit 2) before any row is read. The
/// messages call the input "the input"; [`jsonl_rows_from`] names it.
pub fn jsonl_rows(
    input: Box<dyn BufRead + Send>,
) -> Result<impl Iterator<Item = Row> + Send, Failure> {
    jsonl_rows_from(input, None)
}

/// [`jsonl_rows`], its messages naming `file` (`None`, or `-`: standard input).
pub fn jsonl_rows_from(
    input: Box<dyn BufRead + Send>,
    file: Option<&Path>,
) -> Result<impl Iterator<Item = Row> + Send + use<>, Failure> {
    let mut lines = JsonLines {
        input,
        next: 1,
        done: false,
    };
    // The first line that is not blank, kept to be yielded (standard input cannot be rewound).
    let mut first = None;
    while let Some((line, bytes)) = lines.next_line() {
        if let Ok(bytes) = &bytes {
            if bytes.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            if let Ok(text) = std::str::from_utf8(bytes)
                && let Some(why) = not_json_lines(text.trim(), line, file)
            {
                return Err(Failure::input(why));
            }
        }
        first = Some((line, bytes));
        break;
    }
    let mut stopped = false;
    Ok(std::iter::from_fn(move || {
        loop {
            if stopped {
                return None;
            }
            let (number, bytes) = first.take().or_else(|| lines.next_line())?;
            let bytes = match bytes {
                Ok(bytes) => bytes,
                Err(e) => {
                    stopped = true;
                    return Some(Row {
                        line: number,
                        user: Err(format!("cannot read the line: {e}")),
                    });
                }
            };
            let line = match String::from_utf8(bytes) {
                Ok(line) => line,
                Err(e) => {
                    // A stream not checked in advance: nothing after this line is read.
                    stopped = true;
                    let utf16 = if number == 1 {
                        utf16_mark(e.as_bytes())
                    } else {
                        None
                    };
                    let at = e.utf8_error().valid_up_to() + 1;
                    return Some(Row {
                        line: number,
                        user: Err(not_utf8_row(&format!("byte {at}"), utf16)),
                    });
                }
            };
            if line.trim().is_empty() {
                continue;
            }
            let user = serde_json::from_str::<NewUser>(&line).map_err(|e| {
                // serde_json's position is within this one line.
                let message = format!("column {}: {}", e.column(), strip_position(&e.to_string()));
                redact_row_secrets(&line, message)
            });
            return Some(Row { line: number, user });
        }
    }))
}

/// Why a JSONL input whose first non-blank line (trimmed) is `text`, on line `line`, is not
/// JSON Lines, with the command that converts it; `None` when it may well be.
fn not_json_lines(text: &str, line: u64, file: Option<&Path>) -> Option<String> {
    let name = describe(file);
    let named = file.filter(|f| f.as_os_str() != "-");
    let convert = |command: &str| match named {
        Some(path) => format!("convert it: {}", converted(path, "lines", command)),
        None => format!("convert it on the way in: ... | {command} | iam import ... -"),
    };
    if text.starts_with('[') {
        return Some(format!(
            "{name} is a JSON array, not JSON Lines (one object per line); {}",
            convert("jq -c '.[]'")
        ));
    }
    if text == "{" {
        return Some(format!(
            "{name}: line {line} holds only `{{`: its objects are spread over several lines, and JSON Lines has one object per line; {}",
            convert("jq -c .")
        ));
    }
    let object = text.strip_suffix(',').map(str::trim_end)?;
    matches!(
        serde_json::from_str::<serde_json::Value>(object),
        Ok(serde_json::Value::Object(_))
    )
    .then(|| {
        format!(
            "{name}: line {line} is an object followed by a comma, and JSON Lines has one object per line with nothing between them; {}",
            convert("sed 's/}[[:space:]]*,[[:space:]]*$/}/'")
        )
    })
}

/// serde echoes a mistyped value (`invalid type: integer `123``): remove the row's password and
/// secret-named attributes from the message.
fn redact_row_secrets(line: &str, mut message: String) -> String {
    let Ok(serde_json::Value::Object(row)) = serde_json::from_str::<serde_json::Value>(line) else {
        return message;
    };
    let mut secrets = Vec::new();
    if let Some(password) = row.get("password") {
        secrets.push(password.clone());
    }
    for vendor in Vendor::ALL {
        if let Some(serde_json::Value::Object(section)) = row.get(vendor.name()) {
            secrets.extend(
                vendor
                    .secret_values(section)
                    .into_iter()
                    .map(serde_json::Value::String),
            );
        }
    }
    if let Some(serde_json::Value::Object(attributes)) = row.get("attributes") {
        secrets.extend(
            attributes
                .iter()
                .filter(|(k, _)| iam_clients::is_secret_attribute(k))
                .map(|(_, v)| v.clone()),
        );
    }
    for secret in secrets {
        let text = match secret {
            serde_json::Value::String(s) => s,
            other => other.to_string(),
        };
        if !text.is_empty() {
            message = message.replace(&text, "***");
        }
    }
    message
}

fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn csv_with(text: &[u8], options: &CsvOptions) -> Result<Vec<Row>, Failure> {
        csv_rows(Box::new(std::io::Cursor::new(text.to_vec())), options).map(Iterator::collect)
    }

    fn csv(text: &str) -> Result<Vec<Row>, Failure> {
        csv_with(text.as_bytes(), &CsvOptions::default())
    }

    fn jsonl(text: &[u8]) -> Result<Vec<Row>, Failure> {
        jsonl_rows(Box::new(std::io::Cursor::new(text.to_vec()))).map(Iterator::collect)
    }

    fn lines_of(rows: &[Row]) -> Vec<u64> {
        rows.iter().map(|r| r.line).collect()
    }

    fn options(map: &[(&str, &str)], ignore: &[&str]) -> CsvOptions {
        CsvOptions {
            map: map
                .iter()
                .map(|(f, t)| ((*f).to_owned(), (*t).to_owned()))
                .collect(),
            ignore: ignore.iter().map(|s| (*s).to_owned()).collect(),
            ..CsvOptions::default()
        }
    }

    #[test]
    fn csv_rows_name_their_line_and_column() {
        let rows = csv(
            "username,email,enabled,roles,attr.digitaniumCreateActivation\n\
             ada,ada@x.io,true,a; b ;,false\n\
             bob,bob@x.io,maybe,,\n\
             carl,carl@x.io\n",
        )
        .unwrap();
        assert_eq!(rows.len(), 3);
        let ada = rows[0].user.as_ref().unwrap();
        assert_eq!(
            (rows[0].line, ada.roles.clone(), ada.enabled),
            (2, vec!["a".to_owned(), "b".to_owned()], Some(true))
        );
        assert_eq!(
            ada.attributes["digitaniumCreateActivation"],
            serde_json::json!(false)
        );
        assert_eq!(
            (rows[1].line, rows[1].user.as_ref().unwrap_err().as_str()),
            (3, "column 3 `enabled`: `maybe` is not true or false")
        );
        assert_eq!(
            (rows[2].line, rows[2].user.as_ref().unwrap_err().as_str()),
            (4, "2 fields where the header has 5")
        );
    }

    #[test]
    fn every_line_ending_counts_one_line_and_a_record_is_numbered_where_it_starts() {
        let body = "ada,a@x.io\n\"bob\nthe second\",b@x.io\n\ncarl,c@x.io\nshort\nd,d@x.io\n";
        for ending in ["\n", "\r\n", "\r"] {
            for bom in ["", "\u{feff}"] {
                let text = format!("{bom}username,email\n{body}").replace('\n', ending);
                let rows = csv(&text).unwrap();
                assert_eq!(lines_of(&rows), [2, 3, 6, 7, 8], "{ending:?} {bom:?}");
                assert!(rows[3].user.is_err(), "{ending:?}");
            }
        }
        // Mixed, with blank lines of every kind before a record and before the header.
        let rows = csv("\r\n\nusername,email\r\na,a@x.io\r\r\n\r\nb,b@x.io\rc,c@x.io\n").unwrap();
        assert_eq!(lines_of(&rows), [4, 7, 8]);
        let err = csv("\n\r\nusername,pasword\r\nu,p\r\n").err().unwrap();
        assert!(
            err.message.starts_with("line 3, column 2 `pasword`"),
            "{}",
            err.message
        );
    }

    #[test]
    fn line_numbers_hold_across_the_csv_crate_s_buffer() {
        // Records longer than the csv crate's 8 KiB buffer, with CRLF: the counts stay exact.
        let mut text = String::from("username,email\r\n");
        let mut expected = Vec::new();
        let mut line = 2;
        for i in 0..50 {
            let name = "n".repeat(300 * (i % 7));
            text.push_str(&format!("\"u{i}\r\n{name}\",u{i}@x.io\r\n\r\n"));
            expected.push(line);
            line += 3;
        }
        let rows = csv(&text).unwrap();
        assert_eq!(lines_of(&rows), expected);
    }

    #[test]
    fn a_header_names_every_unknown_column_with_what_it_may_mean() {
        let err =
            csv("First Name,E-mail,Email,pasword,entrust.externalid,Department,username\nx\n")
                .err()
                .unwrap();
        let m = err.message;
        for expected in [
            "the header (line 1) has 6 columns iam import does not know",
            "line 1, column 1 `First Name`: unknown column; did you mean `first_name`?",
            "line 1, column 2 `E-mail`: unknown column; did you mean `email`?",
            "line 1, column 3 `Email`: unknown column; did you mean `email`?",
            "line 1, column 4 `pasword`: unknown column; did you mean `password`?",
            "line 1, column 5 `entrust.externalid`: Entrust's create request (UserParms) has no property `externalid`; did you mean `entrust.externalId`?",
            "line 1, column 6 `Department`: unknown column\n",
            "--map 'First Name=first_name' --map E-mail=email --map Email=email --map pasword=password --map entrust.externalid=entrust.externalId --ignore-column Department",
        ] {
            assert!(m.contains(expected), "{expected}\nin\n{m}");
        }
        assert_eq!(err.code, crate::exit::USAGE);
    }

    #[test]
    fn suggestions_come_from_names_and_small_edits_only() {
        assert_eq!(suggestions("Last-Name"), ["last_name"]);
        assert_eq!(suggestions("FirstName"), ["first_name"]);
        assert_eq!(suggestions("Surname"), ["last_name"]);
        assert_eq!(suggestions("emial"), ["email"]);
        assert_eq!(suggestions("role"), ["roles"]);
        assert_eq!(suggestions("Attr.colour"), ["attr.colour"]);
        assert_eq!(suggestions("entrst.externalId"), ["entrust.externalId"]);
        assert_eq!(suggestions("externalId"), ["entrust.externalId"]);
        assert!(suggestions("Department").is_empty());
        assert!(suggestions("id").is_empty());
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance("", "ab"), 2);
    }

    #[test]
    fn map_and_ignore_read_a_file_as_it_is() {
        let text = "First Name,E-mail,Department,username\nAda,ada@x.io,R&D,ada\n";
        let rows = csv_with(
            text.as_bytes(),
            &options(
                &[("First Name", "first_name"), ("E-mail", "email")],
                &["Department"],
            ),
        )
        .unwrap();
        let ada = rows[0].user.as_ref().unwrap();
        assert_eq!(
            (
                ada.first_name.as_deref(),
                ada.email.as_deref(),
                ada.username.as_deref()
            ),
            (Some("Ada"), Some("ada@x.io"), Some("ada"))
        );
        assert!(ada.attributes.is_empty());
        // A flag naming no column of the header names it and lists the header.
        let err = csv_with(text.as_bytes(), &options(&[("Name", "first_name")], &[]))
            .err()
            .unwrap();
        assert!(
            err.message.starts_with("--map Name=first_name: the header (line 1) has no column `Name`; its columns are `First Name`, `E-mail`, `Department`, `username`"),
            "{}",
            err.message
        );
        let err = csv_with(text.as_bytes(), &options(&[], &["Dept"]))
            .err()
            .unwrap();
        assert!(
            err.message
                .starts_with("--ignore-column Dept: the header (line 1) has no column `Dept`"),
            "{}",
            err.message
        );
        let err = csv_with(text.as_bytes(), &options(&[("E-mail", "mail")], &[]))
            .err()
            .unwrap();
        assert!(
            err.message
                .contains("--map E-mail=mail: `mail` is not a column iam import knows (unknown column; did you mean `email`?)"),
            "{}",
            err.message
        );
    }

    #[test]
    fn the_same_column_twice_is_refused_naming_both() {
        let err = csv("username,email,first_name,last_name,email\nu,e,f,l,e\n")
            .err()
            .unwrap();
        assert!(
            err.message
                .starts_with("line 1: columns 2 and 5 are both `email`\n--map and --ignore-column name a column by its header"),
            "{}",
            err.message
        );
        let err = csv_with(
            b"username,email,E-mail\nu,e,e\n",
            &options(&[("E-mail", "email")], &[]),
        )
        .err()
        .unwrap();
        assert!(
            err.message.starts_with(
                "line 1: columns 2 and 3 (`E-mail`, read as `email` by --map E-mail=email) are both `email`\nrename one"
            ),
            "{}",
            err.message
        );
        // Left out, it is no longer there twice.
        let rows = csv_with(b"username,email,email\nu,e,f\n", &options(&[], &["email"])).unwrap();
        assert_eq!(rows[0].user.as_ref().unwrap().email, None);
    }

    #[test]
    fn a_semicolon_or_tab_separated_file_is_recognised() {
        let err = csv("username;email;first_name;Department\nu;e;f;d\n")
            .err()
            .unwrap();
        assert!(
            err.message.starts_with("The file looks semicolon-separated (its header splits into 4 columns at ';', 3 of them known): add --delimiter ';'."),
            "{}",
            err.message
        );
        let err = csv("username\temail\nu\te\n").err().unwrap();
        assert!(
            err.message.contains("add --delimiter tab"),
            "{}",
            err.message
        );
        let semicolons = CsvOptions {
            delimiter: b';',
            ..CsvOptions::default()
        };
        let rows = csv_with(b"username;email\r\nu;\"e;x\"\r\n", &semicolons).unwrap();
        assert_eq!(
            (
                rows[0].line,
                rows[0].user.as_ref().unwrap().email.as_deref()
            ),
            (2, Some("e;x"))
        );
        let err = csv_with(b"username,email\nu,e\n", &semicolons)
            .err()
            .unwrap();
        assert!(
            err.message.contains("leave out --delimiter"),
            "{}",
            err.message
        );
        // Not for a header whose unknown columns are not the separator's doing.
        let err = csv("username,Department\nu,d\n").err().unwrap();
        assert!(!err.message.contains("looks"), "{}", err.message);
    }

    #[test]
    fn a_delimiter_is_one_ascii_character_or_tab() {
        assert_eq!(parse_delimiter(";"), Ok(';'));
        assert_eq!(parse_delimiter("tab"), Ok('\t'));
        assert_eq!(parse_delimiter("\\t"), Ok('\t'));
        assert_eq!(parse_delimiter("\t"), Ok('\t'));
        for bad in ["§", ";;", "", "\"", "\n"] {
            assert!(parse_delimiter(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_stream_stops_at_its_first_row_that_is_not_utf8() {
        let mut text = b"username,email,password\nada,a@x.io,pw1\r\nbob,b@x.io,caf".to_vec();
        text.extend([0xE9]);
        text.extend(b"\r\ncarl,c@x.io,pw3\n");
        let rows = csv_with(&text, &CsvOptions::default()).unwrap();
        assert_eq!(lines_of(&rows), [2, 3]);
        let why = rows[1].user.as_ref().unwrap_err();
        assert!(
            why.starts_with(
                "column 3 `password` is not UTF-8, so the rest of the input was not read"
            ) && why.contains("iconv -f WINDOWS-1252 -t UTF-8")
                && !why.contains("caf"),
            "{why}"
        );
        // A UTF-16 header.
        let err = csv_with(b"\xFF\xFEu\0s\0e\0r\0\n\0", &CsvOptions::default())
            .err()
            .unwrap();
        assert!(
            err.message.contains("UTF-16") && err.message.contains("iconv -f UTF-16"),
            "{}",
            err.message
        );
        // JSONL: the same.
        let rows =
            jsonl(b"{\"username\":\"ada\"}\r\n{\"username\":\"b\xE9\"}\n{\"username\":\"c\"}\n")
                .unwrap();
        assert_eq!(lines_of(&rows), [1, 2]);
        assert!(
            rows[1]
                .user
                .as_ref()
                .unwrap_err()
                .starts_with("byte 15 is not UTF-8, so the rest of the input was not read"),
            "{:?}",
            rows[1].user.as_ref().err()
        );
    }

    #[test]
    fn the_first_byte_that_is_not_utf8_is_found_across_buffers() {
        let find = |bytes: &[u8], capacity| first_non_utf8(bytes, capacity).unwrap();
        // Characters of 2, 3 and 4 bytes cut at every place by small buffers.
        let text = "a\u{e9}\r\n\u{20ac}\r\u{1f600}\nz\u{e9}\u{e9}\n".repeat(5);
        for capacity in 8..24 {
            assert_eq!(find(text.as_bytes(), capacity), None, "{capacity}");
            let mut bad = text.clone().into_bytes();
            bad.extend(b"ok\r\nx\xE9y");
            // 5 x 4 lines, then "ok", then the bad one.
            assert_eq!(
                find(&bad, capacity),
                Some(NotUtf8 {
                    line: 22,
                    byte: 2,
                    utf16: None
                }),
                "{capacity}"
            );
            // A character cut by the end of the file.
            let mut cut = text.clone().into_bytes();
            cut.extend(&"\u{20ac}".as_bytes()[..2]);
            assert_eq!(
                find(&cut, capacity),
                Some(NotUtf8 {
                    line: 21,
                    byte: 1,
                    utf16: None
                })
            );
        }
        assert_eq!(
            find(b"\xFF\xFEu\0", 64),
            Some(NotUtf8 {
                line: 1,
                byte: 1,
                utf16: Some("FF FE")
            })
        );
        assert_eq!(find(b"", 64), None);
    }

    #[test]
    fn vendor_columns_fill_the_vendor_section() {
        let rows = csv(
            "username,entrust.externalId,entrust.lock,entrust.userAliases\n\
             john,hr-42,true,\"[{\"\"value\"\":\"\"johnny\"\",\"\"type\"\":\"\"CUSTOM\"\"}]\"\n\
             jane,,maybe,\n\
             joe,,,\n",
        )
        .unwrap();
        let john = rows[0].user.as_ref().unwrap();
        assert_eq!(
            serde_json::Value::Object(john.entrust.clone()),
            serde_json::json!({"externalId": "hr-42", "lock": true, "userAliases": [{"value": "johnny", "type": "CUSTOM"}]})
        );
        let jane = rows[1].user.as_ref().unwrap_err();
        assert!(jane.starts_with("column 3 `entrust.lock`: "), "{jane}");
        assert!(rows[2].user.as_ref().unwrap().entrust.is_empty());
        let err = csv("username,entrust.colour\nada,red\n").err().unwrap();
        assert!(
            err.message.contains("column 2 `entrust.colour`")
                && err.message.contains("has no property `colour`"),
            "{}",
            err.message
        );
        let err = csv("username,acme.colour\nada,red\n").err().unwrap();
        assert!(err.message.contains("unknown column"), "{}", err.message);
    }

    #[test]
    fn a_mistyped_secret_in_a_section_is_not_echoed() {
        let text = "{\"username\":\"ngk\",\"mid\":{\"credentials\":[{\"value\":\"s3cret-1\"}]},\"colour\":1}\n";
        let rows = jsonl(text.as_bytes()).unwrap();
        let err = rows[0].user.as_ref().unwrap_err();
        assert!(
            err.contains("unknown field `colour`") && !err.contains("s3cret"),
            "{err}"
        );
        let text = "{\"username\":\"ngk\",\"mid\":{\"credentials\":[{\"value\":\"s3cret-1\"}]}}\n";
        let rows = jsonl(text.as_bytes()).unwrap();
        let user = rows[0].user.as_ref().unwrap();
        assert!(!format!("{user:?}").contains("s3cret"));
    }

    #[test]
    fn an_unknown_column_is_refused_before_any_row() {
        let err = csv("username,pasword\nada,x\n").err().unwrap();
        assert!(
            err.message.contains("line 1, column 2 `pasword`"),
            "{}",
            err.message
        );
    }

    #[test]
    fn jsonl_rows_name_their_line_column_and_field() {
        let text = "{\"username\":\"ada\",\"email\":\"a@x.io\"}\n\n{\"username\":\"bob\",\"pasword\":\"x\"}\nnot json\n";
        let rows = jsonl(text.as_bytes()).unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].key(), "ada");
        assert_eq!(rows[1].line, 3);
        let err = rows[1].user.as_ref().unwrap_err();
        assert!(err.contains("unknown field `pasword`"), "{err}");
        assert!(!err.contains("\"x\""), "no value is echoed: {err}");
        assert_eq!(rows[2].line, 4);
    }

    #[test]
    fn jsonl_lines_are_physical_lines() {
        let text = "\u{feff}\r\n{\"username\":\"a\"}\r\n\r\n{\"username\":\"b\"}\r{\"username\":\"c\"}\n{\"username\":\"d\"}";
        let rows = jsonl(text.as_bytes()).unwrap();
        assert_eq!(lines_of(&rows), [2, 4, 6]);
        assert_eq!(rows[0].key(), "a");
        assert!(rows[1].user.is_err(), "two objects on a line");
        assert_eq!(rows[2].key(), "d");
    }

    #[test]
    fn json_that_is_not_json_lines_is_refused_with_a_command_to_convert_it() {
        let err = jsonl(b"\n[\n  {\"username\": \"a\"},\n  {\"username\": \"b\"}\n]\n")
            .err()
            .unwrap();
        assert_eq!(
            err.message,
            "standard input is a JSON array, not JSON Lines (one object per line); convert it on the way in: ... | jq -c '.[]' | iam import ... -"
        );
        let err = jsonl_rows_from(
            Box::new(std::io::Cursor::new(b"[{\"username\": \"a\"}]".to_vec())),
            Some(Path::new("dir/users.jsonl")),
        )
        .err()
        .unwrap();
        assert_eq!(
            err.message,
            "dir/users.jsonl is a JSON array, not JSON Lines (one object per line); convert it: jq -c '.[]' dir/users.jsonl > dir/users.lines.jsonl, then import dir/users.lines.jsonl"
        );
        let err = jsonl(b"\r\n{\"username\": \"a\"},\r\n{\"username\": \"b\"}\r\n")
            .err()
            .unwrap();
        assert!(
            err.message
                .starts_with("standard input: line 2 is an object followed by a comma"),
            "{}",
            err.message
        );
        let err = jsonl(b"{\n  \"username\": \"a\"\n}\n").err().unwrap();
        assert!(
            err.message.contains("line 1 holds only `{`") && err.message.contains("jq -c ."),
            "{}",
            err.message
        );
        // The line looked at is still a row.
        let rows = jsonl(b"\n\n{\"username\":\"a\"}\n{\"username\":\"b\"}\n").unwrap();
        assert_eq!(lines_of(&rows), [3, 4]);
        assert_eq!(rows[0].key(), "a");
    }

    #[test]
    fn a_mistyped_password_is_not_echoed() {
        let text = "{\"username\":\"ada\",\"password\":987654321}\n";
        let rows = jsonl(text.as_bytes()).unwrap();
        let err = rows[0].user.as_ref().unwrap_err();
        assert!(
            err.contains("invalid type") && !err.contains("987654321"),
            "{err}"
        );
    }

    #[test]
    fn converted_files_go_beside_the_file() {
        assert_eq!(
            beside(Path::new("a/users.csv"), "utf8"),
            PathBuf::from("a/users.utf8.csv")
        );
        assert_eq!(
            beside(Path::new("users"), "utf8"),
            PathBuf::from("users.utf8")
        );
        assert_eq!(shell_word("my users.csv"), "'my users.csv'");
        assert_eq!(shell_word("it's"), r"'it'\''s'");
        assert_eq!(shell_word(""), "''");
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    fn read_csv(bytes: Vec<u8>) -> Option<Vec<Row>> {
        csv_rows(
            Box::new(std::io::Cursor::new(bytes)),
            &CsvOptions::default(),
        )
        .ok()
        .map(Iterator::collect)
    }

    fn read_jsonl(bytes: Vec<u8>) -> Vec<Row> {
        jsonl_rows(Box::new(std::io::Cursor::new(bytes)))
            .map(Iterator::collect)
            .unwrap_or_default()
    }

    /// A field: plain, or quoted with line endings (and quotes) inside.
    fn field() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-z0-9@.]{0,6}",
            "[a-z\r\n\"]{0,8}".prop_map(|s| format!("\"{}\"", s.replace('"', "\"\""))),
        ]
    }

    fn ending() -> impl Strategy<Value = &'static str> {
        prop_oneof![Just("\n"), Just("\r\n"), Just("\r")]
    }

    /// Physical lines in `text`: LF, CRLF and CR each end one.
    fn endings(text: &str) -> u64 {
        text.replace("\r\n", "\n").matches(['\r', '\n']).count() as u64
    }

    /// Each row on a later line than the one before (the first after `after`), and each
    /// reason non-empty.
    fn in_order_with_reasons(
        rows: &[Row],
        after: u64,
    ) -> Result<(), proptest::test_runner::TestCaseError> {
        let mut last = after;
        for row in rows {
            prop_assert!(row.line > last, "line {} after {last}", row.line);
            last = row.line;
            if let Err(reason) = &row.user {
                prop_assert!(!reason.is_empty());
            }
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Any bytes: the header is refused, or every row is a user or a reason, on a line after
        /// the header, each on a later line than the one before. Never a panic.
        #[test]
        fn csv_reader_takes_any_bytes(body in proptest::collection::vec(any::<u8>(), 0..400)) {
            let mut input = b"username,email,enabled,roles,attr.k\n".to_vec();
            input.extend(body);
            if let Some(rows) = read_csv(input) {
                in_order_with_reasons(&rows, 1)?;
            }
        }

        /// Records of fields with line endings inside quotes, blank lines between them, any
        /// line ending and maybe a byte-order mark: each row is numbered with the physical line
        /// its record starts on.
        #[test]
        fn csv_rows_are_numbered_with_the_line_they_start_on(
            bom in any::<bool>(),
            records in proptest::collection::vec(
                (0usize..3, ending(), (field(), field()), ending(), any::<bool>()),
                0..12,
            ),
        ) {
            let mut text = String::from(if bom { "\u{feff}" } else { "" });
            text.push_str("username,email\n");
            let mut expected = Vec::new();
            for (blank, blank_ending, (a, b), end, short) in records {
                text.push_str(&blank_ending.repeat(blank));
                // A record starting with an empty field would be a blank line.
                let a = if a.is_empty() { "x".to_owned() } else { a };
                expected.push(1 + endings(&text));
                text.push_str(&a);
                if !short {
                    text.push(',');
                    text.push_str(&b);
                }
                text.push_str(end);
            }
            let rows = read_csv(text.clone().into_bytes()).expect("the header is right");
            let lines: Vec<u64> = rows.iter().map(|r| r.line).collect();
            prop_assert_eq!(lines, expected, "{:?}", text);
        }

        /// Any text in CSV's alphabet, header included, with any options.
        #[test]
        fn csv_reader_takes_any_csv_like_text(
            text in "[a-z_.,;\"\n\r\t 0-9@-]{0,300}",
            delimiter in prop_oneof![Just(b','), Just(b';'), Just(b'\t')],
            map in proptest::collection::vec(("[a-z_ ]{0,6}", "[a-z_.]{0,8}"), 0..3),
            ignore in proptest::collection::vec("[a-z_]{0,6}", 0..2),
        ) {
            let options = CsvOptions { delimiter, map, ignore };
            if let Ok(rows) = csv_rows(Box::new(std::io::Cursor::new(text.into_bytes())), &options) {
                rows.for_each(drop);
            }
        }

        /// Any bytes as JSONL: one row per non-blank line at most, each a user or a reason, on
        /// a later line than the one before.
        #[test]
        fn jsonl_reader_takes_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let lines = String::from_utf8_lossy(&bytes).lines().filter(|l| !l.trim().is_empty()).count();
            let rows = read_jsonl(bytes);
            prop_assert!(rows.len() <= lines + 1);
            in_order_with_reasons(&rows, 0)?;
        }

        /// Rows built from a valid user, with any one character changed.
        #[test]
        fn jsonl_reader_takes_mutated_users(at in 0usize..120, with in any::<char>()) {
            let mut line: Vec<char> = r#"{"username":"ada","email":"a@x.io","enabled":true,"roles":["r"],"attributes":{"k":1},"password":"p"}"#.chars().collect();
            let at = at % line.len();
            line[at] = with;
            let text: String = line.into_iter().collect();
            let lines = text.lines().count();
            let rows = read_jsonl(text.into_bytes());
            prop_assert!(rows.len() <= lines, "{} rows from {lines} lines", rows.len());
        }

        /// Any bytes: the first that is not UTF-8 is where `std::str::from_utf8` says, whatever
        /// the buffer.
        #[test]
        fn the_utf8_scan_agrees_with_std(
            bytes in proptest::collection::vec(any::<u8>(), 0..200),
            capacity in 8usize..40,
        ) {
            let found = first_non_utf8(bytes.as_slice(), capacity).unwrap();
            match std::str::from_utf8(&bytes) {
                Ok(_) => prop_assert_eq!(found, None),
                Err(e) => {
                    let found = found.expect("found");
                    let before = String::from_utf8_lossy(&bytes[..e.valid_up_to()]).into_owned();
                    prop_assert_eq!(found.line, 1 + endings(&before));
                }
            }
        }
    }
}
