//! Every writable property of every vendor's create request reaches the wire, from each of the
//! four ways in: a JSONL row, a CSV column, `iam create-user --set`, and the Rust API
//! (`NewUser`'s vendor section). The table is generated from the specs in `openapi/`, not written
//! by hand: for each property of the create operation's request schema, a value is built from
//! that property's schema (an enum's value, a UUID for `format: uuid`, an object with all its
//! properties, a list of one item), sent through each way in to a server on 127.0.0.1 that keeps
//! the raw request, and the request's property must be exactly that value.
//!
//! Secrets are excepted from `--set` (the command line is readable by every user of a machine):
//! a property that is a secret (Nexway's `password`) comes from `--password-stdin` there, and an
//! object holding a secret (mID's `credentials`, `attributes`) is sent without it.
//!
//! The coverage table: `cargo test -p iam-cli --test every_property -- --nocapture`.
//!
//! Then, for each way in: an unknown property, a wrong type, a value outside an enum and a
//! property also set by a common field are refused naming the field, and nothing is sent.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use common::{iam, run, text};
use iam_clients::{Connection, IdentityProvider, NewUser, Vendor};
use serde_json::{Map, Value, json};

/// A vendor: its spec, the create operation, the `--provider` and the success answer.
struct Spec {
    vendor: Vendor,
    provider: &'static str,
    file: &'static str,
    operation: &'static str,
    answer: &'static str,
}

const SPECS: [Spec; 3] = [
    Spec {
        vendor: Vendor::Entrust,
        provider: "entrust",
        file: "entrust-idaas.yaml",
        operation: "create_user",
        answer: "200 OK",
    },
    Spec {
        vendor: Vendor::Mid,
        provider: "mid-ssms",
        file: "mid-provider.yaml",
        operation: "create_user_ssms",
        answer: "202 Accepted",
    },
    Spec {
        vendor: Vendor::Nexway,
        provider: "nexway",
        file: "nexway-iam.yaml",
        operation: "create_user",
        answer: "201 Created",
    },
];

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The spec as JSON.
fn load(spec: &Spec) -> Value {
    let text = std::fs::read_to_string(workspace_root().join("openapi").join(spec.file)).unwrap();
    serde_yaml_ng::from_str(&text).unwrap()
}

/// `#/a/b` in `doc`, followed until it is not a `$ref`.
fn resolve<'a>(doc: &'a Value, mut schema: &'a Value) -> &'a Value {
    while let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        let pointer = reference.strip_prefix('#').unwrap();
        schema = doc
            .pointer(pointer)
            .unwrap_or_else(|| panic!("{reference}"));
    }
    schema
}

/// The request schema of the operation `operation_id`.
fn request_schema<'a>(doc: &'a Value, operation_id: &str) -> &'a Value {
    let operation = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|item| item.as_object().unwrap().values())
        .find(|op| op.get("operationId").and_then(Value::as_str) == Some(operation_id))
        .unwrap_or_else(|| panic!("no operation {operation_id}"));
    let body = resolve(doc, &operation["requestBody"]);
    resolve(doc, &body["content"]["application/json"]["schema"])
}

fn is_secret(doc: &Value, schema: &Value) -> bool {
    resolve(doc, schema).get("format").and_then(Value::as_str) == Some("password")
}

fn is_string(doc: &Value, schema: &Value) -> bool {
    resolve(doc, schema).get("type").and_then(Value::as_str) == Some("string")
}

/// A value for `schema`, named after `name`; without secrets when `secrets` is false.
fn sample(doc: &Value, schema: &Value, name: &str, secrets: bool) -> Option<Value> {
    let schema = resolve(doc, schema);
    if !secrets && is_secret(doc, schema) {
        return None;
    }
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        // The first value that is not empty (Entrust's locale lists "" first).
        return values
            .iter()
            .find(|v| v.as_str() != Some(""))
            .or(values.first())
            .cloned();
    }
    let kind = schema
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("object");
    Some(match kind {
        "string" => match schema.get("format").and_then(Value::as_str) {
            Some("uuid") => json!("3f2b8c1e-7d4a-4e6b-9a0c-5d1e2f3a4b5c"),
            Some("password") => json!(format!("s3cret-{name}")),
            _ => json!(format!("v.{name}")),
        },
        "boolean" => json!(true),
        "integer" | "number" => json!(7),
        "array" => json!([sample(doc, &schema["items"], name, secrets)?]),
        _ => {
            let mut object = Map::new();
            if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
                for (key, property) in properties {
                    if let Some(value) = sample(doc, property, key, secrets) {
                        object.insert(key.clone(), value);
                    }
                }
            }
            match schema.get("additionalProperties") {
                Some(extra) if extra.as_object().is_some_and(|o| !o.is_empty()) => {
                    object.insert(format!("{name}Key"), sample(doc, extra, name, secrets)?);
                }
                Some(Value::Bool(true)) | Some(Value::Object(_)) => {
                    object.insert("customAttribute".into(), json!("custom"));
                }
                _ => {}
            }
            Value::Object(object)
        }
    })
}

/// One row of the table: the property under test and the vendor section that sets it (with the
/// request's other required properties).
struct Case {
    property: String,
    section: Map<String, Value>,
    /// The value the request must carry.
    expected: Value,
}

/// Every writable property of `spec`'s create request, each with the section that sets it.
fn cases(spec: &Spec, secrets: bool) -> Vec<Case> {
    let doc = load(spec);
    let schema = request_schema(&doc, spec.operation);
    let required: Vec<&str> = schema["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let properties = schema["properties"].as_object().unwrap();
    properties
        .iter()
        .map(|(name, property)| {
            let mut section = Map::new();
            for other in &required {
                if *other != name && (secrets || !is_secret(&doc, &properties[*other])) {
                    section.insert(
                        other.to_string(),
                        sample(&doc, &properties[*other], other, true).unwrap(),
                    );
                }
            }
            let value = sample(&doc, property, name, secrets);
            if let Some(value) = &value {
                section.insert(name.clone(), value.clone());
            }
            Case {
                property: name.clone(),
                section,
                expected: value.unwrap_or_else(|| sample(&doc, property, name, true).unwrap()),
            }
        })
        .collect()
}

/// Properties that take a string: CSV cells and `--set NAME=VALUE` give them as is.
fn string_properties(spec: &Spec) -> Vec<String> {
    let doc = load(spec);
    let schema = request_schema(&doc, spec.operation);
    schema["properties"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, p)| is_string(&doc, p))
        .map(|(n, _)| n.clone())
        .collect()
}

/// A server on 127.0.0.1 that answers every request with `answer` (status line) and `{}`, and
/// keeps each request's body.
struct Capture {
    url: String,
    bodies: Arc<Mutex<Vec<Value>>>,
}

impl Capture {
    fn start(answer: &'static str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let kept = bodies.clone();
        std::thread::spawn(move || {
            for socket in listener.incoming() {
                let Ok(mut socket) = socket else { return };
                let _ = socket.set_read_timeout(Some(std::time::Duration::from_secs(10)));
                let mut buf = Vec::new();
                let mut chunk = [0u8; 8192];
                let head_end = loop {
                    if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        break Some(i);
                    }
                    match socket.read(&mut chunk) {
                        Ok(0) | Err(_) => break None,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                };
                let Some(head_end) = head_end else { continue };
                let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
                let length: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                let mut body = buf[head_end + 4..].to_vec();
                while body.len() < length {
                    match socket.read(&mut chunk) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => body.extend_from_slice(&chunk[..n]),
                    }
                }
                let json = serde_json::from_slice(&body).unwrap_or(Value::Null);
                kept.lock().unwrap().push(json);
                let _ = write!(
                    socket,
                    "HTTP/1.1 {answer}\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{{}}"
                );
            }
        });
        Self { url, bodies }
    }

    fn take(&self) -> Vec<Value> {
        std::mem::take(&mut *self.bodies.lock().unwrap())
    }
}

fn target(spec: &Spec, url: &str) -> Vec<String> {
    vec![
        "--provider".into(),
        spec.provider.into(),
        "--base-url".into(),
        url.into(),
    ]
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("iam-every-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `iam import` of `file` into `spec`'s vendor at `url`, one request at a time (so requests
/// arrive in row order).
fn import(spec: &Spec, url: &str, file: &Path) -> std::process::Output {
    let mut args = vec!["import".to_owned()];
    args.extend(target(spec, url));
    args.extend(["--concurrency".into(), "1".into()]);
    args.push(file.display().to_string());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut command = iam(&args);
    command.env("IAM_TOKEN", "t");
    run(command, "")
}

fn csv_cell(text: &str) -> String {
    if text.contains([',', '"', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

/// A section's properties as text: as is for a string property, else JSON.
fn as_text(strings: &[String], name: &str, value: &Value) -> String {
    match value {
        Value::String(s) if strings.iter().any(|p| p == name) => s.clone(),
        other => other.to_string(),
    }
}

/// How many of `cases` the requests in `bodies` (one per case, in any order: an import's rows
/// take request slots in the order they are ready) carry exactly. A request belongs to a case
/// when it carries every property of the case's section as set; cases with more properties are
/// matched first, so that a case whose section is only the required properties gets what is left.
fn reached(way: &str, spec: &Spec, cases: &[Case], bodies: &[Value]) -> usize {
    assert_eq!(
        bodies.len(),
        cases.len(),
        "{way} {}: {} requests for {} rows",
        spec.provider,
        bodies.len(),
        cases.len()
    );
    let mut order: Vec<&Case> = cases.iter().collect();
    order.sort_by_key(|c| std::cmp::Reverse(c.section.len()));
    let mut left: Vec<&Value> = bodies.iter().collect();
    for case in order {
        let carries = |body: &Value| {
            body.get(&case.property) == Some(&case.expected)
                && case
                    .section
                    .iter()
                    .all(|(name, value)| body.get(name) == Some(value))
        };
        let Some(at) = left.iter().position(|b| carries(b)) else {
            panic!(
                "{way} {}: `{}` did not reach the wire as set ({}); the requests left: {left:#?}",
                spec.provider, case.property, case.expected
            );
        };
        left.remove(at);
    }
    cases.len()
}

fn by_jsonl(spec: &Spec, capture: &Capture, dir: &Path) -> usize {
    let cases = cases(spec, true);
    let rows: String = cases
        .iter()
        .map(|c| format!("{}\n", json!({ spec.vendor.name(): c.section })))
        .collect();
    let file = dir.join(format!("{}.jsonl", spec.provider));
    std::fs::write(&file, rows).unwrap();
    let out = import(spec, &capture.url, &file);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    reached("JSONL", spec, &cases, &capture.take())
}

fn by_csv(spec: &Spec, capture: &Capture, dir: &Path) -> usize {
    let cases = cases(spec, true);
    let strings = string_properties(spec);
    let mut columns: Vec<String> = Vec::new();
    for case in &cases {
        for name in case.section.keys() {
            if !columns.contains(name) {
                columns.push(name.clone());
            }
        }
    }
    let mut csv = columns
        .iter()
        .map(|c| format!("{}.{c}", spec.vendor.name()))
        .collect::<Vec<_>>()
        .join(",");
    csv.push('\n');
    for case in &cases {
        let cells: Vec<String> = columns
            .iter()
            .map(|c| {
                case.section
                    .get(c)
                    .map(|v| csv_cell(&as_text(&strings, c, v)))
                    .unwrap_or_default()
            })
            .collect();
        csv.push_str(&cells.join(","));
        csv.push('\n');
    }
    let file = dir.join(format!("{}.csv", spec.provider));
    std::fs::write(&file, csv).unwrap();
    let out = import(spec, &capture.url, &file);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    reached("CSV", spec, &cases, &capture.take())
}

/// `--set` for every property but the secrets; a secret the request requires (Nexway's
/// password) comes from `--password-stdin`.
fn by_set(spec: &Spec, capture: &Capture) -> (usize, Vec<String>) {
    let doc = load(spec);
    let schema = request_schema(&doc, spec.operation);
    let strings = string_properties(spec);
    let mut sent = Vec::new();
    let mut secret = Vec::new();
    for case in cases(spec, false) {
        let property_schema = &schema["properties"][&case.property];
        let mut args = vec!["create-user".to_owned()];
        args.extend(target(spec, &capture.url));
        for (name, value) in &case.section {
            if strings.contains(name) && value.is_string() {
                args.push(format!("--set={name}={}", as_text(&strings, name, value)));
            } else {
                args.push(format!("--set={name}:={value}"));
            }
        }
        let mut stdin = String::new();
        let password = schema["required"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .find(|p| is_secret(&doc, &schema["properties"][*p]));
        if let Some(password) = password {
            args.push("--password-stdin".into());
            stdin = format!(
                "{}\n",
                sample(&doc, &schema["properties"][password], password, true)
                    .unwrap()
                    .as_str()
                    .unwrap()
            );
        }
        if is_secret(&doc, property_schema) {
            secret.push(case.property.clone());
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut command = iam(&args);
        command.env("IAM_TOKEN", "t");
        let out = run(command, &stdin);
        assert_eq!(
            out.status.code(),
            Some(0),
            "--set {}: {}",
            case.property,
            text(&out.stderr)
        );
        sent.push(case);
    }
    (reached("--set", spec, &sent, &capture.take()), secret)
}

fn by_rust(spec: &Spec, capture: &Capture, runtime: &tokio::runtime::Runtime) -> usize {
    let cases = cases(spec, true);
    let connection = || Connection::new(&capture.url).bearer("t");
    let client: Box<dyn IdentityProvider> = match spec.vendor {
        Vendor::Entrust => Box::new(iam_clients::EntrustClient::new(connection()).unwrap()),
        Vendor::Mid => Box::new(iam_clients::MidClient::ssms(connection()).unwrap()),
        Vendor::Nexway => Box::new(iam_clients::NexwayClient::new(connection()).unwrap()),
    };
    for case in &cases {
        let user: NewUser = case
            .section
            .iter()
            .fold(NewUser::builder(), |b, (name, value)| {
                b.vendor(spec.vendor, name.clone(), value.clone())
            })
            .build();
        runtime
            .block_on(client.create_user(&user))
            .unwrap_or_else(|e| panic!("Rust {}: {}: {e}", spec.provider, case.property));
    }
    reached("Rust", spec, &cases, &capture.take())
}

#[test]
fn every_writable_property_reaches_the_wire_from_every_way_in() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = temp_dir("reach");
    let mut table = String::from(
        "| provider | request type | writable properties | JSONL | CSV | --set | Rust |\n|---|---|---|---|---|---|---|\n",
    );
    let mut total = [0; 5];
    for spec in &SPECS {
        let capture = Capture::start(spec.answer);
        let all = cases(spec, true).len();
        let jsonl = by_jsonl(spec, &capture, &dir);
        let csv = by_csv(spec, &capture, &dir);
        let (set, secret) = by_set(spec, &capture);
        let rust = by_rust(spec, &capture, &runtime);
        let set_note = if secret.is_empty() {
            format!("{set}")
        } else {
            format!("{set} ({} by --password-stdin)", secret.join(", "))
        };
        table.push_str(&format!(
            "| {} | {} | {all} | {jsonl} | {csv} | {set_note} | {rust} |\n",
            spec.provider,
            spec.vendor.request_type()
        ));
        for (t, n) in total.iter_mut().zip([all, jsonl, csv, set, rust]) {
            *t += n;
        }
        // The facade and the spec agree on the properties there are.
        let mut ours = spec.vendor.properties();
        ours.sort_unstable();
        let mut theirs: Vec<String> = cases(spec, true).into_iter().map(|c| c.property).collect();
        theirs.sort();
        assert_eq!(ours, theirs, "{}", spec.provider);
    }
    table.push_str(&format!(
        "| all | | {} | {} | {} | {} | {} |\n",
        total[0], total[1], total[2], total[3], total[4]
    ));
    eprintln!("{table}");
    assert_eq!(total, [44; 5], "{table}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// What a refusal must name, for one way in.
struct Refusal {
    what: &'static str,
    /// JSONL row / Rust section (Entrust).
    row: Value,
    /// CSV header and row.
    csv: (&'static str, &'static str),
    /// `create-user` flags after the target.
    flags: &'static [&'static str],
    /// In the message, each way in.
    names: &'static str,
}

fn refusals() -> Vec<Refusal> {
    vec![
        Refusal {
            what: "an unknown property",
            row: json!({"username": "j", "entrust": {"colour": "red"}}),
            csv: ("username,entrust.colour", "j,red"),
            flags: &["--username", "j", "--set", "colour=red"],
            names: "entrust.colour",
        },
        Refusal {
            what: "a wrong type",
            row: json!({"username": "j", "entrust": {"lock": "maybe"}}),
            csv: ("username,entrust.lock", "j,maybe"),
            flags: &["--username", "j", "--set", "lock:=\"maybe\""],
            names: "entrust.lock",
        },
        Refusal {
            what: "a value outside an enum",
            row: json!({"username": "j", "entrust": {"preferredOtpDelivery": "PIGEON"}}),
            csv: ("username,entrust.preferredOtpDelivery", "j,PIGEON"),
            flags: &["--username", "j", "--set", "preferredOtpDelivery=PIGEON"],
            names: "entrust.preferredOtpDelivery",
        },
        Refusal {
            what: "a property also set by a common field",
            row: json!({"username": "j", "email": "j@example.com", "entrust": {"email": "k@example.com"}}),
            csv: (
                "username,email,entrust.email",
                "j,j@example.com,k@example.com",
            ),
            flags: &[
                "--username",
                "j",
                "--email",
                "j@example.com",
                "--set",
                "email=k@example.com",
            ],
            names: "entrust.email",
        },
    ]
}

#[test]
fn every_way_in_refuses_bad_sections_naming_the_field_and_sends_nothing() {
    let spec = &SPECS[0];
    let capture = Capture::start(spec.answer);
    let dir = temp_dir("refuse");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client =
        iam_clients::EntrustClient::new(Connection::new(&capture.url).bearer("t")).unwrap();
    for (i, refusal) in refusals().into_iter().enumerate() {
        let what = refusal.what;
        // JSONL: the row is rejected, naming its line and the field, in the rejects file.
        let file = dir.join(format!("{i}.jsonl"));
        std::fs::write(&file, format!("{}\n", refusal.row)).unwrap();
        let out = import(spec, &capture.url, &file);
        let rejects =
            std::fs::read_to_string(dir.join(format!("{i}.jsonl.rejects"))).unwrap_or_default();
        assert_eq!(
            out.status.code(),
            Some(1),
            "JSONL, {what}: {}",
            text(&out.stderr)
        );
        assert!(
            rejects.contains("\"line\":1") && rejects.contains(refusal.names),
            "JSONL, {what}: {rejects}"
        );
        // CSV: the header names an unknown property (nothing read, exit 2); any other refusal
        // rejects the row.
        let file = dir.join(format!("{i}.csv"));
        std::fs::write(&file, format!("{}\n{}\n", refusal.csv.0, refusal.csv.1)).unwrap();
        let out = import(spec, &capture.url, &file);
        let rejects =
            std::fs::read_to_string(dir.join(format!("{i}.csv.rejects"))).unwrap_or_default();
        let said = format!("{}{rejects}", text(&out.stderr));
        assert!(said.contains(refusal.names), "CSV, {what}: {said}");
        assert!(
            matches!(out.status.code(), Some(1 | 2)),
            "CSV, {what}: {said}"
        );
        // --set: exit 2, naming the field.
        let mut args = vec!["create-user".to_owned()];
        args.extend(target(spec, &capture.url));
        args.extend(refusal.flags.iter().map(|s| s.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut command = iam(&args);
        command.env("IAM_TOKEN", "t");
        let out = run(command, "");
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "--set, {what}: {stderr}");
        let property = refusal.names.trim_start_matches("entrust.");
        assert!(stderr.contains(property), "--set, {what}: {stderr}");
        // Rust: an invalid-input error naming the field.
        let user: NewUser = serde_json::from_value(refusal.row.clone()).unwrap();
        let err = runtime.block_on(client.create_user(&user)).unwrap_err();
        assert_eq!(err.field(), Some(refusal.names), "Rust, {what}: {err}");
        assert!(err.is_refused_before_sending(), "Rust, {what}: {err}");
    }
    assert_eq!(capture.take(), Vec::<Value>::new(), "nothing is sent");
    let _ = std::fs::remove_dir_all(&dir);
}
