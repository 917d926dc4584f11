//! Exit codes and the one error type of the command line.

use std::fmt;
use std::process::ExitCode;

use iam_clients::{Disposition, ErrorKind};

/// Everything done.
pub const OK: u8 = 0;
/// The provider refused (or some rows failed).
pub const REFUSED: u8 = 1;
/// A usage or input error: nothing was sent.
pub const USAGE: u8 = 2;
/// A transport failure, or a request whose outcome is unknown.
pub const UNKNOWN: u8 = 3;
/// `iam import` stopped after sending rows (the journal could not be written, or the file
/// changed under its journal): not 2, since something was sent.
pub const STOPPED: u8 = 4;
/// The provider refused the credentials (401) and no renewal could fix it: `iam import` stops
/// at once (rows not sent stay unsent), `iam create-user` says which credentials were refused.
pub const CREDENTIALS: u8 = 5;
/// Interrupted by Ctrl-C (after finishing the requests in flight).
pub const INTERRUPTED: u8 = 130;

/// A failure, with its exit code and its cause chain.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub message: String,
    pub causes: Vec<String>,
    /// A stable code for scripts (`--output json`'s `error.kind`): the facade's
    /// [`ErrorKind::as_str`], or one of the command line's own (see [`KINDS`]).
    pub kind: &'static str,
    pub status: Option<u16>,
    pub field: Option<String>,
    /// On a 409: the existing user's id, when the vendor's lookup found exactly one.
    pub existing_id: Option<String>,
    /// `--output json` printed it already (in the import's summary): only the line for people
    /// on stderr is left to print.
    pub summarised: bool,
}

/// The command line's own error kinds (beside the facade's), with what each means. Stable:
/// scripts match on them.
pub const KINDS: &[(&str, &str)] = &[
    ("usage", "a flag or argument is wrong (exit 2)"),
    (
        "input",
        "the input file cannot be imported as given: unreadable, its format, header or encoding (exit 2)",
    ),
    (
        "journal",
        "the journal cannot be read or is another import's (exit 2)",
    ),
    (
        "journal_locked",
        "another import is running with the same journal (exit 2)",
    ),
    (
        "stopped",
        "the import stopped after sending rows: the journal could not be written, or the file changed under it (exit 4)",
    ),
    (
        "failed",
        "something else failed (the demo's simulator, a file it writes) (exit 1)",
    ),
];

impl Failure {
    /// A wrong flag or argument: exit 2, nothing sent.
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(USAGE, message)
    }

    /// An input file that cannot be imported as given: exit 2, nothing sent.
    pub fn input(message: impl Into<String>) -> Self {
        Self::usage(message).with_kind("input")
    }

    /// A journal that cannot be used: exit 2, nothing sent.
    pub fn journal(message: impl Into<String>) -> Self {
        Self::usage(message).with_kind("journal")
    }

    /// A failure with exit code `code`; its kind follows from the code (`usage` for 2,
    /// `stopped` for 4, `failed` otherwise) until [`Failure::with_kind`] says otherwise.
    pub fn new(code: u8, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            causes: Vec::new(),
            kind: match code {
                USAGE => "usage",
                STOPPED => "stopped",
                _ => "failed",
            },
            status: None,
            field: None,
            existing_id: None,
            summarised: false,
        }
    }

    /// The same failure with another stable kind (one of [`KINDS`] or the facade's).
    pub fn with_kind(mut self, kind: &'static str) -> Self {
        self.kind = kind;
        self
    }

    /// The same failure, naming the field, flag or column at fault.
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(self.code)
    }

    /// The field the failure is about: the one set, else the one its message names first
    /// ([`named_field`]).
    pub fn field(&self) -> Option<String> {
        self.field
            .clone()
            .or_else(|| named_field(&self.message).map(str::to_owned))
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "error": {
                "kind": self.kind,
                "message": self.message,
                "status": self.status,
                "field": self.field(),
                "existing_id": self.existing_id,
                "causes": self.causes,
                "exit_code": self.code,
            }
        })
    }
}

/// The exit code an error of the facade means: the credentials refused (401 after any
/// renewal, or the token endpoint's refusal): 5; else from its disposition: the outcome may be
/// unknown, or nothing reached the provider (a transport failure): 3; refused before anything
/// was sent: 2; anything else the provider answered: 1.
pub fn code_for(error: &iam_clients::Error) -> u8 {
    if error.kind() == ErrorKind::Unauthorized {
        return CREDENTIALS;
    }
    match error.disposition() {
        Disposition::Unknown => UNKNOWN,
        Disposition::NothingCreated { .. } if error.kind() == ErrorKind::Transport => UNKNOWN,
        _ if error.is_refused_before_sending() => USAGE,
        _ => REFUSED,
    }
}

impl From<iam_clients::Error> for Failure {
    fn from(error: iam_clients::Error) -> Self {
        let mut causes = Vec::new();
        let mut source = std::error::Error::source(&error);
        while let Some(cause) = source {
            causes.push(cause.to_string());
            source = cause.source();
        }
        Self {
            code: code_for(&error),
            message: error.to_string(),
            causes,
            kind: error.kind().as_str(),
            status: error.status(),
            field: error.field().map(str::to_owned),
            existing_id: None,
            summarised: false,
        }
    }
}

/// The flag or column an error message names, for `--output json`'s `error.field` when the
/// failure did not set one: a message that starts with a flag (`--token-file PATH: ...`,
/// `--set NAME: ...`) names the flag; one that names a column (`line 1, column 2 `pasword`:
/// ...`) names the column. `None` when it names neither.
pub fn named_field(message: &str) -> Option<&str> {
    let first = message.split_whitespace().next()?;
    if let Some(flag) = first.strip_prefix("--").filter(|f| !f.is_empty()) {
        let flag = flag.trim_end_matches([':', ',']);
        let flag = flag.split_once('=').map_or(flag, |(flag, _)| flag);
        return Some(&first[..flag.len() + 2]);
    }
    let (_, after) = message.split_once("column ")?;
    let (number, rest) = after.split_once(' ')?;
    if !number.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let name = rest.strip_prefix('`')?;
    name.split_once('`')
        .map(|(name, _)| name)
        .filter(|n| !n.is_empty())
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "error: {}", self.message)?;
        for cause in &self.causes {
            write!(f, "\n  caused by: {cause}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_field_a_message_names() {
        let cases = [
            ("--token-file /x: No such file", Some("--token-file")),
            (
                "--set colour: entrust has no property `colour`",
                Some("--set"),
            ),
            ("--attribute `a`: expected KEY=VALUE", Some("--attribute")),
            ("--delimiter=x: one character", Some("--delimiter")),
            (
                "line 1, column 2 `pasword`: unknown column",
                Some("pasword"),
            ),
            (
                "line 3: column 6 `enabled`: `maybe` is not",
                Some("enabled"),
            ),
            ("line 1: columns 2 and 5 are both `email`", None),
            ("journal j: it records an import to `x`", None),
            ("-- nothing", None),
            ("", None),
        ];
        for (message, expected) in cases {
            assert_eq!(named_field(message), expected, "{message}");
        }
    }

    #[test]
    fn kinds_are_stable_and_distinct() {
        let mut names: Vec<&str> = KINDS.iter().map(|(k, _)| *k).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), KINDS.len());
        assert_eq!(Failure::new(USAGE, "x").kind, "usage");
        assert_eq!(Failure::new(STOPPED, "x").kind, "stopped");
        assert_eq!(Failure::input("x").code, USAGE);
    }
}
