//! A crate that depends on one provider pulls no other provider, no code generator (only
//! progenitor-client) and no OpenSSL. Read from `cargo metadata`'s resolved graph.

use std::collections::{BTreeSet, HashMap};
use std::process::Command;

use serde_json::Value;

/// The packages `root` depends on for building and running (normal edges, recursively; build
/// scripts' and tests' dependencies excluded).
fn normal_closure(metadata: &Value, root: &str) -> BTreeSet<String> {
    let name_of: HashMap<&str, &str> = metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["id"].as_str().unwrap(), p["name"].as_str().unwrap()))
        .collect();
    let nodes: HashMap<&str, &Value> = metadata["resolve"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["id"].as_str().unwrap(), n))
        .collect();
    let root_id = name_of
        .iter()
        .find(|(_, name)| **name == root)
        .map(|(id, _)| *id)
        .unwrap_or_else(|| panic!("{root} is not in the workspace"));
    let mut seen = BTreeSet::new();
    let mut stack = vec![root_id];
    while let Some(id) = stack.pop() {
        for dep in nodes[id]["deps"].as_array().unwrap() {
            let normal = dep["dep_kinds"]
                .as_array()
                .unwrap()
                .iter()
                .any(|k| k["kind"].is_null());
            let dep_id = dep["pkg"].as_str().unwrap();
            if normal && seen.insert(name_of[dep_id].to_owned()) {
                stack.push(dep_id);
            }
        }
    }
    seen
}

fn metadata() -> Value {
    let out = Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--locked",
            "--manifest-path",
        ])
        .arg(iam_tests::workspace_root().join("Cargo.toml"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn each_provider_crate_stands_alone() {
    let metadata = metadata();
    let providers = ["entrust-idaas", "mid-provider", "nexway-iam"];
    let forbidden = [
        "progenitor",
        "progenitor-impl",
        "typify",
        "typify-impl",
        "openapiv3",
        "openssl",
        "openssl-sys",
        "native-tls",
        "aws-lc-sys",
    ];
    for provider in providers {
        let deps = normal_closure(&metadata, provider);
        assert!(
            deps.contains("progenitor-client"),
            "{provider} should use progenitor-client"
        );
        assert!(deps.contains("rustls"), "{provider} should use rustls");
        for other in providers.iter().filter(|p| **p != provider) {
            assert!(!deps.contains(*other), "{provider} pulls {other}");
        }
        for name in forbidden {
            assert!(!deps.contains(name), "{provider} pulls {name}");
        }
    }
}
