//! The router: the four create-user routes, Entrust's lookup, the specs, and the `/_sandbox`
//! control endpoints.

use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::Value;

use crate::create::{self, Created, Refusal};
use crate::faults::{Action, ErrorBody, Fault};
use crate::serve::KillSwitch;
use crate::{Provider, Route, Sandbox};

/// The largest request body read (a create-user body is a few kilobytes).
const BODY_LIMIT: usize = 1 << 20;

/// The simulator's routes, for [`Sandbox`]'s state. Tests can call it in-process with
/// `tower::ServiceExt::oneshot`; the connection-dropping faults need a real connection
/// ([`crate::Sandbox::start`]).
pub fn app(sandbox: Sandbox) -> Router {
    let control = Router::new()
        .route("/_sandbox/users", get(list_users).delete(clear_users))
        .route("/_sandbox/tokens", axum::routing::delete(revoke_tokens))
        .route(
            "/_sandbox/variations",
            get(list_variations)
                .post(set_variation)
                .delete(clear_variations),
        )
        .route(
            "/_sandbox/faults",
            get(list_faults).post(set_fault).delete(clear_faults),
        )
        .route_layer(middleware::from_fn_with_state(
            sandbox.clone(),
            require_token,
        ));
    Router::new()
        .route(Route::Entrust.path(), post(entrust))
        .route(ENTRUST_LOOKUP, post(entrust_lookup))
        .route(Route::MidSsms.path(), post(mid_ssms))
        .route("/auth/realms/{tenant}/v3_user", post(mid_shift))
        .route(Route::Nexway.path(), post(nexway))
        .route("/openapi/{file}", get(spec))
        .route("/oauth/token", post(crate::oauth::token))
        .route(
            "/api/web/v1/adminapi/authenticate",
            post(crate::vendor_tokens::entrust_authenticate),
        )
        .route("/iam/tokens", post(crate::vendor_tokens::nexway_tokens))
        .merge(control)
        .with_state(sandbox)
}

async fn entrust(State(sandbox): State<Sandbox>, request: Request) -> Response {
    let tenant = tenant_from_host(request.headers());
    handle_create(&sandbox, Route::Entrust, tenant, request).await
}

/// Entrust's lookup of a user by user ID (`user_by_userid` in the spec).
const ENTRUST_LOOKUP: &str = "/api/web/v3/users/userid";

/// The request's body, at most `BODY_LIMIT` bytes; else the provider's 400 with `code`.
async fn read_body(
    provider: Provider,
    body: axum::body::Body,
    code: &str,
) -> Result<axum::body::Bytes, Response> {
    axum::body::to_bytes(body, BODY_LIMIT).await.map_err(|_| {
        let message = format!("the body is unreadable or over {BODY_LIMIT} bytes");
        refusal(Refusal::new(
            provider,
            StatusCode::BAD_REQUEST,
            code,
            &message,
        ))
    })
}

/// A lookup: auth, body, spec check, answer from the users held. It is not one of the create
/// routes ([`Route`]): no fault, rate limit or answer variation applies to it, and it creates
/// nothing.
async fn entrust_lookup(State(sandbox): State<Sandbox>, request: Request) -> Response {
    let provider = Provider::Entrust;
    let tenant = tenant_from_host(request.headers());
    let (parts, body) = request.into_parts();
    if !sandbox.authorized(provider, &parts.headers) {
        return refusal(Refusal::unauthorized(provider));
    }
    let body = match read_body(provider, body, "INVALID_REQUEST").await {
        Ok(body) => body,
        Err(refused) => return refused,
    };
    match crate::lookup::entrust(&sandbox, &tenant, &body) {
        Ok(found) => json_response(found.status, found.body.to_string().into_bytes()),
        Err(refused) => refusal(refused),
    }
}

async fn mid_ssms(State(sandbox): State<Sandbox>, request: Request) -> Response {
    let tenant = tenant_from_host(request.headers());
    handle_create(&sandbox, Route::MidSsms, tenant, request).await
}

async fn mid_shift(
    State(sandbox): State<Sandbox>,
    Path(tenant): Path<String>,
    request: Request,
) -> Response {
    handle_create(&sandbox, Route::MidShift, tenant, request).await
}

async fn nexway(State(sandbox): State<Sandbox>, request: Request) -> Response {
    handle_create(&sandbox, Route::Nexway, "default".to_owned(), request).await
}

/// The tenant a host name names: its first label when it has several (`acme.localhost`,
/// `acme.us.trustedauth.com`), else `default` (an IP address, `localhost`).
pub fn tenant_from_host(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    let name = match host.rsplit_once(':') {
        Some((name, port)) if !name.ends_with(']') || port.chars().all(|c| c.is_ascii_digit()) => {
            name
        }
        _ => host,
    };
    iam_core::base_url::tenant_label(name)
        .map_or_else(|| "default".to_owned(), str::to_ascii_lowercase)
}

/// Every create route: fault, latency, auth, body, spec check, conflict, store, answer.
async fn handle_create(
    sandbox: &Sandbox,
    route: Route,
    tenant: String,
    request: Request,
) -> Response {
    let provider = route.provider();
    sandbox.count_request(route);
    // The network's jitter before the gateway (none unless asked for).
    sandbox.arrive().await;
    // The gateway's rate limit comes first: a 429 creates nothing and consumes no fault.
    if let Err(retry_after) = sandbox.admit(route) {
        return status_answer(provider, 429, retry_after, ErrorBody::Json);
    }
    let fault = sandbox.take_fault(route).unwrap_or_default();
    if fault.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(fault.latency_ms)).await;
    }
    let (parts, body) = request.into_parts();
    let kill = parts.extensions.get::<KillSwitch>().cloned();
    match &fault.action {
        Action::DropBeforeRead => return drop_connection(kill).await,
        Action::Status {
            status,
            retry_after,
            body,
        } => return status_answer(provider, *status, *retry_after, *body),
        _ => {}
    }
    if !sandbox.authorized(provider, &parts.headers) {
        return refusal(Refusal::unauthorized(provider));
    }
    let body = match read_body(provider, body, "BAD_REQUEST").await {
        Ok(body) => body,
        Err(refused) => return refused,
    };
    let created = match provider {
        Provider::Entrust => create::entrust(sandbox, &tenant, &body),
        Provider::Mid => create::mid(sandbox, &tenant, &body),
        Provider::Nexway => create::nexway(sandbox, &tenant, &body),
    };
    match created {
        Ok(mut created) => {
            created.body = sandbox.vary(route, created.body);
            answer_created(created, fault.action, kill).await
        }
        Err(refused) => refusal(refused),
    }
}

fn json_response(status: StatusCode, body: Vec<u8>) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

fn refusal(refused: Refusal) -> Response {
    if refused.body.is_null() {
        return refused.status.into_response();
    }
    json_response(refused.status, refused.body.to_string().into_bytes())
}

/// The success answer, altered by a fault that strikes after the user was created.
async fn answer_created(created: Created, action: Action, kill: Option<KillSwitch>) -> Response {
    let Created { status, mut body } = created;
    match action {
        Action::DropAfterRead => drop_connection(kill).await,
        Action::EmptyBody => status.into_response(),
        Action::MalformedJson => {
            let text = body.to_string();
            let cut = text.len() / 2;
            json_response(status, text.as_bytes()[..cut].to_vec())
        }
        Action::TruncatedBody => {
            let text = body.to_string().into_bytes();
            let full = text.len();
            let half = Bytes::copy_from_slice(&text[..full / 2]);
            // Yield once between the half and the error: hyper flushes what it has (the head and
            // the half) when the body is pending, then aborts the connection on the error.
            let error = futures_util::stream::once(async {
                tokio::task::yield_now().await;
                Err(std::io::Error::other("iam-sandbox: truncated-body fault"))
            });
            let chunks = futures_util::stream::iter([Ok(half)]).chain(error);
            let mut response = Response::new(Body::from_stream(chunks));
            *response.status_mut() = status;
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            headers.insert(header::CONTENT_LENGTH, HeaderValue::from(full));
            response
        }
        Action::LargeBody { bytes } => {
            if let Value::Object(map) = &mut body {
                map.insert("padding".to_owned(), Value::String("x".repeat(bytes)));
            }
            json_response(status, body.to_string().into_bytes())
        }
        Action::None | Action::Status { .. } | Action::DropBeforeRead => {
            json_response(status, body.to_string().into_bytes())
        }
    }
}

/// Closes the connection without an answer. The handler never returns: the connection task
/// drops it along with the connection.
async fn drop_connection(kill: Option<KillSwitch>) -> Response {
    match kill {
        Some(kill) => {
            kill.fire();
            std::future::pending().await
        }
        None => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "iam-sandbox: a drop-connection fault needs a real connection (Sandbox::start), not an in-process call",
        )
            .into_response(),
    }
}

fn status_answer(
    provider: Provider,
    status: u16,
    retry_after: Option<u64>,
    body: ErrorBody,
) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let reason = status.canonical_reason().unwrap_or("Error");
    let mut response = match body {
        ErrorBody::Empty => status.into_response(),
        ErrorBody::Json => refusal(Refusal::new(provider, status, "ERROR", reason)),
        ErrorBody::Html => {
            let code = status.as_u16();
            let page = format!(
                "<!DOCTYPE html>\n<html><head><title>{code} {reason}</title></head><body><h1>{code} {reason}</h1></body></html>\n"
            );
            let mut response = (status, page).into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            response
        }
    };
    if let Some(secs) = retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

async fn spec(Path(file): Path<String>) -> Response {
    let found = Provider::ALL
        .into_iter()
        .find(|p| file.strip_suffix(".yaml") == Some(p.spec_name()));
    match found {
        Some(provider) => {
            let mut response = provider.spec_yaml().into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/yaml"),
            );
            response
        }
        None => (
            StatusCode::NOT_FOUND,
            "no such spec: try entrust-idaas.yaml, mid-provider.yaml or nexway-iam.yaml",
        )
            .into_response(),
    }
}

/// The control endpoints take the same token as the provider routes (`Authorization: Bearer`).
async fn require_token(State(sandbox): State<Sandbox>, request: Request, next: Next) -> Response {
    if sandbox.authorized(Provider::Nexway, request.headers()) {
        next.run(request).await
    } else {
        let message = "iam-sandbox: Authorization: Bearer <sandbox token> required";
        (StatusCode::UNAUTHORIZED, message).into_response()
    }
}

async fn list_users(State(sandbox): State<Sandbox>) -> Response {
    json_response(StatusCode::OK, sandbox.all_users().to_string().into_bytes())
}

async fn clear_users(State(sandbox): State<Sandbox>) -> Response {
    sandbox.clear_users();
    StatusCode::NO_CONTENT.into_response()
}

async fn revoke_tokens(State(sandbox): State<Sandbox>) -> Response {
    sandbox.revoke_tokens();
    StatusCode::NO_CONTENT.into_response()
}

async fn list_faults(State(sandbox): State<Sandbox>) -> Response {
    let faults = serde_json::to_vec(&sandbox.faults()).expect("faults serialize");
    json_response(StatusCode::OK, faults)
}

#[derive(Deserialize)]
struct SetFault {
    route: Route,
    #[serde(flatten)]
    fault: Fault,
}

/// `{"route": ..., "rate_limit": {...} | null}`: a route's rate limit.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetRateLimit {
    route: Route,
    rate_limit: Option<crate::RateLimit>,
}

async fn set_fault(State(sandbox): State<Sandbox>, body: Bytes) -> Response {
    let bad = |why: String| {
        (
            StatusCode::BAD_REQUEST,
            format!("iam-sandbox: bad fault: {why}"),
        )
    };
    if serde_json::from_slice::<Value>(&body).is_ok_and(|v| v.get("rate_limit").is_some()) {
        let request: SetRateLimit = match serde_json::from_slice(&body) {
            Ok(request) => request,
            Err(e) => {
                let why = format!(
                    "{e}. Expected e.g. {{\"route\": \"nexway\", \"rate_limit\": {{\"per_second\": 20, \"burst\": 20}}}}"
                );
                return bad(why).into_response();
            }
        };
        if let Some(Err(why)) = request.rate_limit.map(|l| l.check()) {
            return bad(why).into_response();
        }
        sandbox.set_rate_limit(request.route, request.rate_limit);
        return StatusCode::NO_CONTENT.into_response();
    }
    let request: SetFault = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(e) => {
            let message = format!(
                "iam-sandbox: bad fault: {e}. Expected e.g. {{\"route\": \"nexway\", \"action\": {{\"kind\": \"status\", \"status\": 503}}, \"times\": 2}}"
            );
            return (StatusCode::BAD_REQUEST, message).into_response();
        }
    };
    if let Err(why) = request.fault.check() {
        return (
            StatusCode::BAD_REQUEST,
            format!("iam-sandbox: bad fault: {why}"),
        )
            .into_response();
    }
    sandbox.set_fault(request.route, request.fault);
    StatusCode::NO_CONTENT.into_response()
}

async fn list_variations(State(sandbox): State<Sandbox>) -> Response {
    axum::Json(sandbox.variations()).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetVariation {
    route: Route,
    variation: crate::Variation,
}

async fn set_variation(State(sandbox): State<Sandbox>, body: Bytes) -> Response {
    match serde_json::from_slice::<SetVariation>(&body) {
        Ok(request) => {
            sandbox.set_variation(request.route, request.variation);
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => (
            StatusCode::BAD_REQUEST,
            format!(
                "iam-sandbox: bad variation: {e}. Expected e.g. {{\"route\": \"entrust\", \"variation\": \"nulls\"}} (variations: sparse, nulls, unknown-enums, extra-properties)"
            ),
        )
            .into_response(),
    }
}

async fn clear_variations(State(sandbox): State<Sandbox>) -> Response {
    sandbox.clear_variations();
    StatusCode::NO_CONTENT.into_response()
}

async fn clear_faults(State(sandbox): State<Sandbox>) -> Response {
    sandbox.clear_faults();
    StatusCode::NO_CONTENT.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(h: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_str(h).unwrap());
        headers
    }

    #[test]
    fn tenant_is_the_first_label_of_a_host_name() {
        assert_eq!(tenant_from_host(&host("acme.localhost:8080")), "acme");
        assert_eq!(tenant_from_host(&host("Acme.us.trustedauth.com")), "acme");
        assert_eq!(tenant_from_host(&host("127.0.0.1:8080")), "default");
        assert_eq!(tenant_from_host(&host("[::1]:8080")), "default");
        assert_eq!(tenant_from_host(&host("localhost:1")), "default");
        assert_eq!(tenant_from_host(&HeaderMap::new()), "default");
    }
}
