//! The facade given any answer (status, headers, body bytes), for each provider: a `CreatedUser`
//! for any 2xx, an `Error` carrying the status otherwise, never a panic. Over real HTTP on
//! 127.0.0.1, so the bounded number of cases CI runs stays small.

use iam_clients::{
    Connection, EntrustClient, IdentityProvider, MidClient, NewUser, NexwayClient, RetryPolicy,
};
use std::sync::{Arc, Mutex, OnceLock};

use proptest::prelude::*;

#[derive(Debug, Clone)]
struct Answer {
    status: u16,
    content_type: Option<&'static str>,
    retry_after: Option<String>,
    body: Vec<u8>,
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..200),
        Just(br#"{"subSystem":5,"status":"OK","message":"User created successfully"}"#.to_vec()),
        Just(br#"{"errorCode":"X","errorMessage":"no"}"#.to_vec()),
        Just(br#"{"email":"a@x.io","status":"ENABLED"}"#.to_vec()),
        "[ -~]{0,80}".prop_map(String::into_bytes),
    ]
}

fn answer() -> impl Strategy<Value = Answer> {
    (
        prop_oneof![
            200u16..=299,
            300u16..=399,
            400u16..=599,
            Just(201),
            Just(202),
            Just(409),
            Just(429)
        ],
        prop_oneof![
            Just(None),
            Just(Some("application/json")),
            Just(Some("text/html")),
            Just(Some("application/json; charset=utf-8"))
        ],
        prop_oneof![
            Just(None),
            "[0-9]{1,3}".prop_map(Some),
            "[ -~]{0,12}".prop_map(Some)
        ],
        body(),
    )
        .prop_map(|(status, content_type, retry_after, body)| Answer {
            status,
            content_type,
            retry_after,
            body,
        })
}

fn raw(answer: &Answer) -> String {
    // 1xx, 204 and 304 carry no body in HTTP/1.1.
    let body = if matches!(answer.status, 204 | 304) {
        Vec::new()
    } else {
        answer.body.clone()
    };
    let mut head = format!(
        "HTTP/1.1 {} X\r\ncontent-length: {}\r\nconnection: close\r\n",
        answer.status,
        body.len()
    );
    if let Some(ct) = answer.content_type {
        head.push_str(&format!("content-type: {ct}\r\n"));
    }
    if let Some(ra) = &answer.retry_after {
        head.push_str(&format!("retry-after: {ra}\r\n"));
    }
    head.push_str("\r\n");
    // Bodies are bytes; the canned server writes a String, so keep them to UTF-8 lossily.
    head + &String::from_utf8_lossy(&body)
}

fn user() -> NewUser {
    NewUser::builder()
        .username("prop")
        .email("prop@example.com")
        .first_name("P")
        .last_name("Q")
        .password("pw-prop")
        .build()
}

fn check(
    answer: &Answer,
    outcome: Result<iam_clients::CreatedUser, iam_clients::Error>,
) -> Result<(), TestCaseError> {
    match (answer.status, outcome) {
        (200..=299, Ok(created)) => prop_assert_eq!(created.status, answer.status),
        (200..=299, Err(e)) => {
            prop_assert!(false, "a {} is a created user, not {e}", answer.status)
        }
        (_, Ok(created)) => prop_assert!(false, "a {} created {created:?}", answer.status),
        (status, Err(e)) => {
            prop_assert_eq!(e.status(), Some(status), "{}", e);
            prop_assert!(!e.is_outcome_unknown(), "an answer came: {}", e);
        }
    }
    Ok(())
}

/// One loopback server answering every request with the current answer, and the four clients,
/// made once for all cases (so a long run costs requests, not set-up).
struct Harness {
    runtime: tokio::runtime::Runtime,
    answer: Arc<Mutex<String>>,
    clients: Vec<Box<dyn IdentityProvider>>,
}

fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let answer = Arc::new(Mutex::new(String::new()));
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let current = answer.clone();
        runtime.spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    continue;
                };
                let raw = current.lock().unwrap().clone();
                tokio::spawn(async move {
                    // Read the request head and its body (content-length), then answer.
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    loop {
                        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                            let length = head
                                .lines()
                                .find_map(|l| l.strip_prefix("content-length:"))
                                .and_then(|v| v.trim().parse::<usize>().ok())
                                .unwrap_or(0);
                            if buf.len() >= end + 4 + length {
                                break;
                            }
                        }
                        match socket.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let _ = socket.write_all(raw.as_bytes()).await;
                    let _ = socket.shutdown().await;
                });
            }
        });
        let url = format!("http://{addr}");
        let connection = || {
            Connection::new(&url)
                .bearer("tok")
                .retry(RetryPolicy::none())
        };
        let tenant = || {
            Connection::new(format!("http://acme.sandbox.localhost:{}", addr.port()))
                .resolve("acme.sandbox.localhost", addr)
                .bearer("tok")
                .retry(RetryPolicy::none())
        };
        let clients: Vec<Box<dyn IdentityProvider>> = vec![
            Box::new(EntrustClient::new(connection()).unwrap()),
            Box::new(MidClient::ssms(tenant()).unwrap()),
            Box::new(MidClient::shift(connection(), "acme").unwrap()),
            Box::new(NexwayClient::new(connection()).unwrap()),
        ];
        Harness {
            runtime,
            answer,
            clients,
        }
    })
}

/// Cases per run: 48 in CI; `IAM_PROPTEST_CASES=N` for a long run.
fn cases() -> u32 {
    std::env::var("IAM_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(48)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn any_answer_becomes_a_created_user_or_an_error_with_its_status(answer in answer()) {
        let harness = harness();
        *harness.answer.lock().unwrap() = raw(&answer);
        let mut entrust_user = user();
        entrust_user.password = None;
        let other_user = user();
        for (i, client) in harness.clients.iter().enumerate() {
            let user = if i == 0 { &entrust_user } else { &other_user };
            let outcome = harness.runtime.block_on(client.create_user(user));
            check(&answer, outcome)?;
        }
    }
}
