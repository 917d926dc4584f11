//! `cargo xtask contract-diff`, run as a binary against small vendor-like documents written for
//! these tests: `contract/openapi/entrust-idaas.yaml` (parts of our Entrust spec, with two
//! recorded differences) and `contract/vendor.json` (the same contract in the vendor's style).
//! Each kind of change to the vendor's document exits 1 naming the pointer in both documents;
//! a recorded difference exits 0; an unusable input exits 2 saying what is wrong.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/contract")
}

fn vendor() -> Value {
    let text = std::fs::read_to_string(fixtures().join("vendor.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Runs `contract-diff` with `args` (after the subcommand), the document on stdin if given.
/// Returns (exit code, stdout, stderr).
fn run(args: &[&str], stdin: Option<&str>) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg("contract-diff")
        .args(args)
        .arg("--root")
        .arg(fixtures())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    // A run that refuses its arguments exits without reading stdin: the pipe may then be closed
    // before (or while) we write, which is not this test's failure.
    match input.write_all(stdin.unwrap_or_default().as_bytes()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        other => other.unwrap(),
    }
    drop(input);
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs `contract-diff entrust -` over `doc`.
fn diff(doc: &Value) -> (i32, String, String) {
    run(&["entrust", "-"], Some(&doc.to_string()))
}

/// `doc` exits 1 with exactly one difference, this one.
#[track_caller]
fn reports(doc: &Value, key: &str, ours: &str, theirs: &str) -> String {
    let (code, out, err) = diff(doc);
    assert_eq!(code, 1, "{out}{err}");
    let line = format!("differs [{key}] ours #{ours} | theirs #{theirs}: ");
    assert!(out.contains(&line), "expected `{line}` in:\n{out}");
    assert!(out.contains("1 unrecorded difference(s)"), "{out}");
    out
}

const USERS: &str = "/paths/~1api~1web~1v3~1users/post";

#[test]
fn the_vendor_document_as_it_is_exits_0_with_the_recorded_differences_accepted() {
    let doc = fixtures().join("vendor.json");
    let (code, out, err) = run(&["entrust-idaas", doc.to_str().unwrap(), "--all"], None);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("0 unrecorded difference(s), 2 recorded as deliberate, 0 stale record(s)"),
        "{out}"
    );
    assert!(
        out.contains("recorded [format] ours #/components/schemas/User/properties/lastAuthTime | theirs #/components/schemas/User/properties/lastAuthTime"),
        "{out}"
    );
    assert!(out.contains("why: Not published"), "{out}");
    // The same document as YAML, from stdin, and without --all: only the summary.
    let yaml = serde_yaml_ng::to_string(&vendor()).unwrap();
    assert!(!yaml.trim_start().starts_with('{'));
    let (code, out, _) = run(&["entrust", "-"], Some(&yaml));
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("recorded ["), "{out}");
}

#[test]
fn an_added_enum_value_exits_1() {
    let mut doc = vendor();
    doc["components"]["schemas"]["User"]["properties"]["state"]["enum"]
        .as_array_mut()
        .unwrap()
        .push(json!("DELETED"));
    let out = reports(
        &doc,
        "enum:DELETED",
        "/components/schemas/State",
        "/components/schemas/User/properties/state",
    );
    assert!(
        out.contains("enum value \"DELETED\" only in theirs"),
        "{out}"
    );
}

#[test]
fn a_removed_enum_value_in_a_request_exits_1() {
    let mut doc = vendor();
    doc["components"]["schemas"]["UserAliasParms"]["properties"]["type"]["enum"] =
        json!(["CUSTOM", "USERID"]);
    reports(
        &doc,
        "enum:DERIVED",
        "/components/schemas/UserAliasType",
        "/components/schemas/UserAliasParms/properties/type",
    );
}

#[test]
fn a_removed_property_exits_1() {
    let mut doc = vendor();
    doc["components"]["schemas"]["User"]["properties"]
        .as_object_mut()
        .unwrap()
        .remove("locked");
    let out = reports(
        &doc,
        "property:locked",
        "/components/schemas/User",
        "/components/schemas/User",
    );
    assert!(out.contains("property `locked` only in ours"), "{out}");
}

#[test]
fn an_added_property_exits_1() {
    let mut doc = vendor();
    doc["components"]["schemas"]["UserAlias"]["properties"]["userId"] = json!({"type": "string"});
    reports(
        &doc,
        "property:userId",
        "/components/schemas/UserAlias",
        "/components/schemas/UserAlias",
    );
}

#[test]
fn a_changed_type_exits_1() {
    let mut doc = vendor();
    doc["components"]["schemas"]["User"]["properties"]["locked"] = json!({"type": "string"});
    let out = reports(
        &doc,
        "type",
        "/components/schemas/User/properties/locked",
        "/components/schemas/User/properties/locked",
    );
    assert!(
        out.contains("type: ours `\"boolean\"`, theirs `\"string\"`"),
        "{out}"
    );
}

#[test]
fn a_changed_format_nullable_or_required_exits_1() {
    let mut doc = vendor();
    doc["components"]["schemas"]["User"]["properties"]["id"]["format"] = json!("uuid");
    reports(
        &doc,
        "format",
        "/components/schemas/User/properties/id",
        "/components/schemas/User/properties/id",
    );
    let mut doc = vendor();
    doc["components"]["schemas"]["ErrorInfo"]["properties"]["errorCode"]["nullable"] = json!(true);
    reports(
        &doc,
        "nullable",
        "/components/schemas/ErrorInfo/properties/errorCode",
        "/components/schemas/ErrorInfo/properties/errorCode",
    );
    let mut doc = vendor();
    doc["components"]["schemas"]["UserParms"]["required"] = json!(["userId"]);
    reports(
        &doc,
        "required:userId",
        "/components/schemas/UserParms",
        "/components/schemas/UserParms",
    );
}

#[test]
fn a_new_status_exits_1() {
    let mut doc = vendor();
    let responses = &mut doc["paths"]["/api/web/v3/users"]["post"]["responses"];
    responses["409"] = responses["400"].clone();
    reports(&doc, "status:409", USERS, &format!("{USERS}/responses/409"));
}

#[test]
fn a_new_media_type_exits_1() {
    let mut doc = vendor();
    doc["paths"]["/api/web/v3/users"]["post"]["responses"]["400"]["content"]["application/xml"] =
        json!({"schema": {"type": "string"}});
    reports(
        &doc,
        "media:application/xml",
        "/components/responses/Error",
        &format!("{USERS}/responses/400"),
    );
}

#[test]
fn a_changed_security_scheme_exits_1_whatever_its_name() {
    let mut doc = vendor();
    // Renaming the scheme is no difference...
    let schemes = doc["components"]["securitySchemes"]
        .as_object_mut()
        .unwrap();
    let scheme = schemes.remove("AdminAPIAuthentication").unwrap();
    schemes.insert("Renamed".into(), scheme);
    doc["paths"]["/api/web/v3/users"]["post"]["security"] = json!([{"Renamed": []}]);
    assert_eq!(diff(&doc).0, 0);
    // ...changing what it is is.
    doc["components"]["securitySchemes"]["Renamed"] =
        json!({"type": "apiKey", "in": "header", "name": "Authorization"});
    let (code, out, _) = diff(&doc);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(&format!(
            "differs [security:apiKey(header authorization)] ours #{USERS} | theirs #{USERS}/security"
        )),
        "{out}"
    );
    assert!(out.contains("differs [security:http(bearer)]"), "{out}");
}

#[test]
fn an_operation_the_vendor_no_longer_has_exits_1() {
    let mut doc = vendor();
    doc["paths"]
        .as_object_mut()
        .unwrap()
        .remove("/api/web/v3/users");
    reports(&doc, "operation", USERS, "/paths");
}

#[test]
fn a_change_at_a_recorded_node_under_another_key_is_still_reported() {
    let mut doc = vendor();
    doc["paths"]["/api/web/v3/users"]["post"]["responses"]["403"] =
        doc["paths"]["/api/web/v3/users"]["post"]["responses"]["400"].clone();
    doc["components"]["schemas"]["User"]["properties"]["lastAuthTime"]["type"] = json!("integer");
    let (code, out, _) = diff(&doc);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("differs [status:403]"), "{out}");
    assert!(
        out.contains("differs [type] ours #/components/schemas/User/properties/lastAuthTime"),
        "{out}"
    );
    assert!(
        out.contains("2 unrecorded difference(s), 2 recorded as deliberate"),
        "{out}"
    );
}

#[test]
fn a_recorded_difference_that_is_gone_is_a_stale_note_and_exits_0() {
    let mut doc = vendor();
    doc["paths"]["/api/web/v3/users"]["post"]["responses"]["500"] =
        doc["paths"]["/api/web/v3/users"]["post"]["responses"]["400"].clone();
    let (code, out, _) = diff(&doc);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(&format!("note: stale record [status:500] at ours #{USERS}")),
        "{out}"
    );
    assert!(
        out.contains("1 recorded as deliberate, 1 stale record(s)"),
        "{out}"
    );
}

#[test]
fn unusable_input_exits_2_saying_what_is_wrong_and_where() {
    let missing = fixtures().join("no-such-document.json");
    let missing = missing.to_str().unwrap();
    let cases: Vec<(Vec<&str>, Option<&str>, &str)> = vec![
        (vec!["entrust", missing], None, "cannot read "),
        (
            vec!["entrust", "-"],
            Some(r#"{"swagger": "2.0", "paths": {}}"#),
            "(stdin): a Swagger 2.0 document (#/swagger)",
        ),
        (
            vec!["entrust", "-"],
            Some("openapi: 3.1.0\npaths: {}\n"),
            "(stdin): `openapi: 3.1.0` at #/openapi: only OpenAPI 3.0.x is supported",
        ),
        (
            vec!["entrust", "-"],
            Some("{\"openapi\": "),
            "(stdin): not valid JSON",
        ),
        (
            vec!["okta", "-"],
            Some("openapi: 3.0.1\npaths: {}\n"),
            "unknown provider `okta`: expected one of entrust (entrust-idaas), mid (mid-provider), nexway (nexway-iam)",
        ),
        (vec!["entrust"], None, "expected PROVIDER and DOCUMENT"),
        (
            vec!["entrust", "-", "--bogus"],
            None,
            "unexpected option `--bogus`",
        ),
        (
            vec!["mid", "-"],
            Some("openapi: 3.0.1\npaths: {}\n"),
            "cannot read openapi/mid-provider.yaml",
        ),
    ];
    for (args, stdin, expected) in cases {
        let (code, out, err) = run(&args, stdin);
        assert_eq!(code, 2, "{args:?}: {out}{err}");
        assert!(
            err.contains(expected),
            "{args:?}: expected `{expected}` in:\n{err}"
        );
        assert!(!err.contains("panicked"), "{err}");
    }
}
