//! `POST /oauth/token`: an OAuth 2.0 token endpoint for the client-credentials grant (RFC 6749
//! §4.4), so that clients fetching and refreshing tokens are tested for real. Not part of any
//! provider's spec: mID runs on Keycloak-style realms and Nexway documents OAuth2, but neither
//! seed gives the token endpoint.
//!
//! The client authenticates with HTTP Basic (§2.3.1) or `client_id`/`client_secret` form fields.
//! Issued tokens are accepted by every route until they expire or are revoked.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::json;

use crate::Sandbox;

/// Tokens issued and not yet revoked, with their expiry.
#[derive(Debug, Default)]
pub(crate) struct Issued {
    tokens: HashMap<String, Instant>,
    pub(crate) count: u64,
}

impl Issued {
    pub(crate) fn is_valid(&self, token: &str) -> bool {
        self.tokens
            .get(token)
            .is_some_and(|expiry| Instant::now() < *expiry)
    }

    pub(crate) fn revoke_all(&mut self) {
        self.tokens.clear();
    }

    pub(crate) fn issue(&mut self, token: String, lifetime: Duration) {
        let now = Instant::now();
        self.tokens.retain(|_, expiry| *expiry > now);
        self.tokens.insert(token, now + lifetime);
        self.count += 1;
    }
}

fn error(status: StatusCode, code: &str, description: &str) -> Response {
    let mut response = (
        status,
        axum::Json(json!({"error": code, "error_description": description})),
    )
        .into_response();
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"iam-sandbox\""),
        );
    }
    response
}

/// The client's credentials: from `Authorization: Basic`, else from the form.
fn client_credentials(
    headers: &HeaderMap,
    form: &HashMap<String, String>,
) -> Option<(String, String)> {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b64| {
            base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .ok()
        })
        .and_then(|bytes| String::from_utf8(bytes).ok());
    if let Some(pair) = basic {
        let (id, secret) = pair.split_once(':')?;
        // §2.3.1: both are form-urlencoded before Basic encoding.
        let decode = |s: &str| {
            url::form_urlencoded::parse(format!("x={s}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
        };
        return Some((decode(id)?, decode(secret)?));
    }
    Some((
        form.get("client_id")?.clone(),
        form.get("client_secret")?.clone(),
    ))
}

pub(crate) async fn token(
    State(sandbox): State<Sandbox>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    match form.get("grant_type").map(String::as_str) {
        Some("client_credentials") => {}
        Some(other) => {
            let why = format!("grant_type `{other}` is not supported; use client_credentials");
            return error(StatusCode::BAD_REQUEST, "unsupported_grant_type", &why);
        }
        None => {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "grant_type is missing",
            );
        }
    }
    let Some((id, secret)) = client_credentials(&headers, &form) else {
        return error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client authentication is missing",
        );
    };
    let config = &sandbox.inner.oauth;
    let secret_ok = crate::constant_time_eq(
        secret.as_bytes(),
        config.client_secret.expose_secret().as_bytes(),
    );
    if id != config.client_id || !secret_ok {
        return error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "unknown client or wrong secret",
        );
    }
    let access_token = format!(
        "sbx_at_{:016x}{:016x}",
        crate::random_u64(),
        crate::random_u64()
    );
    let lifetime = config.token_lifetime;
    sandbox
        .inner
        .issued
        .lock()
        .expect("issued lock")
        .issue(access_token.clone(), lifetime);
    let mut response = axum::Json(json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": lifetime.as_secs().max(1),
    }))
    .into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
        .headers_mut()
        .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}
