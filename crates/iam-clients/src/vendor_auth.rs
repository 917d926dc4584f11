//! The vendors' own token endpoints as token sources:
//!
//! - [`EntrustAdminAuth`]: Entrust's `POST /api/web/v1/adminapi/authenticate` (an
//!   Administration API application's id and shared secret -> `authToken`, valid until
//!   `expirationTime`);
//! - [`NexwayJwt`]: Nexway's `POST /iam/tokens` (a realm and its client secret, grant
//!   `client_credentials` -> a JWT and a refresh token).
//!
//! Both call the operation generated from the vendor's spec (through a client that sends no
//! token), cache the token until shortly before it expires, and drop it when a create call is
//! answered 401, so that [`crate::send`] asks for a fresh one once, as it does for
//! [`crate::ClientCredentials`]. Secrets are [`SecretString`]s: no `Debug`, log or error shows
//! them.

use std::fmt;
use std::time::{Duration, Instant};

use iam_core::{AuthError, HttpOptions, SecretString, TokenFuture, TokenSource};

use crate::Error;
use crate::auth::refresh_deadline;

/// A cached token and when to fetch the next one (`None`: only when refused).
struct Cached {
    token: SecretString,
    refresh_at: Option<Instant>,
}

impl Cached {
    fn fresh(&self) -> bool {
        self.refresh_at.is_none_or(|at| Instant::now() < at)
    }
}

/// Why a token endpoint's answer means no token: refused (a wrong secret, an unknown realm: a
/// new attempt would fail the same way) or unavailable (transport, 5xx, an unreadable answer).
fn token_error<E>(
    endpoint: &str,
    e: progenitor_client::Error<E>,
    detail: Option<String>,
) -> AuthError {
    let detail = detail.map(|d| format!(": {d}")).unwrap_or_default();
    match e.status().map(|s| s.as_u16()) {
        Some(status @ 400..=499) => {
            AuthError::Refused(format!("{endpoint} answered {status}{detail}"))
        }
        Some(status) => AuthError::Unavailable(format!("{endpoint} answered {status}{detail}")),
        None => match e {
            progenitor_client::Error::CommunicationError(e) => {
                AuthError::Unavailable(format!("{endpoint}: {}", e.without_url()))
            }
            other => AuthError::Unavailable(format!("{endpoint}: {}", kind_only(&other))),
        },
    }
}

/// What went wrong, without a body that might hold a secret.
fn kind_only<E>(e: &progenitor_client::Error<E>) -> &'static str {
    match e {
        progenitor_client::Error::InvalidResponsePayload(..) => {
            "an answer without a readable token"
        }
        progenitor_client::Error::UnexpectedResponse(_) => "an answer it does not document",
        _ => "no token",
    }
}

/// Milliseconds since the epoch of an Entrust date (`2018-05-29T19:12:54.000+0000`) or an
/// RFC 3339 one (`2018-05-29T19:12:54Z`, `…+00:00`); `None` for anything else.
pub(crate) fn entrust_millis(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let s = text.get(r)?;
        s.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| s.parse().ok())?
    };
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, s) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let mut rest = &text[19..];
    let mut millis = 0;
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let first3 = format!("{:0<3}", &fraction[..digits.min(3)]);
        millis = first3.parse::<i64>().ok()?;
        rest = &fraction[digits..];
    }
    let offset_minutes = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let digits: String = rest[1..].chars().filter(|c| *c != ':').collect();
            if digits.len() != 4 || !digits.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            sign * (digits[..2].parse::<i64>().ok()? * 60 + digits[2..].parse::<i64>().ok()?)
        }
    };
    // Howard Hinnant's days_from_civil.
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 24 + h) * 60 + mi - offset_minutes) * 60_000 + s * 1000 + millis)
}

/// How long an Entrust token lives: `expirationTime - creationTime`, both from Entrust's clock,
/// so the local clock's error does not matter. `None` when either is missing or unreadable, or
/// the token would already be expired.
pub(crate) fn entrust_lifetime(
    creation: Option<&str>,
    expiration: Option<&str>,
) -> Option<Duration> {
    let created = entrust_millis(creation?)?;
    let expires = entrust_millis(expiration?)?;
    u64::try_from(expires - created)
        .ok()
        .filter(|ms| *ms > 0)
        .map(Duration::from_millis)
}

/// Entrust's Administration API token, from an application id and shared secret.
///
/// ```no_run
/// use iam_clients::{Connection, EntrustAdminAuth, EntrustClient, HttpOptions};
/// # async fn run() -> Result<(), iam_clients::Error> {
/// let url = EntrustClient::account_url("acme", "us")?;
/// let auth = EntrustAdminAuth::new(&url, "my-app-id", std::env::var("SECRET").unwrap(), &HttpOptions::default())?;
/// let entrust = EntrustClient::new(Connection::new(url).token_source(auth))?;
/// # Ok(()) }
/// ```
#[cfg(feature = "entrust")]
pub struct EntrustAdminAuth {
    client: entrust_idaas::Client,
    application_id: String,
    shared_secret: SecretString,
    cached: tokio::sync::Mutex<Option<Cached>>,
}

#[cfg(feature = "entrust")]
impl fmt::Debug for EntrustAdminAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EntrustAdminAuth")
            .field("base_url", &self.client.base_url())
            .field("application_id", &self.application_id)
            .field("shared_secret", &self.shared_secret)
            .finish_non_exhaustive()
    }
}

#[cfg(feature = "entrust")]
impl EntrustAdminAuth {
    /// A token source for the account at `base_url` (the same URL the create calls go to).
    /// Nothing is sent until a token is needed.
    pub fn new(
        base_url: &str,
        application_id: impl Into<String>,
        shared_secret: impl Into<SecretString>,
        http: &HttpOptions,
    ) -> Result<Self, Error> {
        let client = entrust_idaas::Client::unauthenticated(base_url, http)
            .map_err(crate::connection::config_error)?;
        Ok(Self {
            client,
            application_id: application_id.into(),
            shared_secret: shared_secret.into(),
            cached: tokio::sync::Mutex::new(None),
        })
    }

    async fn fetch(&self) -> Result<Cached, AuthError> {
        use entrust_idaas::types::AdminApiAuthentication;
        const ENDPOINT: &str = "Entrust's authenticate endpoint";
        let started = Instant::now();
        let body = AdminApiAuthentication {
            application_id: self.application_id.clone(),
            shared_secret: self.shared_secret.clone(),
            enable_web_session: None,
        };
        let answer = match self.client.authenticate_admin_api(&body).await {
            Ok(answer) => answer.into_inner(),
            Err(e) => {
                let detail = match &e {
                    progenitor_client::Error::ErrorResponse(r) => r.error_message.clone(),
                    _ => None,
                };
                return Err(token_error(ENDPOINT, e, detail));
            }
        };
        let token = answer
            .auth_token
            .filter(|t| !t.expose_secret().trim().is_empty())
            .ok_or_else(|| {
                AuthError::Unavailable(format!("{ENDPOINT} answered without an authToken"))
            })?;
        let lifetime = entrust_lifetime(
            answer.creation_time.as_deref(),
            answer.expiration_time.as_deref(),
        );
        tracing::debug!(
            lifetime_s = lifetime.map(|l| l.as_secs()),
            "fetched an Entrust admin token"
        );
        Ok(Cached {
            token,
            refresh_at: lifetime.map(|l| refresh_deadline(started, l)),
        })
    }
}

#[cfg(feature = "entrust")]
impl TokenSource for EntrustAdminAuth {
    fn token(&self) -> TokenFuture<'_> {
        Box::pin(async move {
            let mut cached = self.cached.lock().await;
            if let Some(c) = cached.as_ref().filter(|c| c.fresh()) {
                return Ok(c.token.clone());
            }
            let fresh = self.fetch().await?;
            let token = fresh.token.clone();
            *cached = Some(fresh);
            Ok(token)
        })
    }

    fn invalidate(&self) -> bool {
        if let Ok(mut cached) = self.cached.try_lock() {
            *cached = None;
        }
        true
    }
}

/// Nexway's JWT, from a realm and its client secret (grant `client_credentials`). The refresh
/// token of the last answer is used first when the JWT expires or is refused; a refused refresh
/// falls back to a new grant.
///
/// ```no_run
/// use iam_clients::{Connection, HttpOptions, NexwayClient, NexwayJwt};
/// # async fn run() -> Result<(), iam_clients::Error> {
/// let url = NexwayClient::DEFAULT_BASE_URL;
/// let jwt = NexwayJwt::new(url, "my-realm", std::env::var("SECRET").unwrap(), &HttpOptions::default())?;
/// let nexway = NexwayClient::new(Connection::new(url).token_source(jwt))?;
/// # Ok(()) }
/// ```
#[cfg(feature = "nexway")]
pub struct NexwayJwt {
    client: nexway_iam::Client,
    realm: String,
    client_secret: SecretString,
    state: tokio::sync::Mutex<NexwayState>,
}

#[cfg(feature = "nexway")]
#[derive(Default)]
struct NexwayState {
    access: Option<Cached>,
    refresh: Option<SecretString>,
}

#[cfg(feature = "nexway")]
impl fmt::Debug for NexwayJwt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NexwayJwt")
            .field("base_url", &self.client.base_url())
            .field("realm", &self.realm)
            .field("client_secret", &self.client_secret)
            .finish_non_exhaustive()
    }
}

#[cfg(feature = "nexway")]
impl NexwayJwt {
    /// A token source for the realm `realm` at `base_url` (the same URL the create calls go to,
    /// [`crate::NexwayClient::DEFAULT_BASE_URL`]). Nothing is sent until a token is needed.
    pub fn new(
        base_url: &str,
        realm: impl Into<String>,
        client_secret: impl Into<SecretString>,
        http: &HttpOptions,
    ) -> Result<Self, Error> {
        let realm = realm.into();
        if realm.trim().is_empty() {
            return Err(Error::new(
                crate::ErrorKind::Config,
                Some(crate::ProviderKind::Nexway),
                "the Nexway realm is empty",
            ));
        }
        let client = nexway_iam::Client::unauthenticated(base_url, http)
            .map_err(crate::connection::config_error)?;
        Ok(Self {
            client,
            realm,
            client_secret: client_secret.into(),
            state: tokio::sync::Mutex::new(NexwayState::default()),
        })
    }

    async fn grant(
        &self,
        refresh: Option<SecretString>,
    ) -> Result<(Cached, Option<SecretString>), AuthError> {
        use nexway_iam::types::{GrantType, TokenRequest};
        const ENDPOINT: &str = "Nexway's token endpoint";
        let started = Instant::now();
        let (grant_type, client_secret) = match &refresh {
            Some(_) => (GrantType::RefreshToken, None),
            None => (
                GrantType::ClientCredentials,
                Some(self.client_secret.clone()),
            ),
        };
        let body = TokenRequest {
            realm_name: self
                .realm
                .parse()
                .map_err(|_| AuthError::Refused("the Nexway realm is empty".to_owned()))?,
            grant_type: Some(grant_type),
            client_secret,
            refresh_token: refresh,
            username: None,
            password: None,
        };
        let answer = self
            .client
            .get_user_token(&body)
            .await
            .map_err(|e| token_error(ENDPOINT, e, None))?
            .into_inner();
        let token = answer
            .access_token
            .filter(|t| !t.expose_secret().trim().is_empty())
            .ok_or_else(|| {
                AuthError::Unavailable(format!("{ENDPOINT} answered without an access_token"))
            })?;
        let lifetime = answer
            .expires_in
            .and_then(|s| u64::try_from(s).ok())
            .filter(|s| *s > 0)
            .map(Duration::from_secs);
        tracing::debug!(
            refreshed = grant_type == GrantType::RefreshToken,
            lifetime_s = lifetime.map(|l| l.as_secs()),
            "fetched a Nexway JWT"
        );
        Ok((
            Cached {
                token,
                refresh_at: lifetime.map(|l| refresh_deadline(started, l)),
            },
            answer.refresh_token,
        ))
    }
}

#[cfg(feature = "nexway")]
impl TokenSource for NexwayJwt {
    fn token(&self) -> TokenFuture<'_> {
        Box::pin(async move {
            let mut state = self.state.lock().await;
            if let Some(c) = state.access.as_ref().filter(|c| c.fresh()) {
                return Ok(c.token.clone());
            }
            // The refresh token first (once: it is spent either way), then a new grant.
            let refreshed = match state.refresh.take() {
                Some(refresh) => match self.grant(Some(refresh)).await {
                    Ok(answer) => Some(answer),
                    Err(e) => {
                        tracing::debug!(error = %e, "Nexway refused the refresh token; asking for a new grant");
                        None
                    }
                },
                None => None,
            };
            let (access, refresh) = match refreshed {
                Some(answer) => answer,
                None => self.grant(None).await?,
            };
            let token = access.token.clone();
            state.access = Some(access);
            state.refresh = refresh;
            Ok(token)
        })
    }

    fn invalidate(&self) -> bool {
        if let Ok(mut state) = self.state.try_lock() {
            state.access = None;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_entrust_and_rfc3339_dates() {
        // (text, milliseconds since the epoch); 1527621174 s is the seed sample's loadDate.
        let table: &[(&str, Option<i64>)] = &[
            ("2018-05-29T19:12:54.000+0000", Some(1_527_621_174_000)),
            ("2018-05-29T19:12:54.123+0000", Some(1_527_621_174_123)),
            ("2018-05-29T19:12:54Z", Some(1_527_621_174_000)),
            ("2018-05-29T21:12:54+02:00", Some(1_527_621_174_000)),
            ("2018-05-29T14:12:54.5-0500", Some(1_527_621_174_500)),
            ("1970-01-01T00:00:00.000+0000", Some(0)),
            ("2000-02-29T00:00:00Z", Some(951_782_400_000)),
            ("2018-05-29 19:12:54Z", None),
            ("2018-13-29T19:12:54Z", None),
            ("2018-05-29T19:12:54", None),
            ("2018-05-29T19:12:54+00", None),
            ("2018-05-29T19:12:54.+0000", None),
            ("tomorrow", None),
            ("", None),
            ("2018-05-29T19:1é:54Z", None),
        ];
        for (text, expected) in table {
            assert_eq!(entrust_millis(text), *expected, "{text}");
        }
    }

    #[test]
    fn an_entrust_token_lives_from_creation_to_expiration() {
        let c = "2026-11-23T10:00:00.000+0000";
        // (creation, expiration, lifetime)
        let table: &[(Option<&str>, Option<&str>, Option<u64>)] = &[
            (Some(c), Some("2026-11-23T10:15:00.000+0000"), Some(900)),
            (Some(c), Some("2026-11-23T11:15:00+01:00"), Some(900)),
            (Some(c), Some(c), None),
            (Some(c), Some("2026-11-23T09:00:00.000+0000"), None),
            (None, Some(c), None),
            (Some(c), None, None),
            (Some(c), Some("soon"), None),
        ];
        for (creation, expiration, secs) in table {
            assert_eq!(
                entrust_lifetime(*creation, *expiration).map(|d| d.as_secs()),
                *secs,
                "{creation:?} {expiration:?}"
            );
        }
    }
}
