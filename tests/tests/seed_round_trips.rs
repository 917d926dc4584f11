//! Every vendor sample decodes into the generated type; every sample request encodes back to the
//! same JSON. The samples are the project's own copies in `tests/fixtures/`; when the vendor
//! documents they were copied from are at hand (`IAM_SEEDS_DIR`), `fixtures_match_the_seeds`
//! checks the copies against them.

use iam_tests::{SEEDS_DIR_ENV, fixture, seed_json_blocks, seeds_dir, without_unset_members};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Decodes a sample request as `T` and encodes it again. An optional member the sample sends as
/// `null` or `[]` comes back absent (the generated types skip `None` and empty lists); to the
/// server all three mean "not given", so those members are left out of the comparison. Every
/// other member must come back exactly. (Response types are compared exactly: their sample
/// fields are required, so nothing is skipped.)
#[track_caller]
fn assert_round_trip<T: DeserializeOwned + Serialize>(sample: &Value) -> T {
    let typed: T = serde_json::from_value(sample.clone())
        .unwrap_or_else(|e| panic!("the sample does not decode: {e}\n{sample:#}"));
    let back = serde_json::to_value(&typed).unwrap();
    assert_eq!(without_unset_members(&back), without_unset_members(sample));
    typed
}

/// Opt-in: runs only when `IAM_SEEDS_DIR` names the folder of vendor documents (CI sets it when
/// they are beside the clone); otherwise it says it was skipped. A folder named but missing fails.
#[test]
fn fixtures_match_the_seeds() {
    let Some(dir) = seeds_dir() else {
        println!("fixtures_match_the_seeds: skipped, {SEEDS_DIR_ENV} is not set");
        return;
    };
    assert!(
        dir.is_dir(),
        "{SEEDS_DIR_ENV}={} is not a folder",
        dir.display()
    );
    let entrust = seed_json_blocks(&dir, "entrust-idaas-create-user.txt");
    assert_eq!(
        entrust.len(),
        2,
        "the Entrust seed has a request and a response sample"
    );
    assert_eq!(fixture("entrust-idaas.request.json"), entrust[0]);
    assert_eq!(fixture("entrust-idaas.response.json"), entrust[1]);

    let mid = seed_json_blocks(&dir, "mid-provider-create-user.txt");
    assert_eq!(
        mid.len(),
        2,
        "the mID seed has a request and a response sample"
    );
    assert_eq!(fixture("mid-provider.request.json"), mid[0]);
    assert_eq!(fixture("mid-provider.response-202.json"), mid[1]);

    let nexway = seed_json_blocks(&dir, "nexway-iam-create-user.txt");
    assert_eq!(nexway.len(), 1, "the Nexway seed has one request template");
    assert_eq!(fixture("nexway-iam.request-template.json"), nexway[0]);
    println!(
        "fixtures_match_the_seeds: the 5 verbatim fixtures match the vendor documents in {}",
        dir.display()
    );
}

/// The concrete Nexway request is the seed's template with each placeholder replaced by a value
/// of the type it names, and nothing else changed.
#[test]
fn nexway_request_fills_the_seed_template_by_type() {
    fn check(template: &Value, concrete: &Value, at: &str) {
        match (template, concrete) {
            (Value::Object(t), Value::Object(c)) => {
                let (tk, ck): (Vec<_>, Vec<_>) = (t.keys().collect(), c.keys().collect());
                assert_eq!(tk, ck, "keys differ at {at}");
                for (k, v) in t {
                    check(v, &c[k], &format!("{at}.{k}"));
                }
            }
            (Value::Array(t), Value::Array(c)) => {
                assert_eq!(t.len(), c.len(), "length differs at {at}");
                t.iter().zip(c).for_each(|(t, c)| check(t, c, at));
            }
            (Value::String(p), Value::Bool(_)) => assert_eq!(p, "boolean", "at {at}"),
            (Value::String(p), Value::String(v)) if at.ends_with(".status") => {
                assert_eq!(p, "string", "at {at}");
                assert!(["ENABLED", "DISABLED"].contains(&v.as_str()), "at {at}");
            }
            (t, c) => assert_eq!(t, c, "at {at}: only placeholders may change"),
        }
    }
    check(
        &fixture("nexway-iam.request-template.json"),
        &fixture("nexway-iam.request.json"),
        "$",
    );
}

#[test]
fn entrust_request_round_trips() {
    let user: entrust_idaas::types::UserParms =
        assert_round_trip(&fixture("entrust-idaas.request.json"));
    assert_eq!(
        user.user_aliases[0].type_,
        Some(entrust_idaas::types::UserAliasType::Custom)
    );
    assert_eq!(
        user.locale,
        Some(entrust_idaas::types::Locale::X),
        "the empty locale (Entrust: removes the locale) is kept, not dropped"
    );
}

#[test]
fn entrust_response_decodes_with_every_field() {
    let sample = fixture("entrust-idaas.response.json");
    let user: entrust_idaas::types::User = serde_json::from_value(sample.clone()).unwrap();
    use entrust_idaas::types::{TokenState, UserAliasType};
    assert_eq!(
        user.id.as_deref(),
        Some("2c422a2f-e8ae-4af8-8b03-e1ce0ddde0b0")
    );
    let tokens = user.tokens.as_ref().unwrap();
    assert_eq!(tokens[0].state, Some(TokenState::Activating.into()));
    assert_eq!(tokens[0].allowed_actions.as_ref().unwrap().len(), 3);
    assert_eq!(
        user.user_aliases.as_ref().unwrap()[1].type_,
        Some(UserAliasType::Userid.into())
    );
    // Every member of the sample comes back, but its nulls: a `null` and an absent member both
    // decode to `None`, which is not sent back.
    assert_eq!(serde_json::to_value(&user).unwrap(), without_nulls(&sample));
}

#[test]
fn mid_request_round_trips_custom_attributes_included() {
    let user: mid_provider::types::UserRepresentation =
        assert_round_trip(&fixture("mid-provider.request.json"));
    let attributes = user.attributes.as_ref().unwrap();
    assert_eq!(attributes.groups, ["ks-users"]);
    assert_eq!(user.client_roles["client_Name"].len(), 4);
    assert!(!user.credentials[0].temporary);
}

#[test]
fn mid_response_decodes() {
    let sample = fixture("mid-provider.response-202.json");
    let answer: mid_provider::types::ResponseStatus =
        serde_json::from_value(sample.clone()).unwrap();
    assert_eq!(serde_json::to_value(&answer).unwrap(), sample);
    assert_eq!(answer.sub_system, Some(5));
    assert_eq!(answer.message.as_deref(), Some("User created successfully"));
}

#[test]
fn nexway_request_round_trips() {
    let user: nexway_iam::types::UserCreate =
        assert_round_trip(&fixture("nexway-iam.request.json"));
    assert_eq!(user.status, Some(nexway_iam::types::UserStatus::Enabled));
    assert!(user.emails.is_none());
}

#[test]
fn a_missing_required_field_does_not_decode() {
    let mut mid = fixture("mid-provider.request.json");
    mid.as_object_mut().unwrap().remove("username");
    let err = serde_json::from_value::<mid_provider::types::UserRepresentation>(mid).unwrap_err();
    assert!(err.to_string().contains("username"), "{err}");

    let mut nexway = fixture("nexway-iam.request.json");
    nexway.as_object_mut().unwrap().remove("password");
    assert!(serde_json::from_value::<nexway_iam::types::UserCreate>(nexway).is_err());
}

#[test]
fn secrets_in_the_samples_never_print() {
    let mid: mid_provider::types::UserRepresentation =
        serde_json::from_value(fixture("mid-provider.request.json")).unwrap();
    let printed = format!("{mid:?} {mid:#?}");
    assert!(
        !printed.contains("10101010"),
        "activation code printed: {printed}"
    );
    assert!(!printed.contains("\"123\""), "password printed: {printed}");

    let mut sample = fixture("nexway-iam.request.json");
    sample["password"] = "pa55-w0rd-never-printed".into();
    let nexway: nexway_iam::types::UserCreate = serde_json::from_value(sample).unwrap();
    assert!(!format!("{nexway:?}").contains("pa55-w0rd"));

    // Entrust publishes tempAccessCode as an object whose `code` is the secret.
    let mut sample = fixture("entrust-idaas.response.json");
    sample["tempAccessCode"] = serde_json::json!({"code": "TAC-never-printed", "maxUses": 1});
    let entrust: entrust_idaas::types::User = serde_json::from_value(sample).unwrap();
    assert!(!format!("{entrust:?} {entrust:#?}").contains("TAC-never"));
    assert_eq!(
        entrust
            .temp_access_code
            .unwrap()
            .code
            .unwrap()
            .expose_secret(),
        "TAC-never-printed"
    );
}

/// `value` without its `null` members, at every depth.
fn without_nulls(value: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), without_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_nulls).collect()),
        other => other.clone(),
    }
}
