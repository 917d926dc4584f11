//! The vendors' own token endpoints, as their published contracts describe them:
//!
//! - Entrust `POST /api/web/v1/adminapi/authenticate`: an Administration API application's id and
//!   shared secret in, `{authToken, creationTime, expirationTime}` out; a wrong secret answers
//!   401 with Entrust's `ErrorInfo`.
//! - Nexway `POST /iam/tokens`: a JSON `TokenRequest` (realm and client secret with the
//!   client-credentials grant, or a refresh token) in, an `AccessTokenResponse` out; a wrong
//!   secret or refresh token answers 401 without a body, like Nexway's other errors.
//!
//! Requests are decoded into the generated request types (the spec is the check). Issued tokens
//! join the ones `POST /oauth/token` issues: every route accepts them until they expire.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::{Sandbox, constant_time_eq, random_u64};

/// The Entrust Administration API application the simulator knows.
#[derive(Clone, Debug)]
pub struct EntrustAdminApp {
    /// `applicationId`; `iam-sandbox-admin-app` by default.
    pub application_id: String,
    /// `sharedSecret`; random by default.
    pub shared_secret: iam_core::SecretString,
}

impl Default for EntrustAdminApp {
    fn default() -> Self {
        Self {
            application_id: "iam-sandbox-admin-app".to_owned(),
            shared_secret: format!("sbx_ss_{:016x}{:016x}", random_u64(), random_u64()).into(),
        }
    }
}

/// The Nexway realm and client secret the simulator knows.
#[derive(Clone, Debug)]
pub struct NexwayRealm {
    /// `realmName`; `iam-sandbox` by default.
    pub realm: String,
    /// `clientSecret`; random by default.
    pub client_secret: iam_core::SecretString,
}

impl Default for NexwayRealm {
    fn default() -> Self {
        Self {
            realm: "iam-sandbox".to_owned(),
            client_secret: format!("sbx_nx_{:016x}{:016x}", random_u64(), random_u64()).into(),
        }
    }
}

fn new_token(prefix: &str) -> String {
    format!("{prefix}{:016x}{:016x}", random_u64(), random_u64())
}

fn no_store(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

fn entrust_error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"errorCode": code, "errorMessage": message, "parameters": []})),
    )
        .into_response()
}

/// `POST /api/web/v1/adminapi/authenticate`.
pub(crate) async fn entrust_authenticate(State(sandbox): State<Sandbox>, body: Bytes) -> Response {
    use entrust_idaas::types::{AdminApiAuthentication, AdminApiAuthenticationResult};
    let request: AdminApiAuthentication = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(e) => {
            let why = format!("the body does not match AdminApiAuthentication in the spec: {e}");
            return entrust_error(StatusCode::BAD_REQUEST, "INVALID_REQUEST", &why);
        }
    };
    let app = &sandbox.inner.entrust_app;
    let secret_ok = constant_time_eq(
        request.shared_secret.expose_secret().as_bytes(),
        app.shared_secret.expose_secret().as_bytes(),
    );
    if request.application_id != app.application_id || !secret_ok {
        return entrust_error(
            StatusCode::UNAUTHORIZED,
            "ADMIN_API_AUTHENTICATION_FAILED",
            "Unknown application or wrong shared secret.",
        );
    }
    let lifetime = sandbox.inner.oauth.token_lifetime;
    let token = new_token("sbx_en_");
    sandbox.issue_token(token.clone(), lifetime);
    let result = AdminApiAuthenticationResult {
        auth_token: Some(token.into()),
        creation_time: Some(crate::clock::entrust_now()),
        expiration_time: Some(crate::clock::entrust_in(lifetime)),
    };
    no_store(axum::Json(result).into_response())
}

/// `POST /iam/tokens`.
pub(crate) async fn nexway_tokens(State(sandbox): State<Sandbox>, body: Bytes) -> Response {
    use nexway_iam::types::{AccessTokenResponse, GrantType, TokenRequest};
    let Ok(request) = serde_json::from_slice::<TokenRequest>(&body) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let realm = &sandbox.inner.nexway_realm;
    let secret =
        |s: &Option<iam_core::SecretString>| s.as_ref().map(|s| s.expose_secret().to_owned());
    let granted = match request.grant_type {
        Some(GrantType::ClientCredentials) => secret(&request.client_secret).is_some_and(|s| {
            constant_time_eq(s.as_bytes(), realm.client_secret.expose_secret().as_bytes())
        }),
        Some(GrantType::RefreshToken) => secret(&request.refresh_token)
            .is_some_and(|t| sandbox.inner.refresh.lock().expect("refresh lock").take(&t)),
        // The password grant (Nexway's default) is for people; the simulator has none.
        Some(GrantType::Password) | None => false,
    };
    if String::clone(&request.realm_name) != realm.realm {
        return StatusCode::NOT_FOUND.into_response();
    }
    if !granted {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let lifetime = sandbox.inner.oauth.token_lifetime;
    let access = new_token("sbx_nxat_");
    let refresh = new_token("sbx_nxrt_");
    sandbox.issue_token(access.clone(), lifetime);
    sandbox
        .inner
        .refresh
        .lock()
        .expect("refresh lock")
        .insert(refresh.clone());
    let answer = AccessTokenResponse {
        access_token: Some(access.into()),
        expires_in: Some(lifetime.as_secs().max(1) as i64),
        refresh_expires_in: Some(lifetime.as_secs().max(1) as i64 * 6),
        refresh_token: Some(refresh.into()),
        token_type: Some("bearer".to_owned()),
        id_token: None,
        not_before_policy: Some(0),
        session_state: None,
        scope: None,
    };
    no_store(axum::Json(answer).into_response())
}

/// Refresh tokens issued by `POST /iam/tokens` and not used yet (each is good once, as
/// Keycloak's are when refresh-token rotation is on).
#[derive(Debug, Default)]
pub(crate) struct RefreshTokens {
    tokens: std::collections::HashSet<String>,
    /// How many refresh grants were honoured.
    pub(crate) used: u64,
}

impl RefreshTokens {
    fn insert(&mut self, token: String) {
        self.tokens.insert(token);
    }

    fn take(&mut self, token: &str) -> bool {
        let found = self.tokens.remove(token);
        self.used += u64::from(found);
        found
    }

    /// Forgets every refresh token.
    pub(crate) fn revoke_all(&mut self) {
        self.tokens.clear();
    }
}
