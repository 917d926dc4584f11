//! What the generated clients put on the wire, checked over real HTTP on 127.0.0.1: the path,
//! `Authorization: Bearer`, no `api-version`, the body; and how answers decode. Also the
//! transport policy every constructor enforces.

use iam_tests::{CannedServer, fixture, json_response};
use serde_json::json;

const TOKEN: &str = "tok-3b9f-secret";

fn assert_authorized_without_api_version(req: &iam_tests::Received) {
    assert_eq!(
        req.header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    assert_eq!(req.header("content-type"), Some("application/json"));
    assert_eq!(
        req.header("api-version"),
        None,
        "progenitor's api-version header must be removed"
    );
}

#[tokio::test]
async fn entrust_sends_the_documented_request_and_decodes_the_user() {
    let mut server = CannedServer::start(vec![json_response(
        "200 OK",
        &fixture("entrust-idaas.response.json"),
    )])
    .await;
    let client = entrust_idaas::Client::new(&server.url, TOKEN).unwrap();
    let body: entrust_idaas::types::UserParms =
        serde_json::from_value(fixture("entrust-idaas.request.json")).unwrap();
    let user = client.create_user(&body).await.unwrap().into_inner();
    assert_eq!(user.user_id.as_deref(), Some("john"));

    let req = server.next_request().await.unwrap();
    assert_eq!(req.request_line, "POST /api/web/v3/users HTTP/1.1");
    assert_authorized_without_api_version(&req);
    assert_eq!(req.json()["userAliases"][0]["value"], "johnny");
}

#[tokio::test]
async fn entrust_error_body_is_surfaced() {
    let body = json!({"errorCode": "user_exists", "errorMessage": "User john already exists"});
    let server = CannedServer::start(vec![json_response("400 Bad Request", &body)]).await;
    let client = entrust_idaas::Client::new(&server.url, TOKEN).unwrap();
    let body = serde_json::from_value(fixture("entrust-idaas.request.json")).unwrap();
    let err = client.create_user(&body).await.unwrap_err();
    let entrust_idaas::Error::ErrorResponse(answer) = err else {
        panic!("{err:?}")
    };
    assert_eq!(answer.status(), 400);
    assert_eq!(
        answer.error_message.as_deref(),
        Some("User john already exists")
    );
}

#[tokio::test]
async fn mid_ssms_and_shift_use_their_paths() {
    let accepted = json_response("202 Accepted", &fixture("mid-provider.response-202.json"));
    let mut server = CannedServer::start(vec![accepted.clone(), accepted]).await;
    let body: mid_provider::types::UserRepresentation =
        serde_json::from_value(fixture("mid-provider.request.json")).unwrap();
    let auth = || iam_core::Auth::bearer(TOKEN).unwrap();
    let http = iam_core::HttpOptions::default();

    let ssms =
        mid_provider::Client::with_options(mid_provider::Flavour::Ssms, &server.url, auth(), &http)
            .unwrap();
    let answer = ssms.create_user(&body).await.unwrap();
    assert_eq!(answer.status(), 202);
    assert_eq!(answer.message.as_deref(), Some("User created successfully"));
    let req = server.next_request().await.unwrap();
    assert_eq!(req.request_line, "POST /digitanium/v4/users HTTP/1.1");
    assert_authorized_without_api_version(&req);
    // The secrets are sent (only printing them is prevented).
    assert_eq!(
        req.json()["attributes"]["digitaniumActivationCode"],
        "10101010"
    );
    assert_eq!(req.json()["credentials"][0]["value"], "123");
    assert_eq!(
        req.json(),
        iam_tests::without_unset_members(&fixture("mid-provider.request.json"))
    );

    let shift = mid_provider::Client::with_options(
        mid_provider::Flavour::Shift {
            tenant: "acme corp".into(),
        },
        &server.url,
        auth(),
        &http,
    )
    .unwrap();
    shift.create_user(&body).await.unwrap();
    let req = server.next_request().await.unwrap();
    assert_eq!(
        req.request_line,
        "POST /auth/realms/acme%20corp/v3_user HTTP/1.1"
    );
    assert_authorized_without_api_version(&req);
}

#[tokio::test]
async fn mid_bad_request_carries_the_documented_message() {
    let body = json!({"subSystem": 5, "status": "BAD_REQUEST", "message": "Username should not be null or empty"});
    let server = CannedServer::start(vec![json_response("400 Bad Request", &body)]).await;
    let client = mid_provider::Client::with_options(
        mid_provider::Flavour::Ssms,
        &server.url,
        iam_core::Auth::bearer(TOKEN).unwrap(),
        &Default::default(),
    )
    .unwrap();
    let user = serde_json::from_value(json!({"username": "x"})).unwrap();
    let err = client.create_user(&user).await.unwrap_err();
    let mid_provider::Error::ErrorResponse(answer) = err else {
        panic!("{err:?}")
    };
    assert_eq!(answer.status, Some("BAD_REQUEST".into()));
    assert_eq!(
        answer.message.as_deref(),
        Some("Username should not be null or empty")
    );
}

#[tokio::test]
async fn nexway_created_and_bodiless_refusal() {
    let created = json!({"email": "string", "firstName": "string", "status": "ENABLED"});
    let forbidden =
        "HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".to_owned();
    let mut server =
        CannedServer::start(vec![json_response("201 Created", &created), forbidden]).await;
    let client = nexway_iam::Client::with_base_url(&server.url, TOKEN).unwrap();
    let body: nexway_iam::types::UserCreate =
        serde_json::from_value(fixture("nexway-iam.request.json")).unwrap();

    let user = client.create_user(&body).await.unwrap();
    assert_eq!(user.status(), 201);
    assert_eq!(
        user.status,
        Some(nexway_iam::types::UserStatus::Enabled.into())
    );
    let req = server.next_request().await.unwrap();
    assert_eq!(req.request_line, "POST /iam/users HTTP/1.1");
    assert_authorized_without_api_version(&req);
    assert_eq!(req.json()["password"], "string");

    let err = client.create_user(&body).await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(403));
}

/// A redirect is not followed: the token must not travel to another host, and a create call
/// must not be replayed somewhere else.
#[tokio::test]
async fn redirects_are_not_followed() {
    let mut elsewhere = CannedServer::start(vec![json_response("201 Created", &json!({}))]).await;
    let redirect = format!(
        "HTTP/1.1 307 Temporary Redirect\r\nlocation: {}/iam/users\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
        elsewhere.url
    );
    let server = CannedServer::start(vec![redirect]).await;
    let client = nexway_iam::Client::with_base_url(&server.url, TOKEN).unwrap();
    let body = serde_json::from_value(fixture("nexway-iam.request.json")).unwrap();
    let err = client.create_user(&body).await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(307), "{err:?}");
    assert!(
        elsewhere.next_request().await.is_none(),
        "the redirect was followed"
    );
}

#[test]
fn every_constructor_refuses_plain_http_to_a_remote_host() {
    use iam_core::ConfigError;
    let refused =
        |r: Result<(), ConfigError>| matches!(r, Err(ConfigError::InsecureBaseUrl { .. }));
    assert!(refused(
        entrust_idaas::Client::new("http://acme.us.trustedauth.com", TOKEN).map(drop)
    ));
    assert!(refused(
        nexway_iam::Client::with_base_url("http://api.nexway.store", TOKEN).map(drop)
    ));
    assert!(refused(
        mid_provider::Client::with_options(
            mid_provider::Flavour::Ssms,
            "http://acme.mid.example.com",
            iam_core::Auth::bearer(TOKEN).unwrap(),
            &Default::default()
        )
        .map(drop)
    ));
    // and the documented servers are accepted
    assert!(nexway_iam::Client::new(TOKEN).is_ok());
    assert!(mid_provider::Client::ssms("acme", "mid.example.com", TOKEN).is_ok());
    assert!(mid_provider::Client::shift("mid.example.com", "acme", TOKEN).is_ok());
}

#[test]
fn clients_do_not_print_their_token() {
    let entrust = entrust_idaas::Client::new("https://acme.us.trustedauth.com", TOKEN).unwrap();
    let mid = mid_provider::Client::ssms("acme", "mid.example.com", TOKEN).unwrap();
    let nexway = nexway_iam::Client::new(TOKEN).unwrap();
    let printed = format!("{entrust:?} {mid:?} {nexway:?} {entrust:#?}");
    assert!(!printed.contains("3b9f"), "{printed}");
}

/// A 201 whose body does not decode is still a 201: the post-response hook records the status,
/// which progenitor's decoding error does not carry.
#[tokio::test]
async fn the_status_of_an_undecodable_answer_is_observed() {
    let malformed = "HTTP/1.1 201 Created\r\ncontent-type: application/json\r\ncontent-length: 9\r\nconnection: close\r\n\r\n{\"email\":".to_owned();
    let server = CannedServer::start(vec![malformed]).await;
    let client = nexway_iam::Client::with_base_url(&server.url, TOKEN).unwrap();
    let body = serde_json::from_value(fixture("nexway-iam.request.json")).unwrap();
    let (result, status) = iam_core::observe::with_status(client.create_user(&body)).await;
    assert!(
        matches!(result, Err(nexway_iam::Error::InvalidResponsePayload(..))),
        "{result:?}"
    );
    assert_eq!(status, Some(201));
}
