//! Snapshots of the code each spec generates. A spec change shows here as a reviewable diff;
//! CI runs with `INSTA_UPDATE=no`, so an unreviewed change fails it.
//! Review with `cargo insta review` (`cargo install cargo-insta`).

use xtask::providers::{PROVIDERS, Provider};

#[track_caller]
fn verify_generated(crate_name: &str) {
    let provider: &Provider = PROVIDERS
        .iter()
        .find(|p| p.crate_name == crate_name)
        .unwrap_or_else(|| panic!("{crate_name} is not in xtask's PROVIDERS"));
    let source = xtask::codegen::generate_provider(&iam_tests::workspace_root(), provider)
        .unwrap_or_else(|e| panic!("{e}"));
    insta::assert_snapshot!(crate_name, source);
}

#[test]
fn entrust_idaas() {
    verify_generated("entrust-idaas");
}

#[test]
fn mid_provider() {
    verify_generated("mid-provider");
}

#[test]
fn nexway_iam() {
    verify_generated("nexway-iam");
}

#[test]
fn every_provider_has_a_snapshot_test() {
    // Each provider of the table has a `verify_generated("<crate>")` test in this file, and each
    // spec in openapi/ is in the table: a provider added without a snapshot test fails here.
    let this_file = include_str!("generated_code.rs");
    for provider in PROVIDERS {
        let call = format!("verify_generated(\"{}\")", provider.crate_name);
        assert!(
            this_file.contains(&call),
            "{} has no snapshot test in tests/generated_code.rs",
            provider.crate_name
        );
    }
    let root = iam_tests::workspace_root();
    let mut specs: Vec<String> = std::fs::read_dir(root.join("openapi"))
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|name| name.ends_with(".yaml"))
        .collect();
    specs.sort();
    let mut known: Vec<String> = PROVIDERS.iter().map(|p| p.spec_file.to_owned()).collect();
    known.sort();
    assert_eq!(
        specs, known,
        "every spec in openapi/ is a provider of the table"
    );
}

#[test]
fn generation_is_deterministic() {
    let root = iam_tests::workspace_root();
    for provider in PROVIDERS {
        let first = xtask::codegen::generate_provider(&root, provider).unwrap();
        let second = xtask::codegen::generate_provider(&root, provider).unwrap();
        assert!(
            first == second,
            "{} generated twice differs",
            provider.crate_name
        );
    }
}

#[test]
fn committed_code_matches_the_specs() {
    let root = iam_tests::workspace_root();
    if let Err(e) = xtask::codegen::run(&root, xtask::codegen::Mode::Check) {
        panic!("{e}");
    }
}
