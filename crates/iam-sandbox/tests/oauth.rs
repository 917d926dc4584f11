//! `POST /oauth/token`: the client-credentials grant of RFC 6749 §4.4.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use iam_sandbox::{Config, OAuthClient, Sandbox, app};
use serde_json::Value;
use tower::ServiceExt;

fn sandbox(lifetime: Duration) -> Sandbox {
    Sandbox::new(Config {
        oauth: OAuthClient {
            client_id: "my client".into(),
            client_secret: "s3cret:with/odd=chars".into(),
            token_lifetime: lifetime,
        },
        ..Config::default()
    })
    .unwrap()
}

async fn token_request(
    sandbox: &Sandbox,
    basic: Option<(&str, &str)>,
    form: &str,
) -> (StatusCode, Value) {
    let mut request = Request::post("/oauth/token")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some((id, secret)) = basic {
        use base64::Engine;
        let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let pair = base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            enc(id),
            enc(secret)
        ));
        request = request.header(header::AUTHORIZATION, format!("Basic {pair}"));
    }
    let response = app(sandbox.clone())
        .oneshot(request.body(Body::from(form.to_owned())).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, serde_json::from_slice(&body).unwrap())
}

async fn create_with(sandbox: &Sandbox, token: &str) -> StatusCode {
    let body = r#"{"email":"o@x.io","firstName":"O","lastName":"A","password":"p"}"#;
    let request = Request::post("/iam/users")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body))
        .unwrap();
    app(sandbox.clone())
        .oneshot(request)
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn issues_tokens_to_the_client_by_basic_auth_or_form_fields() {
    let sandbox = sandbox(Duration::from_secs(60));
    let (status, body) = token_request(
        &sandbox,
        Some(("my client", "s3cret:with/odd=chars")),
        "grant_type=client_credentials",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 60);
    let token = body["access_token"].as_str().unwrap().to_owned();

    let form = "grant_type=client_credentials&client_id=my+client&client_secret=s3cret%3Awith%2Fodd%3Dchars";
    let (status, _) = token_request(&sandbox, None, form).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(sandbox.tokens_issued(), 2);

    assert_eq!(create_with(&sandbox, &token).await, StatusCode::CREATED);
    sandbox.revoke_tokens();
    assert_eq!(
        create_with(&sandbox, &token).await,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn refuses_bad_clients_and_grants_as_the_rfc_says() {
    let sandbox = sandbox(Duration::from_secs(60));
    let (status, body) = token_request(
        &sandbox,
        Some(("my client", "wrong")),
        "grant_type=client_credentials",
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client"))
    );
    let (status, body) = token_request(&sandbox, None, "grant_type=client_credentials").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client"))
    );
    let (status, body) = token_request(
        &sandbox,
        Some(("my client", "s3cret:with/odd=chars")),
        "grant_type=password",
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("unsupported_grant_type"))
    );
    let (status, body) = token_request(&sandbox, None, "").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_request"))
    );
    assert_eq!(sandbox.tokens_issued(), 0);
}

#[tokio::test]
async fn issued_tokens_expire() {
    let sandbox = sandbox(Duration::from_millis(300));
    let (_, body) = token_request(
        &sandbox,
        Some(("my client", "s3cret:with/odd=chars")),
        "grant_type=client_credentials",
    )
    .await;
    let token = body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(create_with(&sandbox, &token).await, StatusCode::CREATED);
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(
        create_with(&sandbox, &token).await,
        StatusCode::UNAUTHORIZED
    );
}
