//! One error type for every provider, shaped like reqwest's: a boxed inner, a [`ErrorKind`] to
//! branch on, predicates, the provider's own message, and the cause as `source()`.

use std::fmt;
use std::time::Duration;

use crate::ProviderKind;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Why creating a user failed. `Display` names the provider, what went wrong and, for input, the
/// field; it never holds a secret.
pub struct Error {
    inner: Box<Inner>,
}

struct Inner {
    kind: ErrorKind,
    provider: Option<ProviderKind>,
    field: Option<String>,
    message: String,
    provider_message: Option<String>,
    status: Option<u16>,
    retry_after: Option<Duration>,
    rate_limit: Option<f64>,
    excerpt: Option<String>,
    attempts: u32,
    source: Option<BoxError>,
}

/// What kind of failure an [`Error`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The user data is invalid: refused before sending (a missing required field, the mID
    /// username rule, an email without `@`), or refused by the provider (400). Nothing was created.
    InvalidInput,
    /// The user has a field this provider's create call cannot take (e.g. a password for
    /// Entrust). Refused before sending.
    UnsupportedField,
    /// The client could not be set up or the request not built (bad base URL, plain HTTP to a
    /// remote host, a token a header cannot carry). Nothing was sent.
    Config,
    /// 401, or the token source was refused. Nothing was created.
    Unauthorized,
    /// 403. Nothing was created.
    Forbidden,
    /// 404. Nothing was created.
    NotFound,
    /// 409: the user already exists.
    Conflict,
    /// 429, after the retries the policy allows; see [`Error::retry_after`].
    RateLimited,
    /// 5xx. The provider says it failed; the user was not created as far as it says.
    ServerError,
    /// The request never reached the provider (connection refused, DNS, TLS, connect timeout).
    /// Safe to send again.
    Transport,
    /// The request may have been applied: a timeout or a dropped connection after it was sent.
    /// Do not send it again blindly; check whether the user exists.
    OutcomeUnknown,
    /// An answer the provider does not document (see [`Error::status`] and
    /// [`Error::body_excerpt`]).
    UnexpectedAnswer,
}

/// What an [`Error`] means for the user it was about ([`Error::disposition`]). A success is
/// not an error: a created user is the `Ok` of `create_user`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Disposition {
    /// The user exists already (409).
    Exists,
    /// This user, as given, is refused (invalid input or an unsupported field, before sending;
    /// 400 or 422 from the provider): the same request is refused again.
    Refused,
    /// Nothing was done and the provider asks to wait (429; 503): send the same request again
    /// after the wait its `Retry-After` named, if it named one.
    SendAgainAfter(Option<Duration>),
    /// Nothing was created, as far as the provider says (401, 403, 404, 5xx but 503, an
    /// undocumented answer) or because nothing reached it (a transport failure before sending, a
    /// configuration error). `retry`: the same request may succeed later as it is (a transport
    /// failure, 502, 504); otherwise something must change first (the token, the
    /// configuration, the provider's side).
    NothingCreated {
        /// The same request may succeed later as it is.
        retry: bool,
    },
    /// The request may have been applied (a timeout or a cut connection after it was sent):
    /// check whether the user exists before sending it again.
    Unknown,
}

/// [`Error::disposition`] as a pure function of what an error holds (table-tested).
fn disposition(kind: ErrorKind, status: Option<u16>, retry_after: Option<Duration>) -> Disposition {
    use Disposition as D;
    match kind {
        ErrorKind::Conflict => D::Exists,
        ErrorKind::InvalidInput | ErrorKind::UnsupportedField => D::Refused,
        ErrorKind::RateLimited => D::SendAgainAfter(retry_after),
        ErrorKind::ServerError if status == Some(503) => D::SendAgainAfter(retry_after),
        ErrorKind::ServerError => D::NothingCreated {
            retry: matches!(status, Some(502 | 504)),
        },
        ErrorKind::Transport => D::NothingCreated { retry: true },
        // Explicitly: nothing was sent, and the same request fails again until the
        // configuration changes (not `Refused`: the user itself is not at fault).
        ErrorKind::Config => D::NothingCreated { retry: false },
        ErrorKind::Unauthorized
        | ErrorKind::Forbidden
        | ErrorKind::NotFound
        | ErrorKind::UnexpectedAnswer => D::NothingCreated { retry: false },
        ErrorKind::OutcomeUnknown => D::Unknown,
    }
}

impl ErrorKind {
    /// A short name (`invalid input`, `outcome unknown`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidInput => "invalid input",
            Self::UnsupportedField => "unsupported field",
            Self::Config => "configuration error",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not found",
            Self::Conflict => "user already exists",
            Self::RateLimited => "rate limited",
            Self::ServerError => "server error",
            Self::Transport => "transport error",
            Self::OutcomeUnknown => "outcome unknown",
            Self::UnexpectedAnswer => "unexpected answer",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Error {
    pub(crate) fn new(
        kind: ErrorKind,
        provider: Option<ProviderKind>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            inner: Box::new(Inner {
                kind,
                provider,
                field: None,
                message: message.into(),
                provider_message: None,
                status: None,
                retry_after: None,
                rate_limit: None,
                excerpt: None,
                attempts: 0,
                source: None,
            }),
        }
    }

    /// Input refused before sending, naming the field.
    pub(crate) fn invalid(provider: ProviderKind, field: &str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidInput, Some(provider), message).with_field(field)
    }

    /// A field the provider cannot take.
    pub(crate) fn unsupported(provider: ProviderKind, field: &str, why: &str) -> Self {
        Self::new(ErrorKind::UnsupportedField, Some(provider), why).with_field(field)
    }

    pub(crate) fn with_field(mut self, field: &str) -> Self {
        self.inner.field = Some(field.to_owned());
        self
    }

    pub(crate) fn with_status(mut self, status: u16) -> Self {
        self.inner.status = Some(status);
        self
    }

    pub(crate) fn with_provider_message(mut self, message: Option<String>) -> Self {
        self.inner.provider_message = message.filter(|m| !m.trim().is_empty());
        self
    }

    pub(crate) fn with_rate_limit(mut self, rate_limit: Option<f64>) -> Self {
        self.inner.rate_limit = rate_limit;
        self
    }

    pub(crate) fn with_retry_after(mut self, retry_after: Option<Duration>) -> Self {
        self.inner.retry_after = retry_after;
        self
    }

    pub(crate) fn with_excerpt(mut self, excerpt: Option<String>) -> Self {
        self.inner.excerpt = excerpt.filter(|e| !e.is_empty());
        self
    }

    pub(crate) fn with_attempts(mut self, attempts: u32) -> Self {
        self.inner.attempts = attempts;
        self
    }

    pub(crate) fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        self.inner.source = Some(source.into());
        self
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// The provider, when the error is about one.
    pub fn provider(&self) -> Option<ProviderKind> {
        self.inner.provider
    }

    /// The field of [`crate::NewUser`] at fault, for input errors (`email`, `username`,
    /// `attributes.digitaniumCreateActivation`, ...).
    pub fn field(&self) -> Option<&str> {
        self.inner.field.as_deref()
    }

    /// The HTTP status of the provider's answer, when there was one.
    pub fn status(&self) -> Option<u16> {
        self.inner.status
    }

    /// The provider's own message, as documented (mID's `message`, Entrust's `errorMessage`).
    pub fn provider_message(&self) -> Option<&str> {
        self.inner.provider_message.as_deref()
    }

    /// How long the provider asked to wait (`Retry-After`), for a 429 or 503.
    pub fn retry_after(&self) -> Option<Duration> {
        self.inner.retry_after
    }

    /// The rate limit the answer published, in requests per second, when it carried one in the
    /// headers API gateways send (the IETF draft "RateLimit header fields for HTTP":
    /// `RateLimit-Policy: 100;w=60` or `"default";q=100;w=60`; Kong's `X-RateLimit-Limit-Second`
    /// and `-Minute`), the tightest if several. Read when present, never required.
    pub fn rate_limit(&self) -> Option<f64> {
        self.inner.rate_limit
    }

    /// The start of an undocumented or unreadable answer's body (at most 200 characters, secrets
    /// sent with the request replaced by `***`).
    pub fn body_excerpt(&self) -> Option<&str> {
        self.inner.excerpt.as_deref()
    }

    /// How many requests were sent (0 when refused before sending).
    pub fn attempts(&self) -> u32 {
        self.inner.attempts
    }

    /// Whether sending the same request again later may succeed *and* cannot create the user
    /// twice: rate limiting, 502/503/504, and transport errors before the request was sent.
    /// Never true for [`ErrorKind::OutcomeUnknown`]. Read from [`Error::disposition`].
    pub fn is_retryable(&self) -> bool {
        matches!(
            self.disposition(),
            Disposition::SendAgainAfter(_) | Disposition::NothingCreated { retry: true }
        )
    }

    /// What this error means for the user it was about: the one decision the facade's own
    /// retry, [`Error::is_retryable`], `iam import`'s rows and the `iam` exit codes act on.
    ///
    /// ```
    /// use iam_clients::{Disposition, Error, ErrorKind};
    /// # fn show(e: &Error) -> &'static str {
    /// match e.disposition() {
    ///     Disposition::Exists => "the user was there already",
    ///     Disposition::Refused => "fix the user, then send it again",
    ///     Disposition::SendAgainAfter(_) => "wait as asked, then send it again",
    ///     Disposition::NothingCreated { .. } => "nothing was created",
    ///     Disposition::Unknown => "check whether the user exists before sending again",
    /// }
    /// # }
    /// ```
    pub fn disposition(&self) -> Disposition {
        disposition(self.inner.kind, self.inner.status, self.inner.retry_after)
    }

    /// The user already exists (409).
    pub fn is_conflict(&self) -> bool {
        self.inner.kind == ErrorKind::Conflict
    }

    /// The request may have been applied; do not send it again blindly.
    pub fn is_outcome_unknown(&self) -> bool {
        self.inner.kind == ErrorKind::OutcomeUnknown
    }

    /// Refused before anything was sent (invalid input, unsupported field, configuration).
    pub fn is_refused_before_sending(&self) -> bool {
        self.inner.attempts == 0
            && matches!(
                self.inner.kind,
                ErrorKind::InvalidInput | ErrorKind::UnsupportedField | ErrorKind::Config
            )
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        if let Some(provider) = inner.provider {
            write!(f, "{provider}: ")?;
        }
        write!(f, "{}", inner.kind)?;
        if let Some(status) = inner.status {
            write!(f, " ({status})")?;
        }
        if !inner.message.is_empty() {
            write!(f, ": {}", inner.message)?;
        }
        if let Some(message) = &inner.provider_message {
            write!(f, ": \"{message}\"")?;
        }
        if let Some(excerpt) = &inner.excerpt {
            write!(f, "; answer began: {excerpt}")?;
        }
        if let Some(retry_after) = inner.retry_after {
            write!(f, "; retry after {}s", retry_after.as_secs())?;
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        let mut d = f.debug_struct("iam_clients::Error");
        d.field("kind", &inner.kind);
        if let Some(p) = &inner.provider {
            d.field("provider", p);
        }
        if let Some(field) = &inner.field {
            d.field("field", field);
        }
        if let Some(status) = &inner.status {
            d.field("status", status);
        }
        d.field("message", &inner.message);
        if let Some(m) = &inner.provider_message {
            d.field("provider_message", m);
        }
        if let Some(source) = &inner.source {
            d.field("source", source);
        }
        d.finish_non_exhaustive()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner.source.as_ref().map(|e| &**e as _)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_each_error_means_for_its_user() {
        use Disposition as D;
        use ErrorKind as K;
        let wait = Some(Duration::from_secs(2));
        #[rustfmt::skip]
        let table = [
            // (kind, status, Retry-After) -> disposition
            (K::Conflict, Some(409), None, D::Exists),
            (K::InvalidInput, Some(400), None, D::Refused),
            (K::InvalidInput, Some(422), None, D::Refused),
            (K::InvalidInput, None, None, D::Refused),
            (K::UnsupportedField, None, None, D::Refused),
            (K::RateLimited, Some(429), wait, D::SendAgainAfter(wait)),
            (K::RateLimited, Some(429), None, D::SendAgainAfter(None)),
            (K::ServerError, Some(503), wait, D::SendAgainAfter(wait)),
            (K::ServerError, Some(503), None, D::SendAgainAfter(None)),
            (K::ServerError, Some(500), None, D::NothingCreated { retry: false }),
            (K::ServerError, Some(502), None, D::NothingCreated { retry: true }),
            (K::ServerError, Some(504), None, D::NothingCreated { retry: true }),
            (K::Transport, None, None, D::NothingCreated { retry: true }),
            (K::Config, None, None, D::NothingCreated { retry: false }),
            (K::Unauthorized, Some(401), None, D::NothingCreated { retry: false }),
            (K::Forbidden, Some(403), None, D::NothingCreated { retry: false }),
            (K::NotFound, Some(404), None, D::NothingCreated { retry: false }),
            (K::UnexpectedAnswer, Some(418), None, D::NothingCreated { retry: false }),
            (K::OutcomeUnknown, None, None, D::Unknown),
        ];
        for (kind, status, after, expected) in table {
            assert_eq!(
                disposition(kind, status, after),
                expected,
                "{kind} {status:?}"
            );
        }
    }

    #[test]
    fn error_is_one_pointer_wide() {
        assert_eq!(std::mem::size_of::<Error>(), std::mem::size_of::<usize>());
    }

    #[test]
    fn display_names_provider_kind_field_and_provider_message() {
        let e = Error::invalid(
            ProviderKind::MidShift,
            "username",
            "may contain only letters",
        )
        .with_status(400)
        .with_provider_message(Some("Username should not be null or empty".into()));
        let text = e.to_string();
        assert_eq!(
            text,
            "mid-shift: invalid input (400): may contain only letters: \"Username should not be null or empty\""
        );
        assert_eq!(e.field(), Some("username"));
    }

    #[test]
    fn only_safe_failures_are_retryable() {
        let status = |kind, s| Error::new(kind, None, "").with_status(s);
        assert!(status(ErrorKind::RateLimited, 429).is_retryable());
        assert!(status(ErrorKind::ServerError, 503).is_retryable());
        assert!(!status(ErrorKind::ServerError, 500).is_retryable());
        assert!(!Error::new(ErrorKind::OutcomeUnknown, None, "").is_retryable());
        assert!(!Error::new(ErrorKind::Conflict, None, "").is_retryable());
        assert!(Error::new(ErrorKind::Transport, None, "").is_retryable());
    }
}
