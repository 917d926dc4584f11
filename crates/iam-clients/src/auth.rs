//! OAuth 2.0 client credentials (RFC 6749 §4.4): the token source for mID Provider (Keycloak
//! realms) and Nexway (OAuth2), and any server that issues bearer tokens that way.

use std::fmt;
use std::time::{Duration, Instant};

use iam_core::{AuthError, HttpOptions, SecretString, TokenFuture, TokenSource};
use serde::Deserialize;

use crate::{Error, ErrorKind};

/// Fetches a token with the client-credentials grant, keeps it until shortly before it expires
/// (half its lifetime before, at most 30 s), fetches one at a time however many requests wait,
/// and drops it when a provider answers 401 so that the next request gets a fresh one.
///
/// The client authenticates with HTTP Basic (RFC 6749 §2.3.1).
pub struct ClientCredentials {
    token_url: reqwest::Url,
    client_id: String,
    client_secret: SecretString,
    scope: Option<String>,
    http: reqwest::Client,
    cached: tokio::sync::Mutex<Option<Cached>>,
}

struct Cached {
    token: SecretString,
    refresh_at: Option<Instant>,
}

impl fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("token_url", &self.token_url.as_str())
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    token_type: String,
    expires_in: Option<u64>,
}

#[derive(Deserialize)]
struct TokenRefusal {
    error: String,
    error_description: Option<String>,
}

impl ClientCredentials {
    /// A token source for `client_id`/`client_secret` at `token_url` (`https://`, or `http://`
    /// to loopback), over an HTTP client built from `http` (timeouts, trusted certificates).
    pub fn new(
        token_url: &str,
        client_id: impl Into<String>,
        client_secret: impl Into<SecretString>,
        http: &HttpOptions,
    ) -> Result<Self, Error> {
        let normalized =
            iam_core::base_url::normalize(token_url).map_err(crate::connection::config_error)?;
        let token_url = reqwest::Url::parse(&normalized).map_err(|e| {
            Error::new(
                ErrorKind::Config,
                None,
                format!("token URL `{normalized}`: {e}"),
            )
        })?;
        Ok(Self {
            token_url,
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            scope: None,
            http: http.build().map_err(crate::connection::config_error)?,
            cached: tokio::sync::Mutex::new(None),
        })
    }

    /// Asks for this `scope`.
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = Some(scope.into());
        self
    }

    async fn fetch(&self) -> Result<Cached, AuthError> {
        let encode =
            |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let mut body = String::from("grant_type=client_credentials");
        if let Some(scope) = &self.scope {
            body.push_str("&scope=");
            body.push_str(&encode(scope));
        }
        let started = Instant::now();
        let response = self
            .http
            .post(self.token_url.clone())
            .basic_auth(
                encode(&self.client_id),
                Some(encode(self.client_secret.expose_secret())),
            )
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .header(reqwest::header::ACCEPT, "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| {
                AuthError::Unavailable(format!(
                    "token endpoint {}: {}",
                    self.token_url,
                    e.without_url()
                ))
            })?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(|e| {
            AuthError::Unavailable(format!(
                "token endpoint {}: {}",
                self.token_url,
                e.without_url()
            ))
        })?;
        if status.is_success() {
            let answer: TokenAnswer = serde_json::from_slice(&bytes).map_err(|e| {
                AuthError::Unavailable(format!(
                    "token endpoint {} answered {status} without a token: {e}",
                    self.token_url
                ))
            })?;
            if !answer.token_type.eq_ignore_ascii_case("bearer") {
                return Err(AuthError::Refused(format!(
                    "token endpoint {} gave a `{}` token; only bearer tokens can be sent",
                    self.token_url, answer.token_type
                )));
            }
            let refresh_at = answer
                .expires_in
                .map(|secs| refresh_deadline(started, Duration::from_secs(secs)));
            tracing::debug!(token_url = %self.token_url, expires_in = answer.expires_in, "fetched an OAuth2 token");
            return Ok(Cached {
                token: SecretString::new(answer.access_token),
                refresh_at,
            });
        }
        let refusal = serde_json::from_slice::<TokenRefusal>(&bytes)
            .map(|r| match r.error_description {
                Some(d) => format!("{}: {d}", r.error),
                None => r.error,
            })
            .unwrap_or_else(|_| "no OAuth2 error in the answer".to_owned());
        let message = format!(
            "token endpoint {} answered {status}: {refusal}",
            self.token_url
        );
        if status.is_server_error() {
            Err(AuthError::Unavailable(message))
        } else {
            Err(AuthError::Refused(message))
        }
    }
}

/// When to fetch the next token for one fetched at `started` that lives `lifetime`: shortly
/// before it expires (half its life early, at most 30 s), so no request carries a token that
/// expires on the way.
pub(crate) fn refresh_deadline(started: Instant, lifetime: Duration) -> Instant {
    let margin = (lifetime / 2).min(Duration::from_secs(30));
    started + lifetime - margin
}

impl TokenSource for ClientCredentials {
    fn token(&self) -> TokenFuture<'_> {
        Box::pin(async move {
            let mut cached = self.cached.lock().await;
            if let Some(c) = cached.as_ref()
                && c.refresh_at.is_none_or(|at| Instant::now() < at)
            {
                return Ok(c.token.clone());
            }
            let fresh = self.fetch().await?;
            let token = fresh.token.clone();
            *cached = Some(fresh);
            Ok(token)
        })
    }

    fn invalidate(&self) -> bool {
        match self.cached.try_lock() {
            Ok(mut cached) => {
                *cached = None;
                true
            }
            // Another request is fetching a fresh token right now.
            Err(_) => true,
        }
    }
}
