//! `iam create-user --output json` against the vendors' published contracts, over real sockets:
//! Entrust with nothing but an Administration API application's id and shared secret, Nexway
//! with nothing but a realm and client secret, and every answer shape the contracts allow
//! (the simulator's full answer, a sparse one, nulls, enum values added later, unknown
//! properties) keeps the created user's `id`. No secret reaches the output at RUST_LOG=trace.

mod common;

use common::{Sim, iam, run, text};
use iam_sandbox::{Route, Variation};
use serde_json::Value;

const VARIATIONS: [Option<Variation>; 5] = [
    None,
    Some(Variation::Sparse),
    Some(Variation::Nulls),
    Some(Variation::UnknownEnums),
    Some(Variation::ExtraProperties),
];

fn create(sim: &Sim, provider: &str, n: usize, env: &[(&str, String)]) -> (i32, Value, String) {
    let mut args: Vec<String> = vec!["create-user".into()];
    args.extend(sim.target(provider));
    match provider {
        "entrust" => args.extend(["--username".into(), format!("va-user{n}")]),
        _ => args.extend([
            "--email".into(),
            format!("va{n}@example.com"),
            "--first-name".into(),
            "Ada".into(),
            "--last-name".into(),
            "Lovelace".into(),
            "--password-stdin".into(),
        ]),
    }
    args.extend(["--output".into(), "json".into()]);
    let mut command = iam(&args.iter().map(String::as_str).collect::<Vec<_>>());
    command.env("RUST_LOG", "trace");
    for (k, v) in env {
        command.env(k, v);
    }
    let out = run(command, "va-password-SECRET\n");
    let stdout = text(&out.stdout);
    let all = format!("{stdout}\n{}", text(&out.stderr));
    let json = serde_json::from_str(stdout.trim()).unwrap_or(Value::Null);
    (out.status.code().unwrap_or(-1), json, all)
}

fn assert_no_secret(all: &str, secrets: &[&str]) {
    for secret in secrets {
        assert!(!all.contains(secret), "a secret shows ({secret}):\n{all}");
    }
    for issued in ["sbx_en_", "sbx_nxat_", "sbx_nxrt_", "sbx_setpw_"] {
        assert!(
            !all.contains(issued),
            "an issued token shows ({issued}):\n{all}"
        );
    }
}

#[test]
fn entrust_with_only_the_application_secret_keeps_the_id_of_every_answer_shape() {
    let sim = Sim::start("vendor-entrust");
    let app = sim.sandbox.entrust_app().clone();
    let secret = app.shared_secret.expose_secret().to_owned();
    let env = [
        ("IAM_ENTRUST_APPLICATION_ID", app.application_id.clone()),
        ("IAM_ENTRUST_SHARED_SECRET", secret.clone()),
    ];
    for (n, variation) in VARIATIONS.into_iter().enumerate() {
        sim.sandbox.clear_variations();
        if let Some(v) = variation {
            sim.sandbox.set_variation(Route::Entrust, v);
        }
        let (code, json, all) = create(&sim, "entrust", n, &env);
        assert_eq!(code, 0, "{variation:?}:\n{all}");
        let id = json["id"].as_str().unwrap_or_default();
        assert_eq!(id.len(), 36, "{variation:?}: the id is kept: {json}");
        let stored = sim.sandbox.users(iam_sandbox::Provider::Entrust, "default");
        assert_eq!(stored.last().unwrap()["id"], id, "{variation:?}");
        assert_no_secret(&all, &[&secret]);
    }
}

#[test]
fn nexway_with_only_the_realm_secret_keeps_the_id_of_every_answer_shape() {
    let sim = Sim::start("vendor-nexway");
    let realm = sim.sandbox.nexway_realm().clone();
    let secret = realm.client_secret.expose_secret().to_owned();
    let env = [
        ("IAM_NEXWAY_REALM", realm.realm.clone()),
        ("IAM_NEXWAY_CLIENT_SECRET", secret.clone()),
    ];
    for (n, variation) in VARIATIONS.into_iter().enumerate() {
        sim.sandbox.clear_variations();
        if let Some(v) = variation {
            sim.sandbox.set_variation(Route::Nexway, v);
        }
        let (code, json, all) = create(&sim, "nexway", n, &env);
        assert_eq!(code, 0, "{variation:?}:\n{all}");
        let id = json["id"].as_str().unwrap_or_default();
        assert_eq!(id.len(), 36, "{variation:?}: the id is kept: {json}");
        assert_no_secret(&all, &[&secret, "va-password-SECRET"]);
    }
}

#[test]
fn a_wrong_vendor_secret_exits_1_without_echoing_it() {
    let sim = Sim::start("vendor-wrong");
    let app_id = sim.sandbox.entrust_app().application_id.clone();
    let env = [
        ("IAM_ENTRUST_APPLICATION_ID", app_id),
        ("IAM_ENTRUST_SHARED_SECRET", "wrong-SECRET-value".to_owned()),
    ];
    let (code, _, all) = create(&sim, "entrust", 0, &env);
    assert_ne!(code, 0, "{all}");
    assert!(all.contains("401"), "the refusal is named: {all}");
    assert_no_secret(&all, &["wrong-SECRET-value"]);
    // Half a pair is a usage error naming the missing variable; nothing is sent.
    let env = [("IAM_NEXWAY_REALM", "iam-sandbox".to_owned())];
    let (code, _, all) = create(&sim, "nexway", 1, &env);
    assert_eq!(code, 2, "{all}");
    assert!(all.contains("IAM_NEXWAY_CLIENT_SECRET"), "{all}");
}
