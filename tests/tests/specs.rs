//! The specs themselves: valid OpenAPI 3.0, and faithful on the points the seeds make.

use std::io::Write;
use std::process::{Command, Stdio};

use iam_tests::workspace_root;

const SPECS: &[&str] = &["entrust-idaas.yaml", "mid-provider.yaml", "nexway-iam.yaml"];

/// Validates each spec against the OpenAPI 3.0 schema with `openapi-spec-validator` (PyPI).
#[test]
fn specs_are_valid_openapi_3_0() {
    for spec in SPECS {
        let path = workspace_root().join("openapi").join(spec);
        let out = Command::new("python3")
            .args(["-m", "openapi_spec_validator"])
            .arg(&path)
            .output()
            .expect("python3 must be installed to validate the specs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !stderr.contains("No module named"),
            "openapi-spec-validator is missing: python3 -m pip install openapi-spec-validator==0.7.1"
        );
        assert!(
            out.status.success(),
            "{spec} is not valid OpenAPI 3.0:\n{}{stderr}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}

/// Checks every `example` and `examples` value of a spec (its text on stdin) against its schema,
/// with `openapi_schema_validator`'s `OAS30Validator` (installed with openapi-spec-validator):
/// a media type's, parameter's or header's example against its `schema`, a schema's against the
/// schema itself, `$ref`s resolved against the spec's `components`. Prints one line per invalid
/// example, naming its JSON pointer and the place inside it, then a count; exits 1 if any is
/// invalid or none was found.
const CHECK_EXAMPLES: &str = r##"
import sys, yaml
from openapi_schema_validator import OAS30Validator, oas30_format_checker

spec = yaml.safe_load(sys.stdin.read())
components = spec.get("components", {})

def esc(t):
    return str(t).replace("~", "~0").replace("/", "~1")


def resolve(node):
    for _ in range(32):
        if not (isinstance(node, dict) and isinstance(node.get("$ref"), str)):
            return node
        target = spec
        for t in node["$ref"].lstrip("#").split("/")[1:]:
            target = target[t.replace("~1", "/").replace("~0", "~")]
        node = target
    return node

checked, failures = 0, []

def check(value, schema, where):
    global checked
    checked += 1
    root = {"allOf": [schema], "components": components}
    errors = sorted(OAS30Validator(root, format_checker=oas30_format_checker).iter_errors(value), key=str)
    for e in errors:
        at = "/".join(esc(p) for p in e.absolute_path)
        failures.append(f"{where}: the example{(' at ' + at) if at else ''} is invalid: {e.message}")

def walk(node, ptr, parent_key):
    if isinstance(node, list):
        for i, child in enumerate(node):
            walk(child, f"{ptr}/{i}", None)
        return
    if not isinstance(node, dict):
        return
    # A `properties` map (or another map of names) may have a member named `example`.
    is_name_map = parent_key in ("properties", "schemas", "examples", "responses", "content",
                                 "parameters", "headers", "securitySchemes", "paths", "requestBodies",
                                 "links", "callbacks", "variables", "encoding")
    if not is_name_map:
        if "example" in node:
            schema = node.get("schema") if "schema" in node else {k: v for k, v in node.items() if k != "example"}
            if schema is not None:
                check(node["example"], schema, f"#{ptr}/example")
        if isinstance(node.get("examples"), dict) and "schema" in node:
            for name, ex in node["examples"].items():
                ex = resolve(ex)
                if isinstance(ex, dict) and "value" in ex:
                    check(ex["value"], node["schema"], f"#{ptr}/examples/{esc(name)}")
    for key, child in node.items():
        if key in ("example", "x-contract") and not is_name_map:
            continue
        walk(child, f"{ptr}/{esc(key)}", key)

walk(spec, "", None)
for f in failures:
    print(f)
print(f"{checked} example(s) checked, {len(failures)} invalid")
sys.exit(1 if failures or checked == 0 else 0)
"##;

/// (passed, output) of [`CHECK_EXAMPLES`] over a spec's text.
fn check_examples(spec_text: &str) -> (bool, String) {
    let mut child = Command::new("python3")
        .args(["-c", CHECK_EXAMPLES])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 must be installed to check the examples");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(spec_text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("No module named"),
        "openapi-schema-validator is missing: python3 -m pip install openapi-spec-validator==0.7.1\n{stderr}"
    );
    (
        out.status.success(),
        format!("{}{stderr}", String::from_utf8_lossy(&out.stdout)),
    )
}

/// Every example in every spec is valid against its own schema.
#[test]
fn every_example_validates_against_its_schema() {
    for spec in SPECS {
        let text = std::fs::read_to_string(workspace_root().join("openapi").join(spec)).unwrap();
        let (ok, out) = check_examples(&text);
        assert!(ok, "{spec} has an invalid example:\n{out}");
        assert!(out.contains(" 0 invalid"), "{out}");
    }
}

/// The check fails on an invalid example, naming where it is: Entrust's sample answer as sent
/// (`tempAccessCode: null`, not nullable in the contract), and a wrong type in a schema's example.
#[test]
fn the_example_check_fails_on_an_invalid_example() {
    let text =
        std::fs::read_to_string(workspace_root().join("openapi/entrust-idaas.yaml")).unwrap();
    let with_null = text.replacen(
        "                smartCredentials: []\n",
        "                smartCredentials: []\n                tempAccessCode: null\n",
        1,
    );
    assert_ne!(
        with_null, text,
        "the Entrust example moved: update this test"
    );
    let (ok, out) = check_examples(&with_null);
    assert!(!ok, "{out}");
    assert!(
        out.contains(
            "#/paths/~1api~1web~1v3~1users/post/responses/2XX/content/application~1json/example: \
             the example at tempAccessCode is invalid"
        ),
        "{out}"
    );

    let tiny = "openapi: 3.0.3
info: {title: t, version: '1'}
paths: {}
components:
  schemas:
    Age:
      type: integer
      example: twelve
    Person:
      type: object
      required: [name]
      properties:
        example: {type: string}
        age: {$ref: '#/components/schemas/Age'}
      example: {age: 3}
";
    let (ok, out) = check_examples(tiny);
    assert!(!ok, "{out}");
    assert!(
        out.contains("#/components/schemas/Age/example: the example is invalid"),
        "{out}"
    );
    assert!(
        out.contains(
            "#/components/schemas/Person/example: the example is invalid: 'name' is a required property"
        ),
        "{out}"
    );
    assert!(out.contains("2 example(s) checked, 2 invalid"), "{out}");
}

#[test]
fn every_spec_says_openapi_3_0_3_and_has_a_readme_row() {
    let readme = std::fs::read_to_string(workspace_root().join("openapi/README.md")).unwrap();
    for spec in SPECS {
        let text = std::fs::read_to_string(workspace_root().join("openapi").join(spec)).unwrap();
        assert!(text.starts_with("openapi: 3.0.3\n"), "{spec}");
        assert!(
            readme.contains(spec),
            "openapi/README.md does not list {spec}"
        );
    }
}

/// "mID Provider supports these special characters in Username $@(.)-*_[]~!&+ . Usage of any
/// other special characters or symbols are not supported." and "Username should not be null or
/// empty". The pattern lives in the spec; the generated type enforces it.
#[test]
fn mid_username_rule() {
    use mid_provider::types::Username;
    for ok in ["ngk", "John.Smith", "a$@(.)-*_[]~!&+z", "0123", "-", "[]"] {
        assert!(ok.parse::<Username>().is_ok(), "{ok:?} should be accepted");
    }
    for bad in [
        "",
        "john smith",
        "a/b",
        "a#b",
        "a%b",
        "a:b",
        "a,b",
        "a\"b",
        "müller",
        "a\nb",
        "a=b",
    ] {
        assert!(
            bad.parse::<Username>().is_err(),
            "{bad:?} should be refused"
        );
    }
    let as_json = serde_json::from_value::<Username>(serde_json::json!("bad name"));
    assert!(as_json.is_err(), "deserializing checks the pattern too");
}

/// The documented defaults reach the generated types.
#[test]
fn documented_defaults() {
    let attributes: mid_provider::types::Attributes = serde_json::from_str("{}").unwrap();
    assert!(
        attributes.digitanium_create_activation,
        "digitaniumCreateActivation defaults to true"
    );
    assert!(!attributes.digitanium_user_id_delete);
    assert!(!attributes.digitanium_clear_activation);
    assert!(!attributes.digitanium_activation_secret);
    let credential: mid_provider::types::Credential = serde_json::from_str("{}").unwrap();
    assert!(credential.temporary, "temporary defaults to true");
    let user: mid_provider::types::UserRepresentation =
        serde_json::from_str(r#"{"username": "u"}"#).unwrap();
    assert!(!user.enabled, "enabled defaults to false");
}

/// The enums the documents list or the samples make plain refuse other values.
#[test]
fn documented_enums_refuse_other_values() {
    use serde_json::{Value, from_value, json};
    fn refuses<T: serde::de::DeserializeOwned>(v: Value) -> bool {
        from_value::<T>(v).is_err()
    }
    assert!(refuses::<mid_provider::types::OnboardingType>(json!(
        "email"
    )));
    assert!(refuses::<mid_provider::types::CredentialType>(json!("otp")));
    assert!(refuses::<nexway_iam::types::UserStatus>(json!("LOCKED")));
    assert!(refuses::<entrust_idaas::types::State>(json!("DELETED")));
    assert!(refuses::<entrust_idaas::types::UserAliasType>(json!(
        "NICKNAME"
    )));
    assert!(!refuses::<nexway_iam::types::UserStatus>(json!("DISABLED")));
    assert!(!refuses::<mid_provider::types::OnboardingType>(json!(
        "letter"
    )));
}

/// Each contradiction in the mID document is resolved in favour of the sample, and the spec says so.
#[test]
fn mid_contradictions_are_recorded() {
    let text = std::fs::read_to_string(workspace_root().join("openapi/mid-provider.yaml")).unwrap();
    for needle in [
        "`Enabled`",
        "`RequiredActions`",
        "`ClientRoles`",
        "map of lists",
        "array of strings",
    ] {
        assert!(
            text.contains(needle),
            "mid-provider.yaml does not record {needle}"
        );
    }
    let sample = iam_tests::fixture("mid-provider.request.json");
    assert!(sample.get("enabled").is_some() && sample.get("Enabled").is_none());
    assert!(sample["clientRoles"].is_object());
    assert!(sample["attributes"]["groups"].is_array());
}
