//! What needs a real connection: dropped connections, a truncated body, TLS, the state file
//! across restarts, a taken port, the generated clients against the simulator, and the binary.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use iam_core::{Auth, HttpOptions};
use iam_sandbox::{Action, Config, Fault, Provider, Route, Sandbox, SandboxError, ServeOptions};
use serde_json::{Value, json};

const TOKEN: &str = "sockets-test-token";

fn sandbox(state_file: Option<std::path::PathBuf>) -> Sandbox {
    Sandbox::new(Config {
        token: Some(TOKEN.into()),
        state_file,
        ..Config::default()
    })
    .unwrap()
}

fn nexway_user(email: &str) -> Value {
    json!({"email": email, "firstName": "Ada", "lastName": "Lovelace", "password": "pw-never-stored"})
}

fn http() -> reqwest::Client {
    HttpOptions::default()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

async fn post_nexway(
    client: &reqwest::Client,
    url: &str,
    body: &Value,
) -> reqwest::Result<reqwest::Response> {
    client
        .post(format!("{url}/iam/users"))
        .bearer_auth(TOKEN)
        .json(body)
        .send()
        .await
}

#[tokio::test]
async fn drop_before_read_creates_nothing_and_drop_after_read_creates_the_user() {
    let sandbox = sandbox(None);
    let running = sandbox.start(ServeOptions::default()).await.unwrap();
    let client = http();

    sandbox.set_fault(
        Route::Nexway,
        Fault::action(Action::DropBeforeRead).times(1),
    );
    let err = post_nexway(&client, running.url(), &nexway_user("a@x.io"))
        .await
        .unwrap_err();
    assert!(
        err.is_request() || err.is_connect() || err.is_body(),
        "{err:?}"
    );
    assert!(sandbox.users(Provider::Nexway, "default").is_empty());

    sandbox.set_fault(Route::Nexway, Fault::action(Action::DropAfterRead).times(1));
    let err = post_nexway(&client, running.url(), &nexway_user("b@x.io"))
        .await
        .unwrap_err();
    assert!(err.status().is_none(), "no answer at all: {err:?}");
    assert_eq!(
        sandbox.users(Provider::Nexway, "default").len(),
        1,
        "the user was created all the same"
    );

    // and the route is healthy again
    let ok = post_nexway(&client, running.url(), &nexway_user("c@x.io"))
        .await
        .unwrap();
    assert_eq!(ok.status(), 201);
}

#[tokio::test]
async fn truncated_body_fails_while_reading_the_answer() {
    let sandbox = sandbox(None);
    let running = sandbox.start(ServeOptions::default()).await.unwrap();
    sandbox.set_fault(Route::Nexway, Fault::action(Action::TruncatedBody));
    let response = post_nexway(&http(), running.url(), &nexway_user("t@x.io"))
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let announced = response.content_length().unwrap();
    let err = response.bytes().await.unwrap_err();
    assert!(err.is_body() || err.is_decode(), "{err:?}");
    assert!(announced > 0);
    assert_eq!(sandbox.users(Provider::Nexway, "default").len(), 1);
}

#[tokio::test]
async fn generated_clients_work_against_the_simulator_mid_ssms_tenant_in_the_host() {
    let sandbox = sandbox(None);
    let running = sandbox.start(ServeOptions::default()).await.unwrap();
    // acme.localhost does not resolve everywhere: pin it to the simulator.
    let port = running.addr().port();
    let http = HttpOptions::default().resolve("acme.localhost", running.addr());
    let client = mid_provider::Client::with_options(
        mid_provider::Flavour::Ssms,
        &format!("http://acme.localhost:{port}"),
        Auth::bearer(TOKEN).unwrap(),
        &http,
    )
    .unwrap();
    let user =
        serde_json::from_value(json!({"username": "grace", "email": "grace@navy.mil"})).unwrap();
    let answer = client.create_user(&user).await.unwrap();
    assert_eq!(answer.status(), 202);
    assert_eq!(sandbox.users(Provider::Mid, "acme").len(), 1);

    let again = client.create_user(&user).await.unwrap_err();
    let mid_provider::Error::ErrorResponse(refusal) = again else {
        panic!("{again:?}")
    };
    assert_eq!(refusal.status(), 409);
    assert_eq!(
        refusal.message.as_deref(),
        Some("User exists with same username")
    );
}

#[tokio::test]
async fn tls_with_the_certificate_trusted_and_refused_without_it() {
    let sandbox = sandbox(None);
    let running = sandbox
        .start(ServeOptions {
            tls: true,
            ..ServeOptions::default()
        })
        .await
        .unwrap();
    assert!(running.url().starts_with("https://127.0.0.1:"));
    let pem = running.cert_pem().unwrap();
    assert!(pem.contains("BEGIN CERTIFICATE"));

    let trusted = HttpOptions::default().trust_pem(pem.as_bytes()).unwrap();
    let client =
        nexway_iam::Client::with_options(running.url(), Auth::bearer(TOKEN).unwrap(), &trusted)
            .unwrap();
    let user = serde_json::from_value(nexway_user("tls@x.io")).unwrap();
    assert_eq!(client.create_user(&user).await.unwrap().status(), 201);

    let untrusted = nexway_iam::Client::with_options(
        running.url(),
        Auth::bearer(TOKEN).unwrap(),
        &HttpOptions::default(),
    )
    .unwrap();
    let user = serde_json::from_value(nexway_user("untrusted@x.io")).unwrap();
    let err = untrusted.create_user(&user).await.unwrap_err();
    assert!(err.status().is_none(), "refused before any answer: {err:?}");
    assert_eq!(
        sandbox.users(Provider::Nexway, "default").len(),
        1,
        "nothing reached the simulator"
    );
}

#[tokio::test]
async fn state_survives_a_restart_and_keeps_the_conflict_rule() {
    let dir = std::env::temp_dir().join(format!("iam-sandbox-state-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("users.json");
    let _ = std::fs::remove_file(&path);

    let first = sandbox(Some(path.clone()));
    let running = first.start(ServeOptions::default()).await.unwrap();
    assert_eq!(
        post_nexway(&http(), running.url(), &nexway_user("kept@x.io"))
            .await
            .unwrap()
            .status(),
        201
    );
    running.shutdown().await.unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.contains("kept@x.io") && !text.contains("pw-never-stored"),
        "{text}"
    );

    let second = sandbox(Some(path.clone()));
    assert_eq!(second.users(Provider::Nexway, "default").len(), 1);
    let running = second.start(ServeOptions::default()).await.unwrap();
    let again = post_nexway(&http(), running.url(), &nexway_user("KEPT@x.io"))
        .await
        .unwrap();
    assert_eq!(again.status(), 409);
    // written shortly after each change, without a shutdown
    assert_eq!(
        post_nexway(&http(), running.url(), &nexway_user("new@x.io"))
            .await
            .unwrap()
            .status(),
        201
    );
    let mut written = false;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        if std::fs::read_to_string(&path).unwrap().contains("new@x.io") {
            written = true;
            break;
        }
    }
    assert!(written, "the state file was not updated after a create");
    drop(running);

    std::fs::write(&path, "[1, 2").unwrap();
    let err = Sandbox::new(Config {
        state_file: Some(path.clone()),
        ..Config::default()
    })
    .unwrap_err();
    assert!(matches!(err, SandboxError::StateFile { .. }));
    assert!(err.to_string().contains("users.json"), "{err}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn a_taken_port_and_plain_http_off_loopback_are_refused() {
    let first = sandbox(None).start(ServeOptions::default()).await.unwrap();
    let taken = ServeOptions {
        port: first.addr().port(),
        ..ServeOptions::default()
    };
    let err = sandbox(None).start(taken).await.unwrap_err();
    assert!(matches!(err, SandboxError::Bind { .. }));
    assert!(err.to_string().contains(&first.addr().to_string()), "{err}");

    let public = ServeOptions {
        host: "0.0.0.0".parse().unwrap(),
        ..ServeOptions::default()
    };
    let err = sandbox(None).start(public).await.unwrap_err();
    assert!(err.to_string().contains("loopback only"), "{err}");
}

#[test]
fn the_binary_prints_its_url_and_token_and_refuses_bad_input() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_iam-sandbox"))
        .args(["--port", "0"])
        .env("IAM_SANDBOX_TOKEN", "from-the-env")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let second = lines.next().unwrap().unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        first.starts_with("iam-sandbox listening on http://127.0.0.1:"),
        "{first}"
    );
    assert!(second.contains("token: from-the-env"), "{second}");

    let bad_flag = Command::new(env!("CARGO_BIN_EXE_iam-sandbox"))
        .arg("--colour")
        .output()
        .unwrap();
    assert_eq!(bad_flag.status.code(), Some(2));

    let dir = std::env::temp_dir().join(format!("iam-sandbox-bin-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let state = dir.join("broken.json");
    std::fs::write(&state, "not json").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_iam-sandbox"))
        .args(["--port", "0", "--state"])
        .arg(&state)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("broken.json") && stderr.contains("not an iam-sandbox state file"),
        "{stderr}"
    );
    std::fs::remove_dir_all(dir).unwrap();

    let help = Command::new(env!("CARGO_BIN_EXE_iam-sandbox"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(
        help.contains("IAM_SANDBOX_TOKEN") && help.contains("Examples:"),
        "{help}"
    );
}

#[test]
fn the_binary_with_tls_writes_the_certificate_it_serves() {
    let dir = std::env::temp_dir().join(format!("iam-sandbox-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cert = dir.join("sandbox.pem");
    let mut child = Command::new(env!("CARGO_BIN_EXE_iam-sandbox"))
        .args(["--port", "0", "--tls", "--cert-out"])
        .arg(&cert)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let lines: Vec<String> = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok)
        .take_while(|l| !l.starts_with("Press Ctrl-C"))
        .collect();
    let url = lines[0]
        .trim_start_matches("iam-sandbox listening on ")
        .to_owned();
    let written = std::fs::read_to_string(&cert).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let spec = runtime.block_on(async {
        let client = HttpOptions::default()
            .trust_pem(written.as_bytes())
            .unwrap()
            .build()
            .unwrap();
        client
            .get(format!("{url}/openapi/nexway-iam.yaml"))
            .send()
            .await
    });
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(url.starts_with("https://127.0.0.1:"), "{lines:?}");
    assert!(lines.iter().any(|l| l.contains("sandbox.pem")), "{lines:?}");
    assert_eq!(
        spec.unwrap().status(),
        200,
        "the written certificate is the one served"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// The gateway limit: a burst, then 429 with Retry-After and nothing created; set through
/// `/_sandbox/faults` and cleared the same way; per route.
#[tokio::test]
async fn the_rate_limiter_answers_429_with_retry_after_beyond_its_burst() {
    let sandbox = sandbox(None);
    let running = sandbox.start(ServeOptions::default()).await.unwrap();
    let client = http();
    let control = |body: Value| {
        client
            .post(format!("{}/_sandbox/faults", running.url()))
            .bearer_auth(TOKEN)
            .json(&body)
            .send()
    };
    // 1 a second with a burst of 5: of 20 requests at once, 5 (6 if a second passes) go through.
    let set = control(json!({"route": "nexway", "rate_limit": {"per_second": 1, "burst": 5}}))
        .await
        .unwrap();
    assert_eq!(set.status(), 204);
    assert_eq!(
        sandbox.rate_limits().get(&Route::Nexway),
        Some(&iam_sandbox::RateLimit::per_second(1).burst(5))
    );
    let mut statuses = Vec::new();
    for i in 0..20 {
        let answer = post_nexway(&client, running.url(), &nexway_user(&format!("u{i}@x.io")))
            .await
            .unwrap();
        if answer.status() == 429 {
            let after: u64 = answer.headers()["retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!((1..=2).contains(&after), "Retry-After: {after}");
        }
        statuses.push(answer.status().as_u16());
    }
    let created = statuses.iter().filter(|s| **s == 201).count();
    assert!((5..=7).contains(&created), "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 20 - created);
    assert_eq!(sandbox.rate_limited(Route::Nexway), (20 - created) as u64);
    assert_eq!(sandbox.users(Provider::Nexway, "default").len(), created);

    // Another route is not limited; a bad limit is refused naming the field; null clears it.
    let mid = client
        .post(format!("{}/auth/realms/acme/v3_user", running.url()))
        .bearer_auth(TOKEN)
        .json(&json!({"username": "ngk"}))
        .send()
        .await
        .unwrap();
    assert_eq!(mid.status(), 202);
    let bad = control(json!({"route": "nexway", "rate_limit": {"per_second": 0}}))
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    assert!(bad.text().await.unwrap().contains("per_second"));
    // Fixed windows: the budget, then Retry-After the rest of the window; and a 429 without
    // Retry-After.
    let set =
        control(json!({"route": "nexway", "rate_limit": {"per_second": 1, "window_secs": 30}}))
            .await
            .unwrap();
    assert_eq!(set.status(), 204);
    let mut window = Vec::new();
    for i in 0..32 {
        let answer = post_nexway(&client, running.url(), &nexway_user(&format!("w{i}@x.io")))
            .await
            .unwrap();
        let after = answer
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().parse::<u64>().unwrap());
        window.push((answer.status().as_u16(), after));
    }
    assert!(window[..30].iter().all(|&(s, _)| s == 201), "{window:?}");
    for &(status, after) in &window[30..] {
        assert_eq!(status, 429);
        assert!(after.is_some_and(|a| (28..=30).contains(&a)), "{window:?}");
    }
    let set = control(json!({"route": "nexway", "rate_limit": {"per_second": 1, "burst": 1, "retry_after": false}}))
        .await
        .unwrap();
    assert_eq!(set.status(), 204);
    let first = post_nexway(&client, running.url(), &nexway_user("n1@x.io"))
        .await
        .unwrap();
    let second = post_nexway(&client, running.url(), &nexway_user("n2@x.io"))
        .await
        .unwrap();
    assert_eq!(
        (first.status().as_u16(), second.status().as_u16()),
        (201, 429)
    );
    assert!(second.headers().get("retry-after").is_none());
    let bad = control(
        json!({"route": "nexway", "rate_limit": {"per_second": 1, "burst": 2, "window_secs": 5}}),
    )
    .await
    .unwrap();
    assert_eq!(bad.status(), 400);
    assert!(bad.text().await.unwrap().contains("window_secs"));

    let clear = control(json!({"route": "nexway", "rate_limit": null}))
        .await
        .unwrap();
    assert_eq!(clear.status(), 204);
    let answer = post_nexway(&client, running.url(), &nexway_user("after@x.io"))
        .await
        .unwrap();
    assert_eq!(answer.status(), 201);
}

#[tokio::test]
async fn a_rate_limit_at_start_applies_to_every_route() {
    let sandbox = Sandbox::new(Config {
        token: Some(TOKEN.into()),
        rate_limit: Some(iam_sandbox::RateLimit::per_second(1).burst(1)),
        ..Config::default()
    })
    .unwrap();
    assert_eq!(sandbox.rate_limits().len(), 4);
    let running = sandbox.start(ServeOptions::default()).await.unwrap();
    let client = http();
    let mut statuses = Vec::new();
    for i in 0..5 {
        let answer = post_nexway(&client, running.url(), &nexway_user(&format!("u{i}@x.io")))
            .await
            .unwrap();
        statuses.push(answer.status().as_u16());
    }
    assert_eq!(statuses[0], 201, "{statuses:?}");
    assert!(statuses.contains(&429), "{statuses:?}");
    let err = Sandbox::new(Config {
        rate_limit: Some(iam_sandbox::RateLimit::per_second(0)),
        ..Config::default()
    })
    .unwrap_err();
    assert!(err.to_string().contains("per_second"), "{err}");
}
