//! The facade given any answer (status, headers, body bytes), for each provider: a `CreatedUser`
//! for any 2xx, an `Error` carrying the status otherwise, never a panic. Over real HTTP on
//! 127.0.0.1, so the bounded number of cases CI runs stays small.
//!
//! And every success answer a vendor's published contract allows, generated from the spec's
//! response schema and varied (a property the vendor does not require left out, any property
//! `null`, an enum value the spec does not know, properties it does not know), decodes through
//! the generated provider crate used alone, and keeps the user's `id` through the facade.

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
    /// Held by each case: the tests of this file share the one server and its answer.
    turn: Mutex<()>,
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
            turn: Mutex::new(()),
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
        let _turn = harness.turn.lock().unwrap_or_else(|e| e.into_inner());
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

/// Success answers generated from a spec's response schema, varied as a vendor may.
mod contract {
    use proptest::prelude::*;
    use serde_json::{Map, Value};

    pub const NEW_ENUM_VALUE: &str = "A_VALUE_ADDED_LATER";

    /// One member of an object: its name and value, or left out.
    type Member = BoxedStrategy<Option<(String, Value)>>;

    /// The spec `openapi/<file>` as JSON.
    pub fn spec(file: &str) -> Value {
        let path = iam_tests::workspace_root().join("openapi").join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        let yaml: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
        serde_json::to_value(yaml).unwrap()
    }

    fn resolve<'a>(spec: &'a Value, schema: &'a Value) -> &'a Value {
        match schema.get("$ref").and_then(Value::as_str) {
            Some(r) => spec.pointer(r.trim_start_matches('#')).unwrap(),
            None => schema,
        }
    }

    fn scalar(schema: &Value) -> BoxedStrategy<Value> {
        if let Some(values) = schema.get("enum").and_then(Value::as_array) {
            let values = values.clone();
            return prop_oneof![
                4 => proptest::sample::select(values),
                1 => Just(Value::from(NEW_ENUM_VALUE)),
            ]
            .boxed();
        }
        match schema.get("type").and_then(Value::as_str) {
            Some("boolean") => any::<bool>().prop_map(Value::from).boxed(),
            Some("integer") => (-5i64..100_000).prop_map(Value::from).boxed(),
            Some("number") => (-5.0f64..5.0).prop_map(Value::from).boxed(),
            Some("string") => "[A-Za-z0-9 .:+@-]{0,12}".prop_map(Value::from).boxed(),
            // `{}`: anything
            _ => prop_oneof![
                Just(Value::Null),
                Just(Value::from(1)),
                Just(serde_json::json!({"k": [true]}))
            ]
            .boxed(),
        }
    }

    /// A value of `schema` as a vendor might send it: every property present, left out (when
    /// not required), `null`, or (for enums) a value added later; unknown properties added.
    pub fn value(spec: &Value, schema: &Value, depth: u32) -> BoxedStrategy<Value> {
        let schema = resolve(spec, schema);
        match schema.get("type").and_then(Value::as_str) {
            Some("array") => {
                let items = schema.get("items").cloned().unwrap_or(Value::Null);
                let max = if depth > 3 { 0 } else { 2 };
                proptest::collection::vec(value(spec, &items, depth + 1), 0..=max)
                    .prop_map(Value::Array)
                    .boxed()
            }
            Some("object") if schema.get("properties").is_some() => {
                let required: Vec<String> = schema
                    .get("required")
                    .and_then(Value::as_array)
                    .map(|r| {
                        r.iter()
                            .filter_map(|v| v.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default();
                let members: Vec<Member> = schema["properties"]
                    .as_object()
                    .unwrap()
                    .iter()
                    .map(|(name, prop)| {
                        let name = name.clone();
                        let present = value(spec, prop, depth + 1);
                        let optional = !required.contains(&name);
                        let n1 = name.clone();
                        let n2 = name.clone();
                        let mut choices: Vec<(u32, Member)> = vec![
                            (6, present.prop_map(move |v| Some((n1.clone(), v))).boxed()),
                            (1, Just(Some((n2, Value::Null))).boxed()),
                        ];
                        if optional {
                            choices.push((2, Just(None).boxed()));
                        }
                        proptest::strategy::Union::new_weighted(choices).boxed()
                    })
                    .collect();
                let extra = proptest::option::weighted(
                    0.3,
                    (
                        "x[a-z]{1,6}",
                        prop_oneof![
                            Just(Value::from("new")),
                            Just(serde_json::json!({"n": [1, null]}))
                        ],
                    ),
                );
                (members, extra)
                    .prop_map(|(members, extra)| {
                        let mut map: Map<String, Value> = members.into_iter().flatten().collect();
                        if let Some((k, v)) = extra {
                            map.insert(k, v);
                        }
                        Value::Object(map)
                    })
                    .boxed()
            }
            Some("object") => {
                // a map (additionalProperties)
                let items = schema
                    .get("additionalProperties")
                    .filter(|a| a.is_object())
                    .cloned()
                    .unwrap_or(Value::Null);
                proptest::collection::btree_map(
                    "[a-z_]{1,6}",
                    value(spec, &items, depth + 1),
                    0..=2,
                )
                .prop_map(|m| Value::Object(m.into_iter().collect()))
                .boxed()
            }
            _ => scalar(schema),
        }
    }

    /// A success answer of `schema_name` in `file`, varied; its `id` is a string more often than not.
    pub fn answer(file: &str, schema_name: &str) -> BoxedStrategy<Value> {
        let spec = spec(file);
        let schema = serde_json::json!({"$ref": format!("#/components/schemas/{schema_name}")});
        (
            value(&spec, &schema, 0),
            proptest::option::weighted(0.8, "[0-9a-f-]{36}"),
        )
            .prop_map(|(mut answer, id)| {
                if let (Value::Object(map), Some(id)) = (&mut answer, id) {
                    map.insert("id".into(), Value::from(id));
                }
                answer
            })
            .boxed()
    }
}

/// The `id` a decoded answer must keep: the answer's, when it is a non-empty string.
fn expected_id(answer: &serde_json::Value) -> Option<String> {
    answer
        .get("id")
        .and_then(serde_json::Value::as_str)
        .filter(|id| !id.trim().is_empty())
        .map(str::to_owned)
}

fn success(status: u16, body: &serde_json::Value) -> String {
    raw(&Answer {
        status,
        content_type: Some("application/json"),
        retry_after: None,
        body: body.to_string().into_bytes(),
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn any_entrust_user_the_contract_allows_decodes_and_keeps_its_id(
        answer in contract::answer("entrust-idaas.yaml", "User")
    ) {
        let decoded: entrust_idaas::types::User = serde_json::from_value(answer.clone())
            .map_err(|e| TestCaseError::fail(format!("entrust-idaas alone refused it: {e}\n{answer}")))?;
        prop_assert_eq!(decoded.id.clone().filter(|id| !id.trim().is_empty()), expected_id(&answer));
        if let Some(state) = answer.get("state").and_then(|s| s.as_str()) {
            prop_assert_eq!(decoded.state.map(|s| s.to_string()), Some(state.to_owned()), "an enum value is kept as sent");
        }
        let harness = harness();
        let _turn = harness.turn.lock().unwrap_or_else(|e| e.into_inner());
        *harness.answer.lock().unwrap() = success(200, &answer);
        let mut user = user();
        user.password = None;
        let created = harness.runtime.block_on(harness.clients[0].create_user(&user)).unwrap();
        prop_assert_eq!(created.id, expected_id(&answer));
    }

    #[test]
    fn any_nexway_user_the_contract_allows_decodes_and_keeps_its_id(
        answer in contract::answer("nexway-iam.yaml", "User")
    ) {
        let decoded: nexway_iam::types::User = serde_json::from_value(answer.clone())
            .map_err(|e| TestCaseError::fail(format!("nexway-iam alone refused it: {e}\n{answer}")))?;
        prop_assert_eq!(decoded.id.clone().filter(|id| !id.trim().is_empty()), expected_id(&answer));
        let harness = harness();
        let _turn = harness.turn.lock().unwrap_or_else(|e| e.into_inner());
        *harness.answer.lock().unwrap() = success(201, &answer);
        let created = harness.runtime.block_on(harness.clients[3].create_user(&user())).unwrap();
        prop_assert_eq!(created.id, expected_id(&answer));
        prop_assert!(created.answer.is_some(), "the typed answer is kept");
    }

    #[test]
    fn any_mid_answer_the_contract_allows_decodes(
        answer in contract::answer("mid-provider.yaml", "ResponseStatus")
    ) {
        let decoded: Result<mid_provider::types::ResponseStatus, _> = serde_json::from_value(answer.clone());
        prop_assert!(decoded.is_ok(), "mid-provider alone refused {}: {:?}", answer, decoded.err());
        let harness = harness();
        let _turn = harness.turn.lock().unwrap_or_else(|e| e.into_inner());
        *harness.answer.lock().unwrap() = success(202, &answer);
        let created = harness.runtime.block_on(harness.clients[1].create_user(&user())).unwrap();
        prop_assert!(created.answer.is_some(), "the typed answer is kept: {}", answer);
    }
}
