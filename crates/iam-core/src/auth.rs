//! Where the bearer token comes from, and the hook that puts it on every request.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use reqwest::header::{AUTHORIZATION, HeaderName, HeaderValue};

use crate::{ConfigError, SecretString, base_url};

/// The future a [`TokenSource`] returns.
pub type TokenFuture<'a> =
    Pin<Box<dyn Future<Output = Result<SecretString, AuthError>> + Send + 'a>>;

/// Gives the bearer token to send. Implement it for a token that changes (OAuth2, a vault);
/// [`StaticToken`] is the fixed one.
pub trait TokenSource: Send + Sync + 'static {
    /// The token to send now (without the `Bearer ` prefix).
    fn token(&self) -> TokenFuture<'_>;

    /// Told that the server refused the last token (401): drop a cached one. Returns whether the
    /// next [`TokenSource::token`] may give a different token (so that sending again is worth it);
    /// a fixed token returns `false`.
    fn invalidate(&self) -> bool {
        false
    }
}

/// A token that never changes.
#[derive(Clone, Debug)]
pub struct StaticToken(SecretString);

impl StaticToken {
    /// A fixed token. Refused if it is empty or holds a character an HTTP header cannot carry.
    pub fn new(token: impl Into<SecretString>) -> Result<Self, ConfigError> {
        let token = token.into();
        bearer_value(&token).map_err(|_| ConfigError::InvalidToken)?;
        Ok(Self(token))
    }
}

impl TokenSource for StaticToken {
    fn token(&self) -> TokenFuture<'_> {
        let token = self.0.clone();
        Box::pin(async move { Ok(token) })
    }
}

/// The credentials a generated client carries: a shared [`TokenSource`].
///
/// `Debug` names no token.
#[derive(Clone)]
pub struct Auth {
    source: Arc<dyn TokenSource>,
    /// `false` for [`Auth::none`]: no `Authorization` header at all.
    sends_token: bool,
}

impl Auth {
    /// Auth from any token source.
    pub fn new(source: impl TokenSource) -> Self {
        Self {
            source: Arc::new(source),
            sends_token: true,
        }
    }

    /// No credentials: requests carry no `Authorization` header (still checked against the
    /// transport policy). For the one kind of call that takes no token: a vendor's token
    /// endpoint, where the credentials are in the body.
    pub fn none() -> Self {
        Self {
            source: Arc::new(NoToken),
            sends_token: false,
        }
    }

    /// Auth with a fixed bearer token.
    pub fn bearer(token: impl Into<SecretString>) -> Result<Self, ConfigError> {
        StaticToken::new(token).map(Self::new)
    }

    /// The token source.
    pub fn source(&self) -> &dyn TokenSource {
        self.source.as_ref()
    }
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.sends_token {
            "Auth(Bearer ***)"
        } else {
            "Auth(none)"
        })
    }
}

/// The source behind [`Auth::none`]: asking it for a token is a mistake of ours, said plainly.
struct NoToken;

impl TokenSource for NoToken {
    fn token(&self) -> TokenFuture<'_> {
        Box::pin(async {
            Err(AuthError::Refused(
                "this client was built without credentials (Auth::none)".to_owned(),
            ))
        })
    }
}

/// Why a request was not sent.
#[derive(Debug)]
#[non_exhaustive]
pub enum AuthError {
    /// The request URL breaks the transport policy (see [`base_url`]).
    Insecure(ConfigError),
    /// The token source gave a token an HTTP header cannot carry.
    InvalidToken,
    /// The token source was refused (e.g. the OAuth2 server answered `invalid_client`); the
    /// message never holds a secret.
    Refused(String),
    /// The token source could not be reached or failed on its side (transport error, 5xx); the
    /// message never holds a secret.
    Unavailable(String),
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Insecure(e) => write!(f, "request not sent: {e}"),
            Self::InvalidToken => f.write_str(
                "request not sent: the token is empty or holds a character an HTTP header cannot carry",
            ),
            Self::Refused(why) => write!(f, "request not sent: the token was refused: {why}"),
            Self::Unavailable(why) => write!(f, "request not sent: no token could be had: {why}"),
        }
    }
}

impl std::error::Error for AuthError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Insecure(e) => Some(e),
            _ => None,
        }
    }
}

/// The header progenitor 0.15 adds to every request, carrying the spec's `info.version`.
/// No vendor documents it and gateways that read it (Azure API Management does) would take our
/// spec's revision for theirs, so it is removed.
pub const PROGENITOR_VERSION_HEADER: HeaderName = HeaderName::from_static("api-version");

/// The pre-request hook of every generated client (set in the xtask's generator settings).
///
/// Checks the request URL against the transport policy, removes the `api-version` header and sets
/// `Authorization: Bearer <token>`, marked sensitive so that `reqwest` and `hyper` never print it.
pub async fn authorize(auth: &Auth, request: &mut reqwest::Request) -> Result<(), AuthError> {
    base_url::check(request.url()).map_err(AuthError::Insecure)?;
    request.headers_mut().remove(PROGENITOR_VERSION_HEADER);
    if !auth.sends_token {
        return Ok(());
    }
    let token = auth.source.token().await?;
    let value = bearer_value(&token)?;
    request.headers_mut().insert(AUTHORIZATION, value);
    Ok(())
}

fn bearer_value(token: &SecretString) -> Result<HeaderValue, AuthError> {
    let token = token.expose_secret();
    if token.trim().is_empty() {
        return Err(AuthError::InvalidToken);
    }
    let mut value =
        HeaderValue::try_from(format!("Bearer {token}")).map_err(|_| AuthError::InvalidToken)?;
    value.set_sensitive(true);
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(url: &str) -> reqwest::Request {
        let mut request = reqwest::Request::new(reqwest::Method::POST, url.parse().unwrap());
        request
            .headers_mut()
            .insert(PROGENITOR_VERSION_HEADER, HeaderValue::from_static("1.0.0"));
        request
    }

    #[tokio::test]
    async fn sets_a_sensitive_bearer_header_and_drops_api_version() {
        let auth = Auth::bearer("tok-123").unwrap();
        let mut req = request("https://api.nexway.store/iam/users");
        authorize(&auth, &mut req).await.unwrap();
        let value = &req.headers()[AUTHORIZATION];
        assert_eq!(value.to_str().unwrap(), "Bearer tok-123");
        assert!(value.is_sensitive());
        assert!(!req.headers().contains_key("api-version"));
        assert!(!format!("{req:?} {auth:?}").contains("tok-123"));
    }

    #[tokio::test]
    async fn refuses_plain_http_to_a_remote_host_before_asking_for_a_token() {
        struct Panics;
        impl TokenSource for Panics {
            fn token(&self) -> TokenFuture<'_> {
                panic!("the token must not be fetched for a refused URL")
            }
        }
        let mut req = request("http://api.nexway.store/iam/users");
        let err = authorize(&Auth::new(Panics), &mut req).await.unwrap_err();
        assert!(matches!(err, AuthError::Insecure(_)), "{err}");
        assert!(!req.headers().contains_key(AUTHORIZATION));
    }

    #[tokio::test]
    async fn auth_none_sends_no_authorization_but_still_checks_the_url() {
        let mut req = request("https://acme.us.trustedauth.com/api/web/v1/adminapi/authenticate");
        authorize(&Auth::none(), &mut req).await.unwrap();
        assert!(!req.headers().contains_key(AUTHORIZATION));
        assert!(!req.headers().contains_key("api-version"));
        let mut req = request("http://acme.example.com/api/web/v1/adminapi/authenticate");
        let err = authorize(&Auth::none(), &mut req).await.unwrap_err();
        assert!(matches!(err, AuthError::Insecure(_)), "{err}");
    }

    #[test]
    fn tokens_a_header_cannot_carry_are_refused_without_echoing_them() {
        for bad in ["", "  ", "tok\nen-secret", "tok\r\nX-Evil: 1"] {
            let err = Auth::bearer(bad).unwrap_err();
            assert!(matches!(err, ConfigError::InvalidToken));
            assert!(!err.to_string().contains("secret"));
        }
    }
}
