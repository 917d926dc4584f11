//! Sending one create request: the token, the tracing span, the classification of every
//! possible answer into [`CreatedUser`] or [`Error`], and the retries that cannot duplicate a user.

use std::future::Future;
use std::time::{Duration, Instant};

use iam_core::AuthError;
use progenitor_client::ResponseValue;
use tracing::Instrument;

use crate::connection::Common;
use crate::{Disposition, Error, ErrorKind, ProviderKind};

/// What a provider's documented error body says, in words.
pub(crate) trait ErrorBody {
    fn message(&self) -> Option<String>;
}

impl ErrorBody for () {
    fn message(&self) -> Option<String> {
        None
    }
}

/// The outcome the provider-specific code turns into a [`crate::CreatedUser`]: the status, and the
/// answer when it could be read.
pub(crate) struct Created<T> {
    pub status: u16,
    pub answer: Option<T>,
    pub attempts: u32,
    /// When the answer did not decode as the spec's type: the `id` its JSON holds, if any.
    pub unread_id: Option<String>,
}

impl<T> Created<T> {
    /// The created user's id: the typed answer's (through `of`), else the one read from an
    /// answer that did not decode; never a blank one.
    pub fn id(&self, of: impl Fn(&T) -> Option<&String>) -> Option<String> {
        self.answer
            .as_ref()
            .and_then(of)
            .filter(|id| !id.trim().is_empty())
            .cloned()
            .or_else(|| self.unread_id.clone())
    }
}

enum Failure {
    /// A 2xx whose body could not be read as the spec's type: the user was created; the body's
    /// `id`, when it has one.
    CreatedUnreadable(u16, Option<String>),
    Error(Error),
}

/// Sends `call` until it succeeds or fails for good, as `policy` allows.
pub(crate) async fn send<T, E, F, Fut>(
    common: &Common,
    provider: ProviderKind,
    operation: &'static str,
    secrets: &[String],
    mut call: F,
) -> Result<Created<T>, Error>
where
    E: ErrorBody,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<ResponseValue<T>, progenitor_client::Error<E>>>,
{
    let policy = &common.retry;
    let started = Instant::now();
    let mut attempts = 0u32;
    let mut retries = 0u32;
    let mut refreshed = false;
    loop {
        // The token first: a token that cannot be had is reported as what it is, not as the
        // string progenitor would make of the pre-request hook's error.
        let token = common
            .auth
            .source()
            .token()
            .await
            .map_err(|e| auth_error(provider, e).with_attempts(attempts))?;
        let mut redact: Vec<&str> = secrets.iter().map(String::as_str).collect();
        redact.push(token.expose_secret());

        attempts += 1;
        let span = tracing::info_span!(
            "iam.request",
            provider = %provider,
            operation,
            attempt = attempts,
            status = tracing::field::Empty,
            latency_ms = tracing::field::Empty,
            outcome = tracing::field::Empty,
        );
        let sent = Instant::now();
        let (result, status) = iam_core::observe::with_status(call())
            .instrument(span.clone())
            .await;
        span.record("latency_ms", sent.elapsed().as_millis() as u64);
        if let Some(status) = status {
            span.record("status", status);
        }
        let failure = match result {
            Ok(value) => {
                span.record("outcome", "created");
                let status = value.status().as_u16();
                return Ok(Created {
                    status,
                    answer: Some(value.into_inner()),
                    attempts,
                    unread_id: None,
                });
            }
            Err(e) => classify(provider, e, status, &redact).await,
        };
        let error = match failure {
            Failure::CreatedUnreadable(status, unread_id) => {
                span.record("outcome", "created, answer unreadable");
                return Ok(Created {
                    status,
                    answer: None,
                    attempts,
                    unread_id,
                });
            }
            Failure::Error(e) => e,
        };
        span.record("outcome", error.kind().as_str());

        // 401: the token may have expired or been revoked; one fresh token, once.
        if error.status() == Some(401) && !refreshed && common.auth.source().invalidate() {
            refreshed = true;
            tracing::info!(parent: &span, "401: fetching a new token and sending once more");
            continue;
        }
        // 429 and 503 say nothing was done: wait as asked, within the policy.
        if let Disposition::SendAgainAfter(after) = error.disposition()
            && retries + 1 < policy.max_attempts
        {
            let delay = after.unwrap_or(policy.default_delay);
            if delay <= policy.max_delay && started.elapsed() + delay <= policy.max_total {
                retries += 1;
                tracing::info!(parent: &span, delay_ms = delay.as_millis() as u64, "waiting, then sending again");
                tokio::time::sleep(delay).await;
                continue;
            }
        }
        return Err(error.with_attempts(attempts));
    }
}

fn auth_error(provider: ProviderKind, e: AuthError) -> Error {
    let kind = match &e {
        AuthError::Refused(_) | AuthError::InvalidToken => ErrorKind::Unauthorized,
        AuthError::Unavailable(_) => ErrorKind::Transport,
        AuthError::Insecure(_) => ErrorKind::Config,
        _ => ErrorKind::Unauthorized,
    };
    Error::new(kind, Some(provider), e.to_string()).with_source(e)
}

/// The kind a provider's status means.
fn kind_of_status(status: u16) -> ErrorKind {
    match status {
        400 | 422 => ErrorKind::InvalidInput,
        401 => ErrorKind::Unauthorized,
        403 => ErrorKind::Forbidden,
        404 => ErrorKind::NotFound,
        409 => ErrorKind::Conflict,
        429 => ErrorKind::RateLimited,
        500..=599 => ErrorKind::ServerError,
        _ => ErrorKind::UnexpectedAnswer,
    }
}

/// `Retry-After` in seconds (an HTTP date is not understood: the policy's default wait applies).
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// The rate limit (requests per second) an answer's headers publish, the tightest if several:
/// `RateLimit-Policy` items (the IETF draft "RateLimit header fields for HTTP": `100;w=60` in
/// its early revisions, `"name";q=100;w=60` in later ones; `w` defaults to 1 s), or Kong's
/// `X-RateLimit-Limit-Second` / `-Minute` / `-Hour`. Anything unreadable is ignored, and so is a
/// rate that is not a finite positive number (`inf` parses as a float).
fn rate_limit(headers: &reqwest::header::HeaderMap) -> Option<f64> {
    let mut rates = Vec::new();
    for value in headers.get_all("ratelimit-policy") {
        let Ok(text) = value.to_str() else { continue };
        for item in text.split(',') {
            let mut quota = None;
            let mut window = 1.0_f64;
            for (i, part) in item.split(';').map(str::trim).enumerate() {
                match part.split_once('=') {
                    Some(("q", q)) => quota = q.trim().parse::<f64>().ok(),
                    Some(("w", w)) => window = w.trim().parse::<f64>().unwrap_or(window),
                    None if i == 0 => quota = part.parse::<f64>().ok(),
                    _ => {}
                }
            }
            if let Some(quota) = quota.filter(|q| *q > 0.0)
                && window > 0.0
                && (quota / window).is_finite()
            {
                rates.push(quota / window);
            }
        }
    }
    for (name, secs) in [
        ("x-ratelimit-limit-second", 1.0),
        ("x-ratelimit-limit-minute", 60.0),
        ("x-ratelimit-limit-hour", 3600.0),
    ] {
        if let Some(limit) = headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|l| *l > 0.0 && l.is_finite())
        {
            rates.push(limit / secs);
        }
    }
    rates.into_iter().reduce(f64::min)
}

/// At most 200 characters of a body, whitespace folded, secrets replaced by `***`.
fn excerpt(bytes: &[u8], redact: &[&str]) -> String {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(4096)]);
    let mut text: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    for secret in redact.iter().filter(|s| s.len() >= 3) {
        text = text.replace(secret, "***");
    }
    match text.char_indices().nth(200) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

async fn classify<E: ErrorBody>(
    provider: ProviderKind,
    error: progenitor_client::Error<E>,
    observed: Option<u16>,
    redact: &[&str],
) -> Failure {
    use progenitor_client::Error as P;
    let by_status =
        |status: u16| Error::new(kind_of_status(status), Some(provider), "").with_status(status);
    match error {
        P::ErrorResponse(value) => {
            let status = value.status().as_u16();
            let after = retry_after(value.headers());
            let published = rate_limit(value.headers());
            let message = value.into_inner().message();
            Failure::Error(
                by_status(status)
                    .with_provider_message(message)
                    .with_retry_after(after)
                    .with_rate_limit(published),
            )
        }
        P::UnexpectedResponse(response) => {
            let status = response.status().as_u16();
            if (200..300).contains(&status) {
                let body = read_up_to(response, 1 << 20).await;
                return Failure::CreatedUnreadable(status, id_in(&body));
            }
            let after = retry_after(response.headers());
            let published = rate_limit(response.headers());
            let body = read_up_to(response, 4096).await;
            let kind = kind_of_status(status);
            let message = if kind == ErrorKind::UnexpectedAnswer {
                "an answer the provider does not document"
            } else {
                "an answer the provider does not document for this status"
            };
            Failure::Error(
                Error::new(kind, Some(provider), message)
                    .with_status(status)
                    .with_retry_after(after)
                    .with_rate_limit(published)
                    .with_excerpt(Some(excerpt(&body, redact))),
            )
        }
        P::CommunicationError(e) => Failure::Error(transport(provider, e)),
        P::ResponseBodyError(e) => match observed {
            Some(status @ 200..=299) => Failure::CreatedUnreadable(status, None),
            Some(status) => Failure::Error(
                by_status(status)
                    .with_excerpt(Some("(the answer's body could not be read)".into()))
                    .with_source(e),
            ),
            None => Failure::Error(transport(provider, e)),
        },
        P::InvalidResponsePayload(bytes, e) => match observed {
            Some(status @ 200..=299) => Failure::CreatedUnreadable(status, id_in(&bytes)),
            Some(status) => Failure::Error(
                by_status(status)
                    .with_excerpt(Some(excerpt(&bytes, redact)))
                    .with_source(e),
            ),
            None => Failure::Error(
                Error::new(
                    ErrorKind::OutcomeUnknown,
                    Some(provider),
                    "an answer that could not be read",
                )
                .with_source(e),
            ),
        },
        P::InvalidRequest(message) => Failure::Error(Error::new(
            ErrorKind::Config,
            Some(provider),
            format!("the request could not be built: {message}"),
        )),
        P::Custom(message) => {
            Failure::Error(Error::new(ErrorKind::Config, Some(provider), message))
        }
        P::InvalidUpgrade(e) => Failure::Error(
            Error::new(
                ErrorKind::UnexpectedAnswer,
                Some(provider),
                "an unexpected connection upgrade",
            )
            .with_source(e),
        ),
    }
}

/// A transport failure: `Transport` when nothing was sent (connecting failed), else
/// `OutcomeUnknown` (the request may have reached the provider and been applied).
fn transport(provider: ProviderKind, e: reqwest::Error) -> Error {
    let e = e.without_url();
    if e.is_connect() || e.is_builder() {
        let what = if e.is_timeout() {
            "could not connect in time"
        } else {
            "could not connect"
        };
        Error::new(
            ErrorKind::Transport,
            Some(provider),
            format!("{what}; nothing was sent"),
        )
        .with_source(e)
    } else if e.is_timeout() {
        Error::new(
            ErrorKind::OutcomeUnknown,
            Some(provider),
            "timed out after the request was sent; the user may have been created",
        )
        .with_source(e)
    } else {
        Error::new(
            ErrorKind::OutcomeUnknown,
            Some(provider),
            "the connection failed after the request was sent; the user may have been created",
        )
        .with_source(e)
    }
}

/// The created user's `id` in a success answer that did not decode as the spec's type: a
/// string, or a number written as one; nothing for a blank id, an answer that is not a JSON
/// object, or one without `id`.
pub(crate) fn id_in(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    match value.get("id")? {
        serde_json::Value::String(id) if !id.trim().is_empty() => Some(id.clone()),
        serde_json::Value::Number(id) => Some(id.to_string()),
        _ => None,
    }
}

/// Up to `limit` bytes of an answer's body (a little more if a chunk crosses it).
async fn read_up_to(mut response: reqwest::Response, limit: usize) -> Vec<u8> {
    let mut body = Vec::new();
    while body.len() < limit {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            _ => break,
        }
    }
    body
}

#[cfg(test)]
mod tests {

    #[test]
    fn published_rate_limits_are_read_when_present() {
        use reqwest::header::{HeaderMap, HeaderValue};
        type Case = (&'static [(&'static str, &'static str)], Option<f64>);
        let cases: &[Case] = &[
            (&[], None),
            (&[("ratelimit-policy", "100;w=60")], Some(100.0 / 60.0)),
            (
                &[("ratelimit-policy", "10;w=1, 1000;w=3600")],
                Some(1000.0 / 3600.0),
            ),
            (&[("ratelimit-policy", "\"default\";q=20;w=1")], Some(20.0)),
            (&[("ratelimit-policy", "\"burst\";q=5")], Some(5.0)),
            (&[("x-ratelimit-limit-second", "20")], Some(20.0)),
            (
                &[
                    ("x-ratelimit-limit-minute", "600"),
                    ("x-ratelimit-limit-second", "20"),
                ],
                Some(10.0),
            ),
            (
                &[
                    ("ratelimit-policy", "garbage;w=x"),
                    ("ratelimit-policy", "0;w=1"),
                ],
                None,
            ),
            (&[("x-ratelimit-limit", "5000")], None),
            // Not a rate: infinite, or a window so small the rate is (Rust parses "inf").
            (&[("ratelimit-policy", "q=inf")], None),
            (&[("ratelimit-policy", "100;w=1e-320")], None),
            (&[("x-ratelimit-limit-second", "inf")], None),
            (
                &[
                    ("x-ratelimit-limit-second", "infinity"),
                    ("ratelimit-policy", "7"),
                ],
                Some(7.0),
            ),
        ];
        for (headers, expected) in cases {
            let mut map = HeaderMap::new();
            for (name, value) in *headers {
                map.append(*name, HeaderValue::from_str(value).unwrap());
            }
            let got = rate_limit(&map);
            assert!(
                match (got, expected) {
                    (Some(a), Some(b)) => (a - b).abs() < 1e-9,
                    (None, None) => true,
                    _ => false,
                },
                "{headers:?}: {got:?}"
            );
        }
    }

    use super::*;

    #[test]
    fn excerpts_are_short_folded_and_redacted() {
        let body = b"<html>\n  <body>password hunter22 and token tok-abc</body></html>";
        let text = excerpt(body, &["hunter22", "tok-abc"]);
        assert_eq!(
            text,
            "<html> <body>password *** and token ***</body></html>"
        );
        let long = "x".repeat(1000);
        assert_eq!(excerpt(long.as_bytes(), &[]).chars().count(), 201);
    }

    #[test]
    fn the_id_of_an_answer_that_did_not_decode() {
        // (body, id)
        let table: &[(&str, Option<&str>)] = &[
            (r#"{"id": "2c42", "userId": 7}"#, Some("2c42")),
            (r#"{"id": 12345}"#, Some("12345")),
            (r#"{"id": ""}"#, None),
            (r#"{"id": null}"#, None),
            (r#"{"id": {"nested": 1}}"#, None),
            (r#"{"userId": "john"}"#, None),
            (r#"[{"id": "x"}]"#, None),
            (r#"{"id": "cut"#, None),
            ("<html>", None),
            ("", None),
        ];
        for (body, expected) in table {
            assert_eq!(id_in(body.as_bytes()).as_deref(), *expected, "{body}");
        }
    }

    #[test]
    fn statuses_map_to_kinds() {
        assert_eq!(kind_of_status(400), ErrorKind::InvalidInput);
        assert_eq!(kind_of_status(409), ErrorKind::Conflict);
        assert_eq!(kind_of_status(503), ErrorKind::ServerError);
        assert_eq!(kind_of_status(418), ErrorKind::UnexpectedAnswer);
        assert_eq!(kind_of_status(302), ErrorKind::UnexpectedAnswer);
    }
}
