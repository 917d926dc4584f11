//! Reading rows from CSV or JSONL, one at a time (the file is never held in memory).

use std::collections::BTreeMap;
use std::io::{BufRead, Read};

use iam_clients::{NewUser, Vendor};

use crate::create::attribute_value;
use crate::exit::Failure;

/// One row: where it is, and the user or why there is none.
pub struct Row {
    /// The line the row starts on (1-based; the CSV header is line 1).
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

const COLUMNS: &[&str] = &[
    "username",
    "email",
    "first_name",
    "last_name",
    "phone",
    "mobile",
    "password",
    "enabled",
    "roles",
    "groups",
];

/// A column `entrust.NAME`, `mid.NAME` or `nexway.NAME`: the vendor and the property.
fn vendor_column(name: &str) -> Option<(Vendor, &str)> {
    let (vendor, property) = name.split_once('.')?;
    Some((Vendor::from_name(vendor)?, property))
}

/// A CSV reader: checks the header, then yields rows.
pub fn csv_rows(input: Box<dyn Read + Send>) -> Result<impl Iterator<Item = Row> + Send, Failure> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(false)
        .from_reader(input);
    let headers = reader
        .headers()
        .map_err(|e| Failure::usage(format!("line 1 (the header row): {e}")))?
        .clone();
    for (i, name) in headers.iter().enumerate() {
        if let Some((vendor, property)) = vendor_column(name) {
            if !vendor.has_property(property) {
                return Err(Failure::usage(format!(
                    "line 1, column {} `{name}`: {}",
                    i + 1,
                    vendor.unknown_property(property)
                )));
            }
            continue;
        }
        if !COLUMNS.contains(&name) && !name.starts_with("attr.") {
            return Err(Failure::usage(format!(
                "line 1, column {} `{name}`: unknown column; expected {}, attr.KEY, or a vendor's own property as entrust.NAME, mid.NAME or nexway.NAME",
                i + 1,
                COLUMNS.join(", ")
            )));
        }
        if name == "attr." {
            return Err(Failure::usage(format!(
                "line 1, column {}: `attr.` needs a key (attr.KEY)",
                i + 1
            )));
        }
    }
    if headers.iter().filter(|h| !h.is_empty()).count() == 0 {
        return Err(Failure::usage("line 1: the header row is empty"));
    }
    let mut records = reader.into_records();
    Ok(std::iter::from_fn(move || {
        let record = records.next()?;
        Some(match record {
            Ok(record) => {
                let line = record.position().map_or(0, |p| p.line());
                Row {
                    line,
                    user: csv_user(&headers, &record),
                }
            }
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                let reason = match e.kind() {
                    csv::ErrorKind::UnequalLengths {
                        expected_len, len, ..
                    } => {
                        format!("{len} fields where the header has {expected_len}")
                    }
                    _ => e.to_string(),
                };
                Row {
                    line,
                    user: Err(reason),
                }
            }
        })
    }))
}

fn csv_user(headers: &csv::StringRecord, record: &csv::StringRecord) -> Result<NewUser, String> {
    let mut user = NewUser::default();
    let mut attributes = BTreeMap::new();
    let list = |v: &str| {
        v.split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    };
    for (i, (name, value)) in headers.iter().zip(record.iter()).enumerate() {
        if value.is_empty() {
            continue;
        }
        let text = Some(value.to_owned());
        match name {
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

/// A JSONL reader: one `NewUser` per non-blank line.
pub fn jsonl_rows(input: Box<dyn BufRead + Send>) -> impl Iterator<Item = Row> + Send {
    let mut lines = input.lines();
    let mut number = 0u64;
    std::iter::from_fn(move || {
        loop {
            number += 1;
            let line = match lines.next()? {
                Ok(line) => line,
                Err(e) => {
                    return Some(Row {
                        line: number,
                        user: Err(format!("cannot read the line: {e}")),
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
    use super::*;

    fn csv(text: &str) -> Result<Vec<Row>, Failure> {
        csv_rows(Box::new(std::io::Cursor::new(text.as_bytes().to_vec()))).map(Iterator::collect)
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
        let rows: Vec<Row> =
            jsonl_rows(Box::new(std::io::Cursor::new(text.as_bytes().to_vec()))).collect();
        let err = rows[0].user.as_ref().unwrap_err();
        assert!(
            err.contains("unknown field `colour`") && !err.contains("s3cret"),
            "{err}"
        );
        let text = "{\"username\":\"ngk\",\"mid\":{\"credentials\":[{\"value\":\"s3cret-1\"}]}}\n";
        let rows: Vec<Row> =
            jsonl_rows(Box::new(std::io::Cursor::new(text.as_bytes().to_vec()))).collect();
        let user = rows[0].user.as_ref().unwrap();
        assert!(!format!("{user:?}").contains("s3cret"));
    }

    #[test]
    fn an_unknown_column_is_refused_before_any_row() {
        let err = csv("username,pasword\nada,x\n").err().unwrap();
        assert!(
            err.message.contains("column 2 `pasword`"),
            "{}",
            err.message
        );
    }

    #[test]
    fn jsonl_rows_name_their_line_column_and_field() {
        let text = "{\"username\":\"ada\",\"email\":\"a@x.io\"}\n\n{\"username\":\"bob\",\"pasword\":\"x\"}\nnot json\n";
        let rows: Vec<Row> =
            jsonl_rows(Box::new(std::io::Cursor::new(text.as_bytes().to_vec()))).collect();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].key(), "ada");
        assert_eq!(rows[1].line, 3);
        let err = rows[1].user.as_ref().unwrap_err();
        assert!(err.contains("unknown field `pasword`"), "{err}");
        assert!(!err.contains("\"x\""), "no value is echoed: {err}");
        assert_eq!(rows[2].line, 4);
    }

    #[test]
    fn a_mistyped_password_is_not_echoed() {
        let text = "{\"username\":\"ada\",\"password\":987654321}\n";
        let rows: Vec<Row> =
            jsonl_rows(Box::new(std::io::Cursor::new(text.as_bytes().to_vec()))).collect();
        let err = rows[0].user.as_ref().unwrap_err();
        assert!(
            err.contains("invalid type") && !err.contains("987654321"),
            "{err}"
        );
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    fn read_csv(bytes: Vec<u8>) -> Option<Vec<Row>> {
        csv_rows(Box::new(std::io::Cursor::new(bytes)))
            .ok()
            .map(Iterator::collect)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Any bytes: the header is refused, or every row is a user or a reason, on a line after
        /// the header, in order (a lone `\r` ends a record but not a line: lines may repeat).
        /// Never a panic.
        #[test]
        fn csv_reader_takes_any_bytes(body in proptest::collection::vec(any::<u8>(), 0..400)) {
            let mut input = b"username,email,enabled,roles,attr.k\n".to_vec();
            input.extend(body);
            if let Some(rows) = read_csv(input) {
                let mut last = 1;
                for row in rows {
                    prop_assert!(row.line >= last || row.line == 0, "line {} after {last}", row.line);
                    last = row.line.max(last);
                    if let Err(reason) = &row.user {
                        prop_assert!(!reason.is_empty());
                    }
                }
            }
        }

        /// Any text in CSV's alphabet, header included.
        #[test]
        fn csv_reader_takes_any_csv_like_text(text in "[a-z_.,;\"\n 0-9@-]{0,300}") {
            let _ = read_csv(text.into_bytes());
        }

        /// Any bytes as JSONL: one row per non-blank line, each a user or a reason naming a column.
        #[test]
        fn jsonl_reader_takes_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let lines = String::from_utf8_lossy(&bytes).lines().filter(|l| !l.trim().is_empty()).count();
            let rows: Vec<Row> = jsonl_rows(Box::new(std::io::Cursor::new(bytes))).collect();
            prop_assert!(rows.len() <= lines + 1);
            for row in rows {
                if let Err(reason) = &row.user {
                    prop_assert!(!reason.is_empty());
                }
            }
        }

        /// Rows built from a valid user, with any one character changed.
        #[test]
        fn jsonl_reader_takes_mutated_users(at in 0usize..120, with in any::<char>()) {
            let mut line: Vec<char> = r#"{"username":"ada","email":"a@x.io","enabled":true,"roles":["r"],"attributes":{"k":1},"password":"p"}"#.chars().collect();
            let at = at % line.len();
            line[at] = with;
            let text: String = line.into_iter().collect();
            let lines = text.lines().count();
            let rows: Vec<Row> = jsonl_rows(Box::new(std::io::Cursor::new(text.into_bytes()))).collect();
            prop_assert!(rows.len() <= lines, "{} rows from {lines} lines", rows.len());
        }
    }
}
