//! A broken spec gets an error naming the spec file and the operation, a non-zero exit, no
//! backtrace, and no file written.

use std::path::{Path, PathBuf};
use std::process::Command;

use xtask::providers::PROVIDERS;

/// A copy of the workspace's specs and generated files in a fresh temporary folder.
struct Workspace(PathBuf);

impl Workspace {
    fn copy(name: &str) -> Self {
        let root = std::env::temp_dir().join(format!("xtask-test-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let real = xtask::workspace_root();
        for p in PROVIDERS {
            for file in [p.spec_path(), p.generated_path(), p.sandbox_spec_path()] {
                let to = root.join(&file);
                std::fs::create_dir_all(to.parent().unwrap()).unwrap();
                std::fs::copy(real.join(&file), to).unwrap();
            }
        }
        let readme = root.join(xtask::codegen::README);
        std::fs::copy(real.join(xtask::codegen::README), readme).unwrap();
        Self(root)
    }

    fn path(&self) -> &Path {
        &self.0
    }

    fn edit_spec(&self, spec_file: &str, edit: impl FnOnce(String) -> String) {
        let path = self.0.join("openapi").join(spec_file);
        let text = std::fs::read_to_string(&path).unwrap();
        let edited = edit(text.clone());
        assert_ne!(edited, text, "the edit changed nothing");
        std::fs::write(path, edited).unwrap();
    }

    fn generated(&self) -> Vec<String> {
        PROVIDERS
            .iter()
            .map(|p| std::fs::read_to_string(self.0.join(p.generated_path())).unwrap())
            .collect()
    }

    /// Runs the real binary; returns (exit code, stderr).
    fn xtask(&self, task: &str) -> (i32, String) {
        let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
            .args([task, "--root"])
            .arg(self.path())
            .env("RUST_BACKTRACE", "1")
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

impl Drop for Workspace {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Breaks `spec_file` with `edit`, runs `cargo xtask generate`, and checks the failure.
#[track_caller]
fn assert_refused(
    name: &str,
    spec_file: &str,
    edit: impl FnOnce(String) -> String,
    expect: &[&str],
) {
    let ws = Workspace::copy(name);
    ws.edit_spec(spec_file, edit);
    let before = ws.generated();
    let (code, stderr) = ws.xtask("generate");
    assert_eq!(code, 1, "exit code; stderr:\n{stderr}");
    assert!(
        stderr.contains(&format!("openapi/{spec_file}")),
        "names the spec:\n{stderr}"
    );
    for needle in expect {
        assert!(stderr.contains(needle), "expected `{needle}` in:\n{stderr}");
    }
    for noise in ["panicked", "backtrace", "RUST_BACKTRACE", "stack"] {
        assert!(!stderr.contains(noise), "`{noise}` in:\n{stderr}");
    }
    assert_eq!(
        ws.generated(),
        before,
        "no generated file may change when a spec is refused"
    );
}

#[test]
fn yaml_syntax_error() {
    assert_refused(
        "yaml",
        "nexway-iam.yaml",
        |s| s.replace("paths:\n", "paths:\n  - [unclosed\n"),
        &["not valid YAML", "line"],
    );
}

#[test]
fn unknown_ref() {
    assert_refused(
        "ref",
        "nexway-iam.yaml",
        |s| {
            s.replace(
                "$ref: '#/components/schemas/UserCreate'",
                "$ref: '#/components/schemas/NoSuchThing'",
            )
        },
        &[
            "unknown $ref `#/components/schemas/NoSuchThing`",
            "`create_user` (POST /iam/users)",
        ],
    );
}

#[test]
fn missing_operation_id() {
    assert_refused(
        "opid",
        "mid-provider.yaml",
        |s| s.replace("      operationId: create_user_shift\n", ""),
        &["POST /auth/realms/{tenantId}/v3_user", "no `operationId`"],
    );
}

#[test]
fn two_error_body_types_on_one_operation() {
    // A 400 with mID's body next to a 401 without one: progenitor 0.15 panics on this.
    assert_refused(
        "mixed",
        "mid-provider.yaml",
        |s| {
            s.replacen(
                "        '401':\n          $ref: '#/components/responses/Unauthorized'",
                "        '401':\n          description: no body",
                1,
            )
        },
        &[
            "`create_user_ssms`",
            "error responses have different bodies",
            "400",
            "401 -> no body",
        ],
    );
}

#[test]
fn duplicate_operation_id() {
    assert_refused(
        "dup",
        "mid-provider.yaml",
        |s| {
            s.replace(
                "operationId: create_user_shift",
                "operationId: create_user_ssms",
            )
        },
        &[
            "`operationId: create_user_ssms` is used twice",
            "POST /digitanium/v4/users",
            "POST /auth/realms/{tenantId}/v3_user",
        ],
    );
}

#[test]
fn not_openapi_3_0() {
    assert_refused(
        "version",
        "entrust-idaas.yaml",
        |s| s.replacen("openapi: 3.0.3", "openapi: 3.1.0", 1),
        &["only OpenAPI 3.0.x is supported"],
    );
}

#[test]
fn a_bad_spec_writes_nothing_even_for_the_good_specs() {
    let ws = Workspace::copy("partial");
    // Make a good spec produce different output, and break a later one.
    ws.edit_spec("entrust-idaas.yaml", |s| {
        s.replacen("description: First name.", "description: Given name.", 1)
    });
    ws.edit_spec("nexway-iam.yaml", |s| {
        s.replace("operationId: create_user", "summary: x")
    });
    let before = ws.generated();
    let (code, stderr) = ws.xtask("generate");
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(
        ws.generated(),
        before,
        "entrust's file must not be written either"
    );
}

#[test]
fn check_names_the_drifted_file_and_line_and_generate_fixes_it() {
    let ws = Workspace::copy("drift");
    ws.edit_spec("nexway-iam.yaml", |s| {
        s.replacen(
            "        userName:\n          type: string",
            "        userName:\n          type: integer",
            1,
        )
    });
    let (code, stderr) = ws.xtask("check");
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("crates/nexway-iam/src/generated.rs is out of date"),
        "{stderr}"
    );
    assert!(stderr.contains("first difference at line"), "{stderr}");
    assert!(
        stderr.contains("Option<i64>"),
        "shows the generated line: {stderr}"
    );
    assert!(stderr.contains("run `cargo xtask generate`"), "{stderr}");

    assert_eq!(ws.xtask("generate").0, 0);
    let (code, stderr) = ws.xtask("check");
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn generate_twice_changes_nothing() {
    let ws = Workspace::copy("twice");
    let before = ws.generated();
    assert_eq!(ws.xtask("generate").0, 0);
    assert_eq!(
        ws.generated(),
        before,
        "committed files are what the specs generate"
    );
}

/// The simulator serves its own copies of the specs (a packaged crate embeds only its own
/// files): a copy that differs from `openapi/`, or is missing, fails the check; generate restores it.
#[test]
fn check_fails_on_a_drifted_or_missing_sandbox_spec_copy_and_generate_restores_it() {
    let ws = Workspace::copy("sandbox-copy");
    let copy = ws
        .path()
        .join("crates/iam-sandbox/openapi/mid-provider.yaml");
    let original = std::fs::read_to_string(&copy).unwrap();
    std::fs::write(&copy, original.replacen("Create User", "Create a User", 1)).unwrap();
    let (code, stderr) = ws.xtask("check");
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("crates/iam-sandbox/openapi/mid-provider.yaml is out of date"),
        "{stderr}"
    );
    assert!(stderr.contains("first difference at line"), "{stderr}");

    std::fs::remove_file(&copy).unwrap();
    let (code, stderr) = ws.xtask("check");
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("the file does not exist"), "{stderr}");

    assert_eq!(ws.xtask("generate").0, 0);
    assert_eq!(
        std::fs::read_to_string(&copy).unwrap(),
        std::fs::read_to_string(ws.path().join("openapi/mid-provider.yaml")).unwrap(),
        "the copy is byte-identical to the spec"
    );
    assert_eq!(ws.xtask("check").0, 0);
}

#[test]
fn usage_errors_exit_2() {
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg("frobnicate")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unexpected argument `frobnicate`"));
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg("--help")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("cargo xtask check"));
}

/// An input progenitor 0.15 panics on that the spec checks do not know (a request `encoding`
/// map reaches a `todo!`): the panic becomes an error naming the spec, with no backtrace.
#[test]
fn a_generator_panic_becomes_an_error() {
    assert_refused(
        "panic",
        "nexway-iam.yaml",
        |s| {
            s.replacen(
                "            schema:\n              $ref: '#/components/schemas/UserCreate'\n",
                "            schema:\n              $ref: '#/components/schemas/UserCreate'\n            encoding:\n              email:\n                contentType: text/plain\n",
                1,
            )
        },
        &["progenitor 0.15 cannot generate it"],
    );
}

#[test]
fn a_malformed_contract_record_is_refused_naming_the_spec_and_node() {
    assert_refused(
        "xcontract",
        "nexway-iam.yaml",
        |s| {
            s.replacen(
                "        differs: [enum:refresh_token]\n",
                "        differs: []\n",
                1,
            )
        },
        &[
            "`x-contract` at #/components/schemas/GrantType",
            "`differs` must be a non-empty list",
        ],
    );
}

#[test]
fn check_fails_when_the_readme_table_is_out_of_date_and_generate_restores_it() {
    let ws = Workspace::copy("table");
    let path = ws.path().join("openapi/README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let edited = readme.replacen("| nexway | `GrantType` |", "| nexway | `Grant` |", 1);
    assert_ne!(edited, readme);
    std::fs::write(&path, edited).unwrap();
    let (code, stderr) = ws.xtask("check");
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("openapi/README.md is out of date"),
        "{stderr}"
    );
    assert_eq!(ws.xtask("generate").0, 0);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), readme);
    assert_eq!(ws.xtask("check").0, 0);
    // A record's reason changes: its elements get a row of their own.
    ws.edit_spec("nexway-iam.yaml", |s| {
        s.replacen(
            "why: \"Nexway's User resource page publishes it as date-time;",
            "why: \"Published as date-time;",
            1,
        )
    });
    assert_eq!(ws.xtask("generate").0, 0);
    let readme = std::fs::read_to_string(&path).unwrap();
    assert!(
        readme.contains("| nexway | `UserEmail.createDate` | `format` | Published as date-time;"),
        "{readme}"
    );
    assert_eq!(ws.xtask("check").0, 0);
    // Without its markers the table has nowhere to go, and generate says so.
    std::fs::write(&path, readme.replace("<!-- END contract table -->", "")).unwrap();
    let (code, stderr) = ws.xtask("generate");
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("lacks the markers"), "{stderr}");
}
