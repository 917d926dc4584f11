//! The specs themselves: valid OpenAPI 3.0, and faithful on the points the seeds make.

use std::process::Command;

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
