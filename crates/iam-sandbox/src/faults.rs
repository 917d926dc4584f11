//! Faults on demand, per route, deterministic.
//!
//! A fault is set from a test through [`crate::Sandbox::set_fault`] or from outside through
//! `POST /_sandbox/faults`. Its JSON form:
//!
//! ```json
//! {"route": "nexway", "latency_ms": 200, "action": {"kind": "status", "status": 503, "retry_after": 2}, "times": 3}
//! ```
//!
//! `times` applies the fault to the next N requests of the route, after which the route answers
//! normally again ("fail the next N, then succeed"); without it the fault stays until cleared.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::Route;

/// What to do to the requests of one route.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    /// Wait this long before anything else (milliseconds).
    #[serde(default)]
    pub latency_ms: u64,
    /// What to answer.
    #[serde(default)]
    pub action: Action,
    /// Apply to the next N requests only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u32>,
}

impl Fault {
    /// A fault that only adds latency.
    pub fn latency(ms: u64) -> Self {
        Self {
            latency_ms: ms,
            ..Self::default()
        }
    }

    /// A fault with this action.
    pub fn action(action: Action) -> Self {
        Self {
            action,
            ..Self::default()
        }
    }

    /// A fault answering `status` with the default body (HTML).
    pub fn status(status: u16) -> Self {
        Self::action(Action::Status {
            status,
            retry_after: None,
            body: ErrorBody::default(),
        })
    }

    /// Applies only to the next `n` requests.
    pub fn times(mut self, n: u32) -> Self {
        self.times = Some(n);
        self
    }

    /// Adds a `Retry-After: secs` header (to a [`Action::Status`] fault).
    pub fn retry_after(mut self, secs: u64) -> Self {
        if let Action::Status { retry_after, .. } = &mut self.action {
            *retry_after = Some(secs);
        }
        self
    }

    /// Adds latency.
    pub fn with_latency(mut self, ms: u64) -> Self {
        self.latency_ms = ms;
        self
    }

    /// Why the fault cannot be used, if it cannot.
    pub fn check(&self) -> Result<(), String> {
        match &self.action {
            Action::Status { status, .. } if !(100..=599).contains(status) => Err(format!(
                "status {status} is not an HTTP status (100 to 599)"
            )),
            Action::LargeBody { bytes } if *bytes > 256 << 20 => Err(format!(
                "large-body of {bytes} bytes is over the 256 MiB limit"
            )),
            _ if self.times == Some(0) => Err("times must be at least 1".to_owned()),
            _ => Ok(()),
        }
    }
}

/// What a faulty route answers. Actions after "read" create the user first, as a server that
/// applied the request but failed to answer would.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Action {
    /// Answer normally.
    #[default]
    None,
    /// Answer this status without creating anything (e.g. 429 with `Retry-After`, 500 with an
    /// HTML body, 503).
    Status {
        /// The status.
        status: u16,
        /// A `Retry-After` header, in seconds.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_after: Option<u64>,
        /// The body.
        #[serde(default)]
        body: ErrorBody,
    },
    /// Create the user, answer the success status with JSON cut in half (still a complete HTTP
    /// message).
    MalformedJson,
    /// Create the user, announce the full `Content-Length`, send half the body and close.
    TruncatedBody,
    /// Close the connection without reading the request or creating anything.
    DropBeforeRead,
    /// Read the request, create the user, then close the connection without answering.
    DropAfterRead,
    /// Create the user and answer the success status with an empty body.
    EmptyBody,
    /// Create the user and answer the usual JSON with a `padding` member of this many bytes.
    LargeBody {
        /// The padding's size.
        #[serde(default = "default_large_body")]
        bytes: usize,
    },
}

fn default_large_body() -> usize {
    8 << 20
}

/// The body of a [`Action::Status`] answer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorBody {
    /// An HTML page, as a proxy in front of the provider would send.
    #[default]
    Html,
    /// The provider's JSON error body.
    Json,
    /// No body.
    Empty,
}

/// The faults in force, by route.
#[derive(Debug, Default)]
pub(crate) struct FaultTable(BTreeMap<Route, Fault>);

impl FaultTable {
    pub(crate) fn set(&mut self, route: Route, fault: Fault) {
        self.0.insert(route, fault);
    }

    pub(crate) fn clear(&mut self) {
        self.0.clear();
    }

    pub(crate) fn all(&self) -> BTreeMap<Route, Fault> {
        self.0.clone()
    }

    /// The fault for this request of `route`, counting it against `times`.
    pub(crate) fn take(&mut self, route: Route) -> Option<Fault> {
        let fault = self.0.get_mut(&route)?;
        let taken = fault.clone();
        if let Some(left) = &mut fault.times {
            *left -= 1;
            if *left == 0 {
                self.0.remove(&route);
            }
        }
        Some(taken)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_counts_down_then_the_route_is_healthy() {
        let mut table = FaultTable::default();
        table.set(Route::Nexway, Fault::status(503).times(2));
        assert!(table.take(Route::Nexway).is_some());
        assert!(table.take(Route::Nexway).is_some());
        assert!(table.take(Route::Nexway).is_none());
        assert!(table.take(Route::Entrust).is_none());
    }

    #[test]
    fn json_form_and_checks() {
        let f: Fault = serde_json::from_str(
            r#"{"latency_ms": 5, "action": {"kind": "status", "status": 429, "retry_after": 3}, "times": 1}"#,
        )
        .unwrap();
        assert_eq!(
            f,
            Fault::status(429).retry_after(3).times(1).with_latency(5)
        );
        assert!(Fault::status(1000).check().unwrap_err().contains("1000"));
        assert!(Fault::status(503).times(0).check().is_err());
        let err = serde_json::from_str::<Fault>(r#"{"action": {"kind": "explode"}}"#).unwrap_err();
        assert!(err.to_string().contains("explode"), "{err}");
    }
}
