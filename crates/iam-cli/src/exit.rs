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
/// Interrupted by Ctrl-C (after finishing the requests in flight).
pub const INTERRUPTED: u8 = 130;

/// A failure, with its exit code and its cause chain.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub message: String,
    pub causes: Vec<String>,
    /// The facade's error kind, when there is one (for `--output json`).
    pub kind: Option<ErrorKind>,
    pub status: Option<u16>,
    pub field: Option<String>,
    /// On a 409: the existing user's id, when the vendor's lookup found exactly one.
    pub existing_id: Option<String>,
}

impl Failure {
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(USAGE, message)
    }

    pub fn new(code: u8, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            causes: Vec::new(),
            kind: None,
            status: None,
            field: None,
            existing_id: None,
        }
    }

    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(self.code)
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "error": {
                "kind": self.kind.map(|k| k.as_str()),
                "message": self.message,
                "status": self.status,
                "field": self.field,
                "existing_id": self.existing_id,
                "causes": self.causes,
                "exit_code": self.code,
            }
        })
    }
}

/// The exit code an error of the facade means, from its disposition: the outcome may be
/// unknown, or nothing reached the provider (a transport failure): 3; refused before anything
/// was sent: 2; anything the provider answered: 1.
pub fn code_for(error: &iam_clients::Error) -> u8 {
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
            kind: Some(error.kind()),
            status: error.status(),
            field: error.field().map(str::to_owned),
            existing_id: None,
        }
    }
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
