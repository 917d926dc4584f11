//! Every documented status per provider, the conflict rule, the specs, the control endpoints and
//! the faults that do not need a real connection, called in-process through `app()`.

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use iam_sandbox::{Action, Config, ErrorBody, Fault, Provider, Route, Sandbox, app};
use serde_json::{Value, json};
use tower::ServiceExt;

const TOKEN: &str = "sandbox-test-token";

fn sandbox() -> (Sandbox, Router) {
    let sandbox = Sandbox::new(Config {
        token: Some(TOKEN.into()),
        ..Config::default()
    })
    .unwrap();
    let router = app(sandbox.clone());
    (sandbox, router)
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
}

async fn call(
    router: &Router,
    method: &str,
    path: &str,
    host: &str,
    auth: Option<&str>,
    body: Option<Value>,
) -> Answer {
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header(header::HOST, host);
    if let Some(auth) = auth {
        request = request.header(header::AUTHORIZATION, auth);
    }
    let body = match body {
        Some(v) => {
            request = request.header(header::CONTENT_TYPE, "application/json");
            Body::from(v.to_string())
        }
        None => Body::empty(),
    };
    let response = router
        .clone()
        .oneshot(request.body(body).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap()
        .to_vec();
    Answer {
        status,
        headers,
        body,
    }
}

async fn post(router: &Router, path: &str, host: &str, body: Value) -> Answer {
    call(
        router,
        "POST",
        path,
        host,
        Some(&format!("Bearer {TOKEN}")),
        Some(body),
    )
    .await
}

fn seed(name: &str) -> Value {
    let path = format!("{}/../../tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

const ENTRUST: &str = "/api/web/v3/users";
const SSMS: &str = "/digitanium/v4/users";
const NEXWAY: &str = "/iam/users";

#[tokio::test]
async fn entrust_answers_the_full_user_shaped_like_the_seed() {
    let (sandbox, router) = sandbox();
    let answer = post(
        &router,
        ENTRUST,
        "acme.us.trustedauth.com",
        seed("entrust-idaas.request.json"),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
    let user = answer.json();
    // Entrust's published User, with what the seed's sample shows of a new user.
    let typed: entrust_idaas::types::User = serde_json::from_value(user.clone()).unwrap();
    assert!(
        typed.id.as_deref().is_some_and(|id| id.len() == 36),
        "{user}"
    );
    assert_eq!(user["state"], "ACTIVE");
    assert_eq!(user["type"], "MGMT_UI");
    assert!(
        user["userCreationTime"]
            .as_str()
            .unwrap()
            .ends_with("+0000")
    );
    assert_eq!(user["userId"], "john");
    assert_eq!(user["locked"], false);
    assert_eq!(user["tokens"], json!([]));
    assert_eq!(user["grids"], json!([]));
    let aliases = user["userAliases"].as_array().unwrap();
    assert_eq!(aliases.len(), 2);
    assert_eq!(
        (aliases[0]["value"].as_str(), aliases[0]["type"].as_str()),
        (Some("johnny"), Some("CUSTOM"))
    );
    assert_eq!(
        (aliases[1]["value"].as_str(), aliases[1]["type"].as_str()),
        (Some("john"), Some("USERID"))
    );
    // fresh UUIDs, all different
    let ids = [&user["id"], &aliases[0]["id"], &aliases[1]["id"]];
    for id in ids {
        assert!(uuid::Uuid::parse_str(id.as_str().unwrap()).is_ok(), "{id}");
    }
    assert_ne!(ids[0], ids[1]);
    // decodes into the generated response type
    serde_json::from_value::<entrust_idaas::types::User>(user).unwrap();
    assert_eq!(sandbox.users(Provider::Entrust, "acme").len(), 1);
}

#[tokio::test]
async fn entrust_auth_accepts_the_token_with_or_without_bearer() {
    let (_, router) = sandbox();
    let user = |id: &str| json!({"userId": id, "email": format!("{id}@x.com")});
    let raw = call(
        &router,
        "POST",
        ENTRUST,
        "a.b.c",
        Some(TOKEN),
        Some(user("raw")),
    )
    .await;
    assert_eq!(raw.status, StatusCode::OK);
    for auth in [
        None,
        Some("Bearer wrong"),
        Some("wrong"),
        Some("Basic c2FuZGJveA=="),
    ] {
        let answer = call(&router, "POST", ENTRUST, "a.b.c", auth, Some(user("x"))).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{auth:?}");
        serde_json::from_value::<entrust_idaas::types::ErrorInfo>(answer.json()).unwrap();
    }
}

#[tokio::test]
async fn entrust_refusals_and_conflicts() {
    let (_, router) = sandbox();
    let bad = post(
        &router,
        ENTRUST,
        "acme.x.y",
        json!({"state": "SLEEPING", "userId": "a"}),
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(
        bad.json()["errorMessage"]
            .as_str()
            .unwrap()
            .contains("SLEEPING"),
        "{}",
        bad.json()
    );
    let missing = post(&router, ENTRUST, "acme.x.y", json!({"email": "a@b.c"})).await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    assert!(
        missing.json()["errorMessage"]
            .as_str()
            .unwrap()
            .contains("missing field `userId`"),
        "{}",
        missing.json()
    );
    let empty = post(&router, ENTRUST, "acme.x.y", json!({"userId": ""})).await;
    assert_eq!(
        empty.status,
        StatusCode::BAD_REQUEST,
        "the spec's minLength: 1"
    );

    assert_eq!(
        post(
            &router,
            ENTRUST,
            "acme.x.y",
            json!({"userId": "ann", "email": "ann@x.com"})
        )
        .await
        .status,
        StatusCode::OK
    );
    let same_id = post(&router, ENTRUST, "acme.x.y", json!({"userId": "ANN"})).await;
    assert_eq!(same_id.status, StatusCode::CONFLICT);
    assert_eq!(same_id.json()["errorCode"], "USER_ALREADY_EXISTS");
    let same_email = post(
        &router,
        ENTRUST,
        "acme.x.y",
        json!({"userId": "bob", "email": "Ann@X.com"}),
    )
    .await;
    assert_eq!(same_email.status, StatusCode::CONFLICT);
    assert!(
        same_email.json()["errorMessage"]
            .as_str()
            .unwrap()
            .contains("email")
    );
    // another account is another tenant
    assert_eq!(
        post(&router, ENTRUST, "globex.x.y", json!({"userId": "ann"}))
            .await
            .status,
        StatusCode::OK
    );
}

const ENTRUST_LOOKUP: &str = "/api/web/v3/users/userid";

/// A POST with a body of any bytes (not necessarily JSON).
async fn post_raw(router: &Router, path: &str, body: &[u8]) -> StatusCode {
    let request = Request::builder()
        .method("POST")
        .uri(path)
        .header(header::HOST, "acme.x.y")
        .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_vec()))
        .unwrap();
    router.clone().oneshot(request).await.unwrap().status()
}

#[tokio::test]
async fn entrust_lookup_answers_the_stored_user_by_user_id_or_alias() {
    let (_, router) = sandbox();
    let created = post(
        &router,
        ENTRUST,
        "acme.x.y",
        json!({"userId": "ann", "userAliases": [{"value": "annie", "type": "CUSTOM"}]}),
    )
    .await;
    assert_eq!(created.status, StatusCode::OK);
    let created = created.json();
    assert!(created["id"].is_string(), "{created}");

    for key in ["ann", "ANN", "annie", "Annie"] {
        let found = post(&router, ENTRUST_LOOKUP, "acme.x.y", json!({"userId": key})).await;
        assert_eq!(
            found.status,
            StatusCode::OK,
            "{key}: {}",
            String::from_utf8_lossy(&found.body)
        );
        assert_eq!(
            found.json(),
            created,
            "{key}: the user as the create call answered it"
        );
    }
    // an alias of one user does not hide another user whose user ID it is
    let other = post(&router, ENTRUST, "acme.x.y", json!({"userId": "annie"})).await;
    assert_eq!(other.status, StatusCode::OK);
    let found = post(
        &router,
        ENTRUST_LOOKUP,
        "acme.x.y",
        json!({"userId": "annie"}),
    )
    .await;
    assert_eq!(found.json()["id"], other.json()["id"]);

    for (host, key) in [
        ("acme.x.y", "bob"),
        ("acme.x.y", "an"),
        ("globex.x.y", "ann"),
    ] {
        let absent = post(&router, ENTRUST_LOOKUP, host, json!({"userId": key})).await;
        assert_eq!(absent.status, StatusCode::NOT_FOUND, "{host} {key}");
        assert_eq!(absent.json()["errorCode"], "USER_NOT_FOUND");
    }
    let unauthorized = call(
        &router,
        "POST",
        ENTRUST_LOOKUP,
        "acme.x.y",
        Some("Bearer wrong"),
        Some(json!({"userId": "ann"})),
    )
    .await;
    assert_eq!(unauthorized.status, StatusCode::UNAUTHORIZED);
    let missing = post(
        &router,
        ENTRUST_LOOKUP,
        "acme.x.y",
        json!({"email": "a@b.c"}),
    )
    .await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    assert_eq!(missing.json()["errorCode"], "INVALID_REQUEST");
    assert!(
        missing.json()["errorMessage"]
            .as_str()
            .unwrap()
            .contains("UserGetParms")
    );
}

#[tokio::test]
async fn entrust_lookup_refuses_any_bad_body_with_400_and_never_panics() {
    let (_, router) = sandbox();
    let long = format!("{{\"userId\": \"{}\"", "x".repeat(100_000));
    let bodies: &[&[u8]] = &[
        b"",
        b"{",
        b"null",
        b"[]",
        b"\"ann\"",
        b"{\"userId\": 5}",
        b"{\"userId\": null}",
        b"{\"userId\": [\"ann\"]}",
        b"\xff\xfe{}",
        long.as_bytes(),
    ];
    for body in bodies {
        assert_eq!(
            post_raw(&router, ENTRUST_LOOKUP, body).await,
            StatusCode::BAD_REQUEST,
            "{}",
            String::from_utf8_lossy(&body[..body.len().min(40)])
        );
    }
    let huge = vec![b' '; 2 << 20];
    assert_eq!(
        post_raw(&router, ENTRUST_LOOKUP, &huge).await,
        StatusCode::BAD_REQUEST
    );
    // odd but well-formed keys are looked up, not refused
    for key in ["", " ", "\u{0}", "%2F..%2F", "ü", "a\"b"] {
        let answer = post(&router, ENTRUST_LOOKUP, "acme.x.y", json!({"userId": key})).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{key:?}");
    }
}

#[tokio::test]
async fn mid_answers_202_as_documented_and_stores_no_secret() {
    let (sandbox, router) = sandbox();
    let answer = post(
        &router,
        SSMS,
        "acme.mid.example",
        seed("mid-provider.request.json"),
    )
    .await;
    assert_eq!(answer.status, StatusCode::ACCEPTED);
    assert_eq!(answer.json(), seed("mid-provider.response-202.json"));
    let stored = sandbox.users(Provider::Mid, "acme");
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0]["username"], "ngk");
    assert_eq!(stored[0]["attributes"]["groups"], json!(["ks-users"]));
    let everything = sandbox.all_users().to_string();
    assert!(
        !everything.contains("10101010"),
        "activation code stored: {everything}"
    );
    assert!(
        !everything.contains("\"123\""),
        "password stored: {everything}"
    );
}

#[tokio::test]
async fn mid_documented_400_401_and_conflict_across_flavours() {
    let (_, router) = sandbox();
    let documented = json!({"subSystem": 5, "status": "BAD_REQUEST", "message": "Username should not be null or empty"});
    for body in [
        json!({"email": "a@b.c"}),
        json!({"username": ""}),
        json!({"username": null}),
    ] {
        let answer = post(&router, SSMS, "acme.h.io", body.clone()).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(answer.json(), documented);
    }
    let pattern = post(
        &router,
        SSMS,
        "acme.h.io",
        json!({"username": "john smith"}),
    )
    .await;
    assert_eq!(pattern.status, StatusCode::BAD_REQUEST);
    assert!(
        pattern.json()["message"]
            .as_str()
            .unwrap()
            .contains("pattern"),
        "{}",
        pattern.json()
    );

    let raw = call(
        &router,
        "POST",
        SSMS,
        "acme.h.io",
        Some(TOKEN),
        Some(json!({"username": "u"})),
    )
    .await;
    assert_eq!(
        raw.status,
        StatusCode::UNAUTHORIZED,
        "mID takes only `Bearer <token>`"
    );
    assert_eq!(
        raw.json(),
        json!({"subSystem": 5, "status": "Unauthorized", "message": "HTTP 401 Unauthorized"})
    );

    assert_eq!(
        post(
            &router,
            SSMS,
            "acme.h.io",
            json!({"username": "eve", "email": "eve@x.io"})
        )
        .await
        .status,
        StatusCode::ACCEPTED
    );
    // SHIFT on the same tenant shares SSMS's users
    let again = post(
        &router,
        "/auth/realms/acme/v3_user",
        "h.io",
        json!({"username": "Eve"}),
    )
    .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(
        again.json(),
        json!({"subSystem": 5, "status": "CONFLICT", "message": "User exists with same username"})
    );
    let other = post(
        &router,
        "/auth/realms/globex/v3_user",
        "h.io",
        json!({"username": "eve"}),
    )
    .await;
    assert_eq!(other.status, StatusCode::ACCEPTED);
}

#[tokio::test]
async fn nexway_201_400_401_409() {
    let (sandbox, router) = sandbox();
    let created = post(
        &router,
        NEXWAY,
        "127.0.0.1",
        seed("nexway-iam.request.json"),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED);
    let user = created.json();
    assert_eq!(user["email"], "string");
    assert!(
        user.get("password").is_none(),
        "the password is not echoed: {user}"
    );
    serde_json::from_value::<nexway_iam::types::User>(user).unwrap();
    assert!(!sandbox.all_users().to_string().contains("password"));

    let mut missing = seed("nexway-iam.request.json");
    missing.as_object_mut().unwrap().remove("lastName");
    let bad = post(&router, NEXWAY, "127.0.0.1", missing).await;
    assert_eq!(
        (bad.status, bad.body.len()),
        (StatusCode::BAD_REQUEST, 0),
        "400 without a body"
    );

    let unauthorized = call(&router, "POST", NEXWAY, "127.0.0.1", None, Some(json!({}))).await;
    assert_eq!(
        (unauthorized.status, unauthorized.body.len()),
        (StatusCode::UNAUTHORIZED, 0)
    );

    let again = post(
        &router,
        NEXWAY,
        "127.0.0.1",
        seed("nexway-iam.request.json"),
    )
    .await;
    assert_eq!((again.status, again.body.len()), (StatusCode::CONFLICT, 0));
}

#[tokio::test]
async fn specs_are_served_as_embedded() {
    let (_, router) = sandbox();
    for provider in Provider::ALL {
        let path = format!("/openapi/{}.yaml", provider.spec_name());
        let answer = call(&router, "GET", &path, "127.0.0.1", None, None).await;
        assert_eq!(answer.status, StatusCode::OK);
        let on_disk = std::fs::read_to_string(format!(
            "{}/../../openapi/{}.yaml",
            env!("CARGO_MANIFEST_DIR"),
            provider.spec_name()
        ))
        .unwrap();
        assert_eq!(String::from_utf8(answer.body).unwrap(), on_disk);
    }
    let missing = call(
        &router,
        "GET",
        "/openapi/other.yaml",
        "127.0.0.1",
        None,
        None,
    )
    .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn control_endpoints_need_the_token_and_check_their_input() {
    let (sandbox, router) = sandbox();
    let bearer = format!("Bearer {TOKEN}");
    assert_eq!(
        call(&router, "GET", "/_sandbox/users", "h", None, None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    post(&router, NEXWAY, "h", seed("nexway-iam.request.json")).await;
    let users = call(&router, "GET", "/_sandbox/users", "h", Some(&bearer), None).await;
    assert_eq!(
        users.json()["nexway-iam"]["default"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    let fault = json!({"route": "nexway", "action": {"kind": "status", "status": 503}, "times": 1});
    assert_eq!(
        call(
            &router,
            "POST",
            "/_sandbox/faults",
            "h",
            Some(&bearer),
            Some(fault)
        )
        .await
        .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        sandbox.faults()[&Route::Nexway],
        Fault::status(503).times(1)
    );
    for bad in [
        json!({"route": "nowhere"}),
        json!({"route": "nexway", "action": {"kind": "status", "status": 42}}),
    ] {
        let answer = call(
            &router,
            "POST",
            "/_sandbox/faults",
            "h",
            Some(&bearer),
            Some(bad.clone()),
        )
        .await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(String::from_utf8_lossy(&answer.body).contains("bad fault"));
    }
    assert_eq!(
        call(
            &router,
            "DELETE",
            "/_sandbox/faults",
            "h",
            Some(&bearer),
            None
        )
        .await
        .status,
        StatusCode::NO_CONTENT
    );
    assert!(sandbox.faults().is_empty());
    assert_eq!(
        call(
            &router,
            "DELETE",
            "/_sandbox/users",
            "h",
            Some(&bearer),
            None
        )
        .await
        .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(sandbox.all_users(), json!({}));
}

#[tokio::test]
async fn status_faults_do_not_create_and_fail_the_next_n_only() {
    let (sandbox, router) = sandbox();
    sandbox.set_fault(Route::Nexway, Fault::status(429).retry_after(7).times(2));
    for _ in 0..2 {
        let answer = post(&router, NEXWAY, "h", seed("nexway-iam.request.json")).await;
        assert_eq!(answer.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(answer.headers[header::RETRY_AFTER], "7");
    }
    assert!(sandbox.users(Provider::Nexway, "default").is_empty());
    assert_eq!(
        post(&router, NEXWAY, "h", seed("nexway-iam.request.json"))
            .await
            .status,
        StatusCode::CREATED
    );

    sandbox.set_fault(Route::MidSsms, Fault::status(500));
    let html = post(&router, SSMS, "acme.h.io", json!({"username": "u"})).await;
    assert_eq!(html.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        html.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(String::from_utf8_lossy(&html.body).contains("<h1>500 Internal Server Error</h1>"));

    sandbox.set_fault(
        Route::Entrust,
        Fault::action(Action::Status {
            status: 503,
            retry_after: Some(1),
            body: ErrorBody::Json,
        }),
    );
    let json_503 = post(&router, ENTRUST, "a.b.c", json!({"userId": "z"})).await;
    assert_eq!(json_503.status, StatusCode::SERVICE_UNAVAILABLE);
    serde_json::from_value::<entrust_idaas::types::ErrorInfo>(json_503.json()).unwrap();
}

#[tokio::test]
async fn body_faults_create_the_user_and_spoil_the_answer() {
    let (sandbox, router) = sandbox();
    let user = |n: u32| json!({"username": format!("user{n}")});

    sandbox.set_fault(
        Route::MidSsms,
        Fault::action(Action::MalformedJson).times(1),
    );
    let malformed = post(&router, SSMS, "acme.h.io", user(1)).await;
    assert_eq!(malformed.status, StatusCode::ACCEPTED);
    assert!(serde_json::from_slice::<Value>(&malformed.body).is_err());
    assert!(!malformed.body.is_empty());

    sandbox.set_fault(Route::MidSsms, Fault::action(Action::EmptyBody).times(1));
    let empty = post(&router, SSMS, "acme.h.io", user(2)).await;
    assert_eq!((empty.status, empty.body.len()), (StatusCode::ACCEPTED, 0));

    sandbox.set_fault(
        Route::MidSsms,
        Fault::action(Action::LargeBody { bytes: 3 << 20 }).times(1),
    );
    let large = post(&router, SSMS, "acme.h.io", user(3)).await;
    assert!(large.body.len() > 3 << 20);
    assert_eq!(large.json()["message"], "User created successfully");

    sandbox.set_fault(Route::MidSsms, Fault::latency(150).times(1));
    let started = std::time::Instant::now();
    assert_eq!(
        post(&router, SSMS, "acme.h.io", user(4)).await.status,
        StatusCode::ACCEPTED
    );
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(150),
        "the latency was not applied"
    );

    assert_eq!(
        sandbox.users(Provider::Mid, "acme").len(),
        4,
        "every one of these created its user"
    );
}

#[tokio::test]
async fn drop_faults_explain_themselves_in_process() {
    let (sandbox, router) = sandbox();
    sandbox.set_fault(Route::Nexway, Fault::action(Action::DropAfterRead));
    let answer = post(&router, NEXWAY, "h", seed("nexway-iam.request.json")).await;
    assert_eq!(answer.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(String::from_utf8_lossy(&answer.body).contains("needs a real connection"));
}
