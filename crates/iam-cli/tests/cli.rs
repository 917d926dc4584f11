//! The real `iam` binary against the simulator: every subcommand and exit code.

mod common;

use common::{Sim, TOKEN, iam, read, run, text, with_token};
use iam_sandbox::{Action, Fault, Provider, Route};
use serde_json::Value;

#[test]
fn help_texts() {
    for (name, args) in [
        ("root", vec!["--help"]),
        ("create-user", vec!["create-user", "--help"]),
        ("import", vec!["import", "--help"]),
        ("schema", vec!["schema", "--help"]),
        ("demo", vec!["demo", "--help"]),
        ("sandbox", vec!["sandbox", "--help"]),
        ("completions", vec!["completions", "--help"]),
    ] {
        let out = run(iam(&args), "");
        assert_eq!(out.status.code(), Some(0), "{name}");
        insta::assert_snapshot!(format!("help-{name}"), text(&out.stdout));
    }
}

#[test]
fn create_user_on_each_provider_text_and_json() {
    let sim = Sim::start("create");
    let cases: [(&str, &[&str]); 4] = [
        (
            "entrust",
            &[
                "--username",
                "john",
                "--email",
                "john@acme.com",
                "--mobile",
                "+16138561234",
                "--enabled",
            ],
        ),
        (
            "mid-ssms",
            &[
                "--username",
                "ngk",
                "--email",
                "aaa@aaa.com",
                "--password-stdin",
                "--role",
                "r1",
                "--group",
                "ks-users",
                "--attribute",
                "digitaniumUserIdOnboardingType=letter",
                "--attribute",
                "digitaniumCreateActivation=false",
            ],
        ),
        (
            "mid-shift",
            &["--username", "ngk2", "--password-stdin", "--enabled=false"],
        ),
        (
            "nexway",
            &[
                "--username",
                "ada",
                "--email",
                "ada@example.com",
                "--first-name",
                "Ada",
                "--last-name",
                "Lovelace",
                "--password-stdin",
            ],
        ),
    ];
    for (provider, fields) in cases {
        let mut args: Vec<String> = vec!["create-user".into()];
        args.extend(sim.target(provider));
        args.extend(fields.iter().map(|s| s.to_string()));
        args.extend(["--output".into(), "json".into()]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = run(with_token(iam(&args)), "pw-SECRET-stdin\n");
        assert_eq!(
            out.status.code(),
            Some(0),
            "{provider}: {}",
            text(&out.stderr)
        );
        let json: Value = serde_json::from_str(&text(&out.stdout))
            .expect("stdout is one JSON object and nothing else");
        assert_eq!(json["provider"], provider);
        assert!(json["status"].as_u64().unwrap() / 100 == 2);
    }
    let mid = sim.sandbox.users(Provider::Mid, "acme");
    assert_eq!(
        mid[0]["attributes"]["digitaniumCreateActivation"], false,
        "true/false become booleans"
    );
    assert_eq!(mid[0]["realmRoles"], serde_json::json!(["r1"]));
    assert_eq!(mid[1]["enabled"], false);
    assert_eq!(
        sim.sandbox.users(Provider::Entrust, "default")[0]["state"],
        "ACTIVE"
    );

    let mut args = vec!["create-user".to_owned()];
    args.extend(sim.target("nexway"));
    args.extend(
        [
            "--email",
            "b@x.io",
            "--first-name",
            "B",
            "--last-name",
            "C",
            "--password-stdin",
        ]
        .map(String::from),
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run(with_token(iam(&args)), "pw\n");
    assert_eq!(out.status.code(), Some(0));
    assert!(
        text(&out.stdout).starts_with("created user"),
        "{}",
        text(&out.stdout)
    );
}

fn create_nexway(sim: &Sim, extra: &[&str], output_json: bool) -> std::process::Output {
    let mut args = vec!["create-user".to_owned()];
    args.extend(sim.target("nexway"));
    args.extend(
        [
            "--email",
            "ada@example.com",
            "--first-name",
            "Ada",
            "--last-name",
            "L",
            "--password-stdin",
        ]
        .map(String::from),
    );
    args.extend(extra.iter().map(|s| s.to_string()));
    if output_json {
        args.extend(["--output".into(), "json".into()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run(with_token(iam(&args)), "pw-SECRET-x\n")
}

#[test]
fn exit_codes() {
    let sim = Sim::start("exit");
    assert_eq!(create_nexway(&sim, &[], false).status.code(), Some(0));

    // 1: the provider refused (409), with the error as JSON on stdout.
    let out = create_nexway(&sim, &[], true);
    assert_eq!(out.status.code(), Some(1));
    let json: Value = serde_json::from_str(&text(&out.stdout)).unwrap();
    assert_eq!(
        (
            json["error"]["kind"].as_str(),
            json["error"]["status"].as_u64()
        ),
        (Some("user already exists"), Some(409))
    );

    // 2: usage and input errors, nothing sent.
    let before = sim.sandbox.requests(Route::Nexway);
    let no_provider = run(with_token(iam(&["create-user", "--email", "a@b.c"])), "");
    assert_eq!(no_provider.status.code(), Some(2));
    let no_token = run(
        iam(&["create-user", "--provider", "nexway", "--email", "a@b.c"]),
        "",
    );
    assert_eq!(no_token.status.code(), Some(2));
    assert!(
        text(&no_token.stderr).contains("IAM_TOKEN"),
        "{}",
        text(&no_token.stderr)
    );
    let bad_user = run(
        with_token(iam(&[
            "create-user",
            "--provider",
            "mid-shift",
            "--base-url",
            &sim.url(),
            "--tenant",
            "acme",
            "--username",
            "john smith",
        ])),
        "",
    );
    assert_eq!(bad_user.status.code(), Some(2));
    assert!(
        text(&bad_user.stderr).contains("username"),
        "{}",
        text(&bad_user.stderr)
    );
    let bad_attr = run(
        with_token(iam(&[
            "create-user",
            "--provider",
            "mid-shift",
            "--base-url",
            &sim.url(),
            "--tenant",
            "acme",
            "--username",
            "u",
            "--attribute",
            "novalue",
        ])),
        "",
    );
    assert_eq!(bad_attr.status.code(), Some(2));
    assert_eq!(
        run(
            with_token(iam(&[
                "create-user",
                "--provider",
                "nexway",
                "--base-url",
                &sim.url(),
                "--email",
                "z@x.io",
                "--first-name",
                "Z",
                "--last-name",
                "Z",
                "--password-stdin"
            ])),
            ""
        )
        .status
        .code(),
        Some(2),
        "an empty stdin holds no password"
    );
    let plain_http = run(
        with_token(iam(&[
            "create-user",
            "--provider",
            "nexway",
            "--base-url",
            "http://api.nexway.store",
            "--email",
            "a@b.c",
        ])),
        "",
    );
    assert_eq!(plain_http.status.code(), Some(2));
    assert_eq!(
        sim.sandbox.requests(Route::Nexway),
        before,
        "usage and input errors send nothing"
    );

    // 3: outcome unknown, and transport failure.
    sim.sandbox
        .set_fault(Route::Nexway, Fault::action(Action::DropAfterRead).times(1));
    let out = run(
        with_token(iam(&[
            "create-user",
            "--provider",
            "nexway",
            "--base-url",
            &sim.url(),
            "--email",
            "u@x.io",
            "--first-name",
            "U",
            "--last-name",
            "U",
            "--password-stdin",
        ])),
        "pw\n",
    );
    assert_eq!(out.status.code(), Some(3));
    assert!(
        text(&out.stderr).contains("outcome unknown"),
        "{}",
        text(&out.stderr)
    );
    let nothing = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = run(
        with_token(iam(&[
            "create-user",
            "--provider",
            "nexway",
            "--base-url",
            &format!("http://127.0.0.1:{nothing}"),
            "--email",
            "v@x.io",
            "--first-name",
            "V",
            "--last-name",
            "V",
            "--password-stdin",
        ])),
        "pw\n",
    );
    assert_eq!(out.status.code(), Some(3));
    assert!(!text(&out.stderr).contains("panicked"));
}

#[test]
fn token_file_and_oauth() {
    let sim = Sim::start("creds");
    let token_file = sim.write("token", &format!("{TOKEN}\n"));
    let mut args = vec!["create-user".to_owned()];
    args.extend(sim.target("mid-shift"));
    args.extend([
        "--username".into(),
        "filetoken".into(),
        "--token-file".into(),
        token_file.display().to_string(),
    ]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_eq!(run(iam(&args), "").status.code(), Some(0));

    let mut args = vec!["create-user".to_owned()];
    args.extend(sim.target("mid-shift"));
    args.extend([
        "--username".into(),
        "oauth".into(),
        "--token-url".into(),
        format!("{}/oauth/token", sim.url()),
    ]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut command = iam(&args);
    command
        .env("IAM_CLIENT_ID", "cli")
        .env("IAM_CLIENT_SECRET", common::CLIENT_SECRET);
    let out = run(command, "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(sim.sandbox.tokens_issued(), 1);
}

/// The issue's own example: a group UUID and an external id, both sent, both kept.
#[test]
fn create_user_sends_groups_and_set_properties_to_entrust() {
    let sim = Sim::start("set-entrust");
    let group = "7d3a8f0e-5b1c-4e2a-9f6d-0c4b8a2e1f33";
    let mut args = vec!["create-user".to_owned()];
    args.extend(sim.target("entrust"));
    args.extend(
        [
            "--username",
            "john",
            "--group",
            group,
            "--set",
            "externalId=hr-42",
            "--set",
            r#"userAliases:=[{"value":"johnny","type":"CUSTOM"}]"#,
            "--output",
            "json",
        ]
        .map(str::to_owned),
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run(with_token(iam(&args)), "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let printed: Value = serde_json::from_slice(&out.stdout).unwrap();
    let stored = sim.sandbox.users(Provider::Entrust, "default");
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0]["id"], printed["id"]);
    assert_eq!(stored[0]["externalId"], "hr-42");
    assert_eq!(stored[0]["groups"][0]["id"], group);
    assert!(
        stored[0]["userAliases"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["value"] == "johnny" && a["type"] == "CUSTOM"),
        "{}",
        stored[0]
    );

    // A group that is not a UUID is refused naming the flag's field; nothing is sent.
    let mut args = vec!["create-user".to_owned()];
    args.extend(sim.target("entrust"));
    args.extend(["--username", "jane", "--group", "admins"].map(str::to_owned));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run(with_token(iam(&args)), "");
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("`groups[0]`"), "{stderr}");
    // A secret on the command line is refused before anything else.
    let mut args = vec!["create-user".to_owned()];
    args.extend(sim.target("nexway"));
    args.extend(
        [
            "--email",
            "a@example.com",
            "--set",
            "firstName=A",
            "--set",
            "lastName=B",
            "--set",
            "password=pw-SECRET-argv",
        ]
        .map(str::to_owned),
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run(with_token(iam(&args)), "");
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("holds a secret") && !stderr.contains("pw-SECRET"),
        "{stderr}"
    );
    assert_eq!(sim.sandbox.users(Provider::Entrust, "default").len(), 1);
    assert!(sim.sandbox.users(Provider::Nexway, "default").is_empty());
}

#[test]
fn schema_is_the_json_schema_of_a_row() {
    let out = run(iam(&["schema"]), "");
    assert_eq!(out.status.code(), Some(0));
    let schema: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(schema["title"], "NewUser");
    for field in ["username", "email", "password", "roles", "attributes"] {
        assert!(schema["properties"].get(field).is_some(), "{field}");
    }
    assert_eq!(schema["additionalProperties"], false);
    // Each vendor's section: every property of its generated request type, closed, with every
    // `$ref` resolving in the one document.
    for (section, request_type, count, some) in [
        ("entrust", "UserParms", 25, "externalId"),
        ("mid", "UserRepresentation", 10, "requiredActions"),
        ("nexway", "UserCreate", 9, "authorizedCustomers"),
    ] {
        let properties = schema["properties"][section]["properties"]
            .as_object()
            .unwrap_or_else(|| panic!("no {section} section"));
        assert_eq!(properties.len(), count, "{section} ({request_type})");
        assert!(properties.contains_key(some), "{section}");
        assert_eq!(schema["properties"][section]["additionalProperties"], false);
        assert!(schema["properties"][section].get("required").is_none());
    }
    let text = schema.to_string();
    for reference in text.split("\"$ref\":\"#/definitions/").skip(1) {
        let name = reference.split('"').next().unwrap();
        assert!(schema["definitions"].get(name).is_some(), "{name}");
    }
    assert_eq!(
        schema["properties"]["entrust"]["properties"]["locale"]["anyOf"][0]["$ref"],
        "#/definitions/EntrustLocale"
    );
}

#[test]
fn a_closed_stdout_is_not_an_error() {
    let mut child = iam(&["schema"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

#[test]
fn demo_runs_and_shows_no_secret() {
    let out = run(iam(&["demo"]), "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    for needle in [
        "1/4 Entrust",
        "2/4 mID Provider SSMS",
        "3/4 mID Provider SHIFT",
        "4/4 Nexway",
        "created                    38",
        "rejected                    2",
    ] {
        assert!(stdout.contains(needle), "{needle} missing:\n{stdout}");
    }
    assert!(
        stdout.contains("\"value\":\"***\""),
        "the mID password shows as ***"
    );
    assert!(
        stdout.contains("\"token\":\"***\""),
        "Nexway's set-password token shows as ***:\n{stdout}"
    );
    // sbx_setpw_: the simulator's set-password tokens, which the demo cannot know in advance.
    for secret in ["Demo-Passw0rd!", "10101010", "demo-pw-", "sbx_setpw_"] {
        assert!(
            !stdout.contains(secret) && !text(&out.stderr).contains(secret),
            "{secret} shown"
        );
    }
}

#[test]
fn sandbox_subcommand_serves_and_prints_its_url() {
    use std::io::BufRead;
    let mut child = iam(&["sandbox", "--port", "0"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let first = std::io::BufReader::new(child.stdout.take().unwrap())
        .lines()
        .next()
        .unwrap()
        .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        first.starts_with("iam-sandbox listening on http://127.0.0.1:"),
        "{first}"
    );
    let bad = run(iam(&["sandbox", "--host", "10.9.8.7"]), "");
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn tls_with_ca_cert() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let sandbox = iam_sandbox::Sandbox::new(iam_sandbox::Config {
        token: Some(TOKEN.into()),
        ..Default::default()
    })
    .unwrap();
    let running = runtime
        .block_on(sandbox.start(iam_sandbox::ServeOptions {
            tls: true,
            ..Default::default()
        }))
        .unwrap();
    let dir = std::env::temp_dir().join(format!("iam-cli-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pem = dir.join("ca.pem");
    std::fs::write(&pem, running.cert_pem().unwrap()).unwrap();
    let base = [
        "create-user",
        "--provider",
        "mid-shift",
        "--base-url",
        running.url(),
        "--tenant",
        "acme",
        "--username",
    ];
    let untrusted = run(with_token(iam(&[&base[..], &["tls1"]].concat())), "");
    assert_eq!(
        untrusted.status.code(),
        Some(3),
        "{}",
        text(&untrusted.stderr)
    );
    let trusted = run(
        with_token(iam(&[
            &base[..],
            &["tls2", "--ca-cert", pem.to_str().unwrap()],
        ]
        .concat())),
        "",
    );
    assert_eq!(trusted.status.code(), Some(0), "{}", text(&trusted.stderr));
    std::fs::remove_dir_all(dir).unwrap();
    assert_eq!(sandbox.users(Provider::Mid, "acme").len(), 1);
}

/// SSMS: an explicit --base-url is taken as given, even when its host names no tenant (an IP
/// address, a proxy); the tenant-in-host rule applies to the URL built from --tenant and
/// --hostname.
#[test]
fn ssms_takes_an_explicit_base_url_as_given_and_checks_the_one_it_builds() {
    let sim = Sim::start("ssms-base-url");
    let url = sim.url(); // http://127.0.0.1:PORT: no tenant label
    let create = |target: &[&str], username: &str| {
        let mut args = vec!["create-user", "--provider", "mid-ssms"];
        args.extend(target);
        args.extend(["--username", username, "--output", "json"]);
        run(with_token(iam(&args)), "")
    };
    let out = create(&["--base-url", &url], "by-ip");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let users = sim.sandbox.users(Provider::Mid, "default");
    assert_eq!(users.len(), 1, "the server behind the URL picks the tenant");
    assert_eq!(users[0]["username"], "by-ip");

    // The import takes it as given too; its journal names the URL, no tenant.
    let file = sim.write("users.jsonl", "{\"username\":\"imported\"}\n");
    let out = run(
        with_token(iam(&[
            "import",
            "--provider",
            "mid-ssms",
            "--base-url",
            &url,
            file.to_str().unwrap(),
        ])),
        "",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let journal = read(&sim.path("users.jsonl.journal"));
    // The target as data: the base URL taken as given (its tenant label is not required).
    let header: Value = serde_json::from_str(journal.lines().next().unwrap()).unwrap();
    assert_eq!(header["iam_journal"], 2, "{journal}");
    assert_eq!(header["target"]["provider"], "mid-ssms", "{journal}");
    assert_eq!(
        header["target"]["base_url"],
        url.trim_end_matches('/'),
        "{journal}"
    );

    // Built from --tenant and --hostname: the tenant must be a host label; nothing is sent.
    let requests = sim.sandbox.requests(Route::MidSsms);
    let out = create(
        &["--tenant", "not a label", "--hostname", "mid.example.com"],
        "x",
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    let shown = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(shown.contains("tenant"), "{shown}");
    assert_eq!(sim.sandbox.requests(Route::MidSsms), requests);
}

/// `iam completions SHELL` prints a script that knows the subcommands and their flags.
#[test]
fn completions_for_each_shell() {
    for (shell, marker) in [
        ("bash", "_iam()"),
        ("zsh", "#compdef iam"),
        ("fish", "complete -c iam"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let out = run(iam(&["completions", shell]), "");
        assert_eq!(out.status.code(), Some(0), "{shell}: {}", text(&out.stderr));
        let script = text(&out.stdout);
        assert!(script.contains(marker), "{shell}: {script}");
        for word in ["import", "existing", "skip-unknown", "create-user"] {
            assert!(script.contains(word), "{shell} lacks {word}");
        }
    }
    let out = run(iam(&["completions", "tcsh"]), "");
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("tcsh"), "{}", text(&out.stderr));
}
