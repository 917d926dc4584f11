//! How to reach a provider: base URL, credentials, timeouts, trusted certificates, retries.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use iam_core::{Auth, HttpOptions, SecretString, TokenSource};

use crate::{Error, ErrorKind};

/// When to send a refused request again. Only answers that prove nothing was created are
/// retried (429, 503), after their `Retry-After`; an answer that leaves the outcome unknown is
/// never re-sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Requests at most, the first included (1: no retry).
    pub max_attempts: u32,
    /// Give up when the next wait would end later than this after the first request.
    pub max_total: Duration,
    /// Give up rather than wait longer than this for one `Retry-After`.
    pub max_delay: Duration,
    /// The wait when a 429/503 has no `Retry-After`.
    pub default_delay: Duration,
}

impl Default for RetryPolicy {
    /// 3 requests, within 60 s, waiting at most 30 s at a time, 1 s when no `Retry-After`.
    fn default() -> Self {
        Self {
            max_attempts: 3,
            max_total: Duration::from_secs(60),
            max_delay: Duration::from_secs(30),
            default_delay: Duration::from_secs(1),
        }
    }
}

impl RetryPolicy {
    /// Never retry.
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }
}

/// Where a provider client connects and how. Start with [`Connection::new`], add credentials
/// and options, then hand it to a provider client's constructor.
///
/// ```
/// use std::time::Duration;
/// use iam_clients::{Connection, RetryPolicy};
///
/// let connection = Connection::new("https://api.nexway.store")
///     .bearer("token")
///     .timeout(Duration::from_secs(10))
///     .retry(RetryPolicy { max_attempts: 5, ..RetryPolicy::default() });
/// let nexway = iam_clients::NexwayClient::new(connection).unwrap();
/// ```
#[derive(Clone)]
#[must_use]
pub struct Connection {
    pub(crate) base_url: String,
    credentials: Option<Credentials>,
    pub(crate) http: HttpOptions,
    pub(crate) retry: RetryPolicy,
}

#[derive(Clone)]
enum Credentials {
    Bearer(SecretString),
    Source(Auth),
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("base_url", &self.base_url)
            .field("credentials", &self.credentials.as_ref().map(|_| "***"))
            .field("http", &self.http)
            .field("retry", &self.retry)
            .finish()
    }
}

impl Connection {
    /// A connection to `base_url` (`https://`, or `http://` to a loopback host).
    pub fn new(base_url: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            credentials: None,
            http: HttpOptions::default(),
            retry: RetryPolicy::default(),
        }
    }

    /// Sends this fixed token as `Authorization: Bearer <token>`.
    pub fn bearer(mut self, token: impl Into<SecretString>) -> Self {
        self.credentials = Some(Credentials::Bearer(token.into()));
        self
    }

    /// Gets each token from `source` (e.g. [`crate::ClientCredentials`]).
    pub fn token_source(mut self, source: impl TokenSource) -> Self {
        self.credentials = Some(Credentials::Source(Auth::new(source)));
        self
    }

    /// Limits a whole request (default 30 s). A request that times out after it was sent is
    /// [`ErrorKind::OutcomeUnknown`].
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.http = self.http.timeout(timeout);
        self
    }

    /// Limits connecting (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.http = self.http.connect_timeout(timeout);
        self
    }

    /// Trusts the certificates in `pem` besides the system's (e.g. the simulator's).
    pub fn trust_pem(mut self, pem: &[u8]) -> Result<Self, Error> {
        self.http = self.http.trust_pem(pem).map_err(config_error)?;
        Ok(self)
    }

    /// Sends requests for `host` to `addr` instead of resolving it.
    pub fn resolve(mut self, host: impl Into<String>, addr: SocketAddr) -> Self {
        self.http = self.http.resolve(host, addr);
        self
    }

    /// Sets the retry policy (default: [`RetryPolicy::default`]).
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// The HTTP options, to share with a [`crate::ClientCredentials`] token source.
    pub fn http_options(&self) -> &HttpOptions {
        &self.http
    }

    pub(crate) fn auth(&self) -> Result<Auth, Error> {
        match &self.credentials {
            Some(Credentials::Bearer(token)) => Auth::bearer(token.clone()).map_err(config_error),
            Some(Credentials::Source(auth)) => Ok(auth.clone()),
            None => Err(Error::new(
                ErrorKind::Config,
                None,
                "no credentials: give the connection a token (.bearer) or a token source (.token_source)",
            )),
        }
    }
}

pub(crate) fn config_error(e: iam_core::ConfigError) -> Error {
    Error::new(ErrorKind::Config, None, e.to_string()).with_source(e)
}

/// Shared by the provider clients: the auth and the retry policy.
#[derive(Clone, Debug)]
pub(crate) struct Common {
    pub auth: Auth,
    pub retry: RetryPolicy,
}

impl Common {
    pub(crate) fn new(connection: &Connection) -> Result<Arc<Self>, Error> {
        Ok(Arc::new(Self {
            auth: connection.auth()?,
            retry: connection.retry.clone(),
        }))
    }
}
