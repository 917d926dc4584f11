//! The vendors' own token endpoints and the answer variations, in-process through `app()`:
//! what a right and a wrong secret answer (as each vendor publishes), that an issued token
//! opens the create routes, that a Nexway refresh token is good once, and how the variation
//! control endpoint refuses bad input.

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use iam_sandbox::{
    Config, EntrustAdminApp, NexwayRealm, OAuthClient, Route, Sandbox, Variation, app,
};
use serde_json::{Value, json};
use tower::ServiceExt;

const TOKEN: &str = "ve-token";

fn sandbox(lifetime: Duration) -> (Sandbox, Router) {
    let sandbox = Sandbox::new(Config {
        token: Some(TOKEN.into()),
        oauth: OAuthClient {
            token_lifetime: lifetime,
            ..OAuthClient::default()
        },
        entrust_app: EntrustAdminApp {
            application_id: "app".into(),
            shared_secret: "ss".into(),
        },
        nexway_realm: NexwayRealm {
            realm: "realm".into(),
            client_secret: "cs".into(),
        },
        ..Config::default()
    })
    .unwrap();
    let router = app(sandbox.clone());
    (sandbox, router)
}

async fn post(router: &Router, path: &str, auth: Option<&str>, body: Value) -> (StatusCode, Value) {
    let mut request = Request::builder()
        .method("POST")
        .uri(path)
        .header(header::HOST, "acme.sandbox.localhost")
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(auth) = auth {
        request = request.header(header::AUTHORIZATION, auth);
    }
    let response = router
        .clone()
        .oneshot(request.body(Body::from(body.to_string())).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn entrust_authenticate_answers_a_token_that_opens_the_create_route() {
    let (_, router) = sandbox(Duration::from_secs(300));
    let path = "/api/web/v1/adminapi/authenticate";
    let (status, body) = post(
        &router,
        path,
        None,
        json!({"applicationId": "app", "sharedSecret": "ss"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let token = body["authToken"].as_str().unwrap().to_owned();
    let (created, expires) = (
        body["creationTime"].as_str().unwrap(),
        body["expirationTime"].as_str().unwrap(),
    );
    assert!(created.ends_with("+0000") && expires > created, "{body}");
    // Entrust takes its token with or without `Bearer `.
    let user = json!({"userId": "john"});
    let (status, _) = post(&router, "/api/web/v3/users", Some(&token), user).await;
    assert_eq!(status, StatusCode::OK);

    // (body, status, errorCode): a wrong secret or application is 401, a bad body 400.
    let table = [
        (
            json!({"applicationId": "app", "sharedSecret": "nope"}),
            StatusCode::UNAUTHORIZED,
        ),
        (
            json!({"applicationId": "other", "sharedSecret": "ss"}),
            StatusCode::UNAUTHORIZED,
        ),
        (json!({"applicationId": "app"}), StatusCode::BAD_REQUEST),
        (json!({"sharedSecret": "ss"}), StatusCode::BAD_REQUEST),
    ];
    for (body, expected) in table {
        let (status, answer) = post(&router, path, None, body.clone()).await;
        assert_eq!(status, expected, "{body}");
        assert!(
            answer["errorCode"].is_string(),
            "Entrust's ErrorInfo: {answer}"
        );
        assert!(!answer.to_string().contains("\"ss\""), "{answer}");
    }
}

#[tokio::test]
async fn entrust_tokens_expire() {
    let (_, router) = sandbox(Duration::from_millis(300));
    let (_, body) = post(
        &router,
        "/api/web/v1/adminapi/authenticate",
        None,
        json!({"applicationId": "app", "sharedSecret": "ss"}),
    )
    .await;
    let auth = format!("Bearer {}", body["authToken"].as_str().unwrap());
    tokio::time::sleep(Duration::from_millis(400)).await;
    let (status, _) = post(
        &router,
        "/api/web/v3/users",
        Some(&auth),
        json!({"userId": "late"}),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn nexway_tokens_client_credentials_and_single_use_refresh() {
    let (sandbox, router) = sandbox(Duration::from_secs(300));
    let grant =
        json!({"realmName": "realm", "clientSecret": "cs", "grantType": "client_credentials"});
    let (status, body) = post(&router, "/iam/tokens", None, grant).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["expires_in"].as_i64().unwrap() > 0);
    let access = body["access_token"].as_str().unwrap().to_owned();
    let refresh = body["refresh_token"].as_str().unwrap().to_owned();
    let user = json!({"email": "a@b.c", "firstName": "A", "lastName": "B", "password": "p"});
    let (status, created) = post(
        &router,
        "/iam/users",
        Some(&format!("Bearer {access}")),
        user,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert!(
        created["id"].is_string() && created["token"].is_string(),
        "{created}"
    );
    assert!(
        created.get("password").is_none(),
        "never the password: {created}"
    );
    let stored = sandbox.users(iam_sandbox::Provider::Nexway, "default");
    assert!(
        stored[0].get("token").is_none(),
        "the set-password token is not stored"
    );

    let refresh_grant =
        json!({"realmName": "realm", "grantType": "refresh_token", "refreshToken": refresh});
    let (status, _) = post(&router, "/iam/tokens", None, refresh_grant.clone()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(sandbox.refresh_grants(), 1);
    let (status, _) = post(&router, "/iam/tokens", None, refresh_grant).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a refresh token is good once"
    );

    // (body, status): Nexway's errors have no body.
    let table = [
        (
            json!({"realmName": "realm", "clientSecret": "nope", "grantType": "client_credentials"}),
            StatusCode::UNAUTHORIZED,
        ),
        (
            json!({"realmName": "realm", "clientSecret": "cs"}),
            StatusCode::UNAUTHORIZED,
        ),
        (
            json!({"realmName": "elsewhere", "clientSecret": "cs", "grantType": "client_credentials"}),
            StatusCode::NOT_FOUND,
        ),
        (
            json!({"clientSecret": "cs", "grantType": "client_credentials"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"realmName": "realm", "grantType": "magic"}),
            StatusCode::BAD_REQUEST,
        ),
    ];
    for (body, expected) in table {
        let (status, answer) = post(&router, "/iam/tokens", None, body.clone()).await;
        assert_eq!((status, answer), (expected, Value::Null), "{body}");
    }
}

#[tokio::test]
async fn variations_are_set_listed_and_refused_when_malformed() {
    let (sandbox, router) = sandbox(Duration::from_secs(300));
    let auth = format!("Bearer {TOKEN}");
    let (status, _) = post(
        &router,
        "/_sandbox/variations",
        Some(&auth),
        json!({"route": "nexway", "variation": "nulls"}),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        sandbox.variations().get(&Route::Nexway),
        Some(&Variation::Nulls)
    );
    let user = json!({"email": "a@b.c", "firstName": "A", "lastName": "B", "password": "p"});
    let (status, answer) = post(&router, "/iam/users", Some(&auth), user).await;
    assert_eq!(status, StatusCode::CREATED);
    assert!(
        answer["id"].is_string() && answer["email"].is_null(),
        "{answer}"
    );
    for bad in [
        json!({"route": "nexway", "variation": "chaos"}),
        json!({"route": "moon", "variation": "nulls"}),
        json!({"variation": "nulls"}),
    ] {
        let (status, _) = post(&router, "/_sandbox/variations", Some(&auth), bad.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    }
    let (status, _) = post(
        &router,
        "/_sandbox/variations",
        None,
        json!({"route": "nexway", "variation": "sparse"}),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the control endpoints need the token"
    );
}
