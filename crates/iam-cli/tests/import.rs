//! `iam import`: bad rows, the journal, resuming after kill -9 and Ctrl-C, secrets.

mod common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{
    CLIENT_SECRET, Sim, TOKEN, created_records, iam, nexway_csv, read, run, spawn_quiet, text,
    wait_for_journal, with_token,
};
use iam_sandbox::{Action, Fault, Provider, Route};
use serde_json::Value;

fn import_args(sim: &Sim, provider: &str, file: &std::path::Path, extra: &[&str]) -> Vec<String> {
    let mut args = vec!["import".to_owned()];
    args.extend(sim.target(provider));
    args.push(file.display().to_string());
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

fn import(
    sim: &Sim,
    provider: &str,
    file: &std::path::Path,
    extra: &[&str],
) -> std::process::Output {
    let args = import_args(sim, provider, file, extra);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run(with_token(iam(&args)), "")
}

fn summary(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON object ({e}):\n{}",
            text(&out.stdout)
        )
    })
}

#[test]
fn csv_with_bad_rows_then_a_rerun_sends_nothing_twice() {
    let sim = Sim::start("csv");
    let mut csv = nexway_csv(20);
    csv.push_str("nomail,,A,B,pw-SECRET-bad1,true,\n"); // line 22: no email
    csv.push_str("badbool,b@x.io,A,B,pw-SECRET-bad2,maybe,\n"); // line 23: enabled
    csv.push_str("short,s@x.io\n"); // line 24: too few fields
    let file = sim.write("users.csv", &csv);
    let out = import(
        &sim,
        "nexway",
        &file,
        &["--output", "json", "--concurrency", "4"],
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "some rows failed: {}",
        text(&out.stderr)
    );
    let s = summary(&out);
    assert_eq!(
        (
            s["rows"].as_u64(),
            s["created"].as_u64(),
            s["rejected"].as_u64()
        ),
        (Some(23), Some(20), Some(3))
    );
    assert_eq!(sim.sandbox.users(Provider::Nexway, "default").len(), 20);

    let rejects = read(&sim.path("users.csv.rejects"));
    let lines: Vec<Value> = rejects
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut by_line: Vec<(u64, String)> = lines
        .iter()
        .map(|r| {
            (
                r["line"].as_u64().unwrap(),
                r["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    by_line.sort();
    assert_eq!(by_line[0].0, 22);
    assert!(
        by_line[0].1.contains("`email` is required"),
        "{:?}",
        by_line[0]
    );
    assert_eq!(
        lines.iter().find(|r| r["line"] == 22).unwrap()["field"],
        "email"
    );
    assert!(
        by_line[1].1.contains("line 23: column 6 `enabled`"),
        "{:?}",
        by_line[1]
    );
    assert!(
        by_line[2]
            .1
            .contains("line 24: 2 fields where the header has 7"),
        "{:?}",
        by_line[2]
    );
    assert!(!rejects.contains("SECRET"), "{rejects}");

    let journal = read(&sim.path("users.csv.journal"));
    let header: Value = serde_json::from_str(journal.lines().next().unwrap()).unwrap();
    assert_eq!(
        (&header["iam_journal"], &header["target"]["provider"]),
        (&Value::from(2), &Value::from("nexway")),
        "{journal}"
    );
    assert_eq!(
        journal
            .lines()
            .filter(|l| l.contains("\"sending\""))
            .count(),
        20
    );

    let requests = sim.sandbox.requests(Route::Nexway);
    let again = import(&sim, "nexway", &file, &["--output", "json"]);
    let s = summary(&again);
    assert_eq!(
        (
            s["already_done"].as_u64(),
            s["created"].as_u64(),
            s["rejected"].as_u64()
        ),
        (Some(20), Some(0), Some(3)),
        "{s}"
    );
    assert_eq!(
        sim.sandbox.requests(Route::Nexway),
        requests,
        "nothing is sent again"
    );
    assert_eq!(again.status.code(), Some(1), "the bad rows are still bad");

    // Fix the bad rows: only they are sent.
    let fixed = nexway_csv(20)
        + "nomail,nomail@x.io,A,B,pw,true,
badbool,b@x.io,A,B,pw,false,
short,s@x.io,A,B,pw,true,
";
    std::fs::write(&file, fixed).unwrap();
    let out = import(&sim, "nexway", &file, &["--output", "json"]);
    let s = summary(&out);
    assert_eq!(
        (s["already_done"].as_u64(), s["created"].as_u64()),
        (Some(20), Some(3)),
        "{s}"
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(sim.sandbox.requests(Route::Nexway), requests + 3);
}

#[test]
fn jsonl_with_bad_rows_names_line_and_column() {
    let sim = Sim::start("jsonl");
    let file = sim.write(
        "users.jsonl",
        concat!(
            "{\"username\":\"ann\",\"password\":\"pw-SECRET-1\"}\n",
            "{\"username\":\"bad name\"}\n",
            "\n",
            "{\"username\":\"bob\",\"pasword\":\"pw-SECRET-2\"}\n",
            "{\"username\": 42}\n",
            "{\"username\":\"cy\",\"attributes\":{\"digitaniumCreateActivation\":true,\"digitaniumActivationCode\":\"ac-SECRET-3\"}}\n",
        ),
    );
    let out = import(&sim, "mid-shift", &file, &["--output", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let s = summary(&out);
    assert_eq!(
        (s["created"].as_u64(), s["rejected"].as_u64()),
        (Some(2), Some(3))
    );
    let rejects = read(&sim.path("users.jsonl.rejects"));
    assert!(
        rejects.contains("\"line\":2") && rejects.contains("letters, digits"),
        "{rejects}"
    );
    assert!(
        rejects.contains("line 4: column") && rejects.contains("unknown field `pasword`"),
        "{rejects}"
    );
    assert!(rejects.contains("line 5: column"), "{rejects}");
    assert!(!rejects.contains("SECRET"));
}

#[test]
fn dry_run_checks_every_row_and_sends_nothing() {
    let sim = Sim::start("dry");
    let mut csv = nexway_csv(5);
    csv.push_str("x,not-an-email,A,B,pw,true,\n");
    let file = sim.write("users.csv", &csv);
    // No credentials are needed to check rows.
    let args = import_args(&sim, "nexway", &file, &["--dry-run", "--output", "json"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run(iam(&args), "");
    assert_eq!(
        out.status.code(),
        Some(2),
        "a bad row in a dry run is an input error"
    );
    let s = summary(&out);
    assert_eq!(
        (
            s["valid"].as_u64(),
            s["rejected"].as_u64(),
            s["dry_run"].as_bool()
        ),
        (Some(5), Some(1), Some(true))
    );
    assert_eq!(sim.sandbox.requests(Route::Nexway), 0);
    assert!(
        !sim.path("users.csv.journal").exists(),
        "a dry run writes no journal"
    );

    let good = sim.write("good.csv", &nexway_csv(3));
    let args = import_args(&sim, "nexway", &good, &["--dry-run"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_eq!(run(iam(&args), "").status.code(), Some(0));
}

#[test]
fn input_errors_exit_2_before_sending() {
    let sim = Sim::start("input");
    let unknown_column = sim.write("bad.csv", "username,pasword\nu,p\n");
    let out = import(&sim, "nexway", &unknown_column, &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("line 1, column 2 `pasword`"),
        "{}",
        text(&out.stderr)
    );
    let unknown_format = sim.write("users.txt", "x");
    assert_eq!(
        import(&sim, "nexway", &unknown_format, &[]).status.code(),
        Some(2)
    );
    let missing = sim.path("missing.csv");
    let out = import(&sim, "nexway", &missing, &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("missing.csv"));
    // A journal from another target is refused.
    let file = sim.write("users.csv", &nexway_csv(2));
    std::fs::write(
        sim.path("users.csv.journal"),
        "{\"iam_journal\":1,\"target\":\"entrust at https://elsewhere\"}\n",
    )
    .unwrap();
    let out = import(&sim, "nexway", &file, &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("entrust at https://elsewhere"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(sim.sandbox.requests(Route::Nexway), 0);
    for left in ["users.csv.results.csv", "users.csv.results.csv.partial"] {
        assert!(!sim.path(left).exists(), "a refused start leaves no {left}");
    }
    // A journal of format 1 (the target as a sentence) for this very target is still read.
    std::fs::write(
        sim.path("users.csv.journal"),
        format!(
            "{{\"iam_journal\":1,\"target\":\"nexway at {}\"}}\n{{\"line\":2,\"user\":\"user0\",\"state\":\"created\",\"status\":201}}\n",
            sim.url()
        ),
    )
    .unwrap();
    let out = import(&sim, "nexway", &file, &["--output", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let s = summary(&out);
    assert_eq!(
        (s["already_done"].as_u64(), s["created"].as_u64()),
        (Some(1), Some(1)),
        "{s}"
    );
    assert_eq!(sim.sandbox.requests(Route::Nexway), 1);
}

#[test]
fn an_unwritable_journal_stops_the_import_before_sending() {
    let sim = Sim::start("journal");
    let file = sim.write("users.csv", &nexway_csv(5));
    let journal = sim.path("no-such-folder/users.journal");
    let out = import(
        &sim,
        "nexway",
        &file,
        &["--journal", journal.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("no-such-folder"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(sim.sandbox.requests(Route::Nexway), 0);
}

#[test]
fn outcome_unknown_rows_are_listed_then_resent_with_409_counted_as_created() {
    let sim = Sim::start("unknown");
    let file = sim.write("users.csv", &nexway_csv(10));
    sim.sandbox
        .set_fault(Route::Nexway, Fault::action(Action::DropAfterRead).times(2));
    let out = import(
        &sim,
        "nexway",
        &file,
        &["--output", "json", "--concurrency", "1"],
    );
    assert_eq!(out.status.code(), Some(3));
    let s = summary(&out);
    assert_eq!(
        (s["created"].as_u64(), s["unknown"].as_u64()),
        (Some(8), Some(2))
    );
    assert_eq!(s["unknown_rows"].as_array().unwrap().len(), 2);

    let skip = import(
        &sim,
        "nexway",
        &file,
        &["--output", "json", "--skip-unknown"],
    );
    assert_eq!(
        (skip.status.code(), summary(&skip)["unknown"].as_u64()),
        (Some(3), Some(2))
    );

    let requests = sim.sandbox.requests(Route::Nexway);
    let out = import(&sim, "nexway", &file, &["--output", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let s = summary(&out);
    assert_eq!(
        (s["confirmed_existing"].as_u64(), s["already_done"].as_u64()),
        (Some(2), Some(8)),
        "{s}"
    );
    assert_eq!(
        sim.sandbox.requests(Route::Nexway),
        requests + 2,
        "only the two unknown rows are sent again"
    );
    assert_eq!(sim.sandbox.users(Provider::Nexway, "default").len(), 10);
}

/// kill -9 part-way, then the same command again: every user exactly once, no row sent twice
/// except the few in flight at the kill (sent again and confirmed by their 409).
#[test]
fn killed_with_sigkill_then_resumed() {
    let sim = Sim::start("kill");
    let rows = 400;
    let file = sim.write("users.csv", &nexway_csv(rows));
    sim.sandbox.set_fault(Route::Nexway, Fault::latency(5));
    let args = import_args(&sim, "nexway", &file, &["--concurrency", "8"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut child = spawn_quiet(&args);
    let journal = sim.path("users.csv.journal");
    wait_for_journal(&journal, "the import progressed", |j| {
        created_records(j) >= 100
    });
    std::process::Command::new("kill")
        .args(["-9", &child.id().to_string()])
        .status()
        .unwrap();
    child.wait().unwrap();
    let created_before = sim.sandbox.users(Provider::Nexway, "default").len();
    assert!(
        created_before < rows,
        "killed part-way ({created_before} of {rows})"
    );
    let requests_before = sim.sandbox.requests(Route::Nexway);

    let out = import(
        &sim,
        "nexway",
        &file,
        &["--output", "json", "--concurrency", "8"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let s = summary(&out);
    let resent = sim.sandbox.requests(Route::Nexway) - requests_before;
    let done = s["created"].as_u64().unwrap()
        + s["confirmed_existing"].as_u64().unwrap()
        + s["already_done"].as_u64().unwrap();
    assert_eq!(done, rows as u64, "{s}");
    assert!(
        resent <= (rows - created_before) as u64 + 8,
        "re-sent {resent}: only rows not done and the ≤8 in flight"
    );
    let users = sim.sandbox.users(Provider::Nexway, "default");
    let mut emails: Vec<&str> = users.iter().map(|u| u["email"].as_str().unwrap()).collect();
    emails.sort();
    emails.dedup();
    assert_eq!(
        (users.len(), emails.len()),
        (rows, rows),
        "every user exactly once"
    );
}

#[test]
fn ctrl_c_finishes_in_flight_requests_records_them_and_exits_130() {
    let sim = Sim::start("ctrlc");
    let rows = 300;
    let file = sim.write("users.csv", &nexway_csv(rows));
    sim.sandbox.set_fault(Route::Nexway, Fault::latency(20));
    let args = import_args(
        &sim,
        "nexway",
        &file,
        &["--concurrency", "4", "--output", "json"],
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let child = with_token(iam(&args))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let journal = sim.path("users.csv.journal");
    wait_for_journal(&journal, "the import progressed", |j| {
        created_records(j) >= 20
    });
    std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", text(&out.stderr));
    let s = summary(&out);
    assert_eq!(s["interrupted"], true);
    let created = s["created"].as_u64().unwrap();
    assert!(created < rows as u64);
    let journal_text = read(&journal);
    let sending = journal_text
        .lines()
        .filter(|l| l.contains("\"sending\""))
        .count();
    let ended = journal_text
        .lines()
        .filter(|l| l.contains("\"created\""))
        .count();
    // Rows journaled as about to go but still waiting for a request slot are not sent: their
    // record says so, and a re-run sends them.
    let not_sent = journal_text
        .lines()
        .filter(|l| l.contains("\"failed\"") && l.contains("not sent: interrupted"))
        .count();
    assert_eq!(
        sending,
        ended + not_sent,
        "every request in flight finished and was recorded: {journal_text}"
    );
    assert_eq!(
        sim.sandbox.users(Provider::Nexway, "default").len() as u64,
        created
    );
    // The summary and the results file account for every row: the rows never reached too.
    assert_eq!(
        s["created"].as_u64().unwrap() + s["not_sent"].as_u64().unwrap(),
        rows as u64,
        "{s}"
    );
    assert_eq!(s["rows"].as_u64(), Some(rows as u64), "{s}");
    let results = read(&sim.path("users.csv.results.csv"));
    let not_reached = results.lines().filter(|l| l.contains(",not_sent,")).count();
    assert_eq!(
        (results.lines().count() - 1, not_reached as u64),
        (rows, s["not_sent"].as_u64().unwrap()),
        "{results}"
    );
    assert!(
        !read(&sim.path("users.csv.rejects")).contains("not_sent"),
        "rows not sent are not rejects"
    );

    sim.sandbox.clear_faults();
    let out = import(&sim, "nexway", &file, &["--output", "json"]);
    let s = summary(&out);
    assert_eq!(
        (s["already_done"].as_u64(), s["created"].as_u64()),
        (Some(created), Some(rows as u64 - created))
    );
}

#[test]
fn no_secret_anywhere_at_rust_log_trace() {
    let sim = Sim::start("secrets");
    let mut csv = nexway_csv(5);
    csv.push_str("bad,bad-email,A,B,pw-SECRET-badrow,true,\n");
    let file = sim.write("users.csv", &csv);
    let mut outputs = Vec::new();
    let mut trace = |mut command: std::process::Command, stdin: &str| {
        command.env("RUST_LOG", "trace");
        let out = run(command, stdin);
        outputs.push(format!("{}\n{}", text(&out.stdout), text(&out.stderr)));
    };
    let args = import_args(&sim, "nexway", &file, &["--output", "json"]);
    trace(
        with_token(iam(&args.iter().map(String::as_str).collect::<Vec<_>>())),
        "",
    );
    let mut create = vec!["create-user".to_owned()];
    create.extend(sim.target("mid-shift"));
    create.extend(
        [
            "--username",
            "sec",
            "--password-stdin",
            "--attribute",
            "digitaniumActivationCode=ac-SECRET-code",
            "--token-url",
        ]
        .map(String::from),
    );
    create.push(format!("{}/oauth/token", sim.url()));
    let mut command = iam(&create.iter().map(String::as_str).collect::<Vec<_>>());
    command
        .env("IAM_CLIENT_ID", "cli")
        .env("IAM_CLIENT_SECRET", CLIENT_SECRET);
    trace(command, "pw-SECRET-stdin\n");
    sim.sandbox.revoke_tokens();
    let url = sim.url();
    let wrong = vec![
        "create-user",
        "--provider",
        "nexway",
        "--base-url",
        &url,
        "--email",
        "q@x.io",
        "--first-name",
        "Q",
        "--last-name",
        "Q",
        "--password-stdin",
    ];
    let mut command = iam(&wrong);
    command.env("IAM_TOKEN", "tok-SECRET-wrong");
    trace(command, "pw-SECRET-wrongtoken\n");
    trace(iam(&["demo"]), "");

    let files = [
        read(&sim.path("users.csv.journal")),
        read(&sim.path("users.csv.rejects")),
    ];
    assert!(
        outputs.iter().any(|o| o.contains("iam.request")),
        "the trace was on"
    );
    for (i, text) in outputs.iter().chain(files.iter()).enumerate() {
        for secret in [
            TOKEN,
            CLIENT_SECRET,
            "SECRET",
            "Demo-Passw0rd!",
            "10101010",
            "demo-pw-",
        ] {
            assert!(!text.contains(secret), "output {i} shows {secret}:\n{text}");
        }
    }
}

fn journal_states(sim: &Sim, name: &str) -> Vec<String> {
    read(&sim.path(name))
        .lines()
        .skip(1)
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            format!(
                "{} {}",
                v["user"].as_str().unwrap(),
                v["state"].as_str().unwrap()
            )
        })
        .collect()
}

/// Import a.csv (alice), then b.csv (alice, bob): alice exists, final, never sent again, never a
/// reject; `--existing skip` makes that a success.
#[test]
fn a_user_the_provider_has_is_exists_final_and_never_sent_again() {
    let sim = Sim::start("exists");
    let alice = "alice,alice@example.com,Alice,A,pw-SECRET-a,true,\n";
    let bob = "bob,bob@example.com,Bob,B,pw-SECRET-b,true,\n";
    let header = "username,email,first_name,last_name,password,enabled,roles\n";
    let a = sim.write("a.csv", &format!("{header}{alice}"));
    let b = sim.write("b.csv", &format!("{header}{alice}{bob}"));
    assert_eq!(import(&sim, "nexway", &a, &[]).status.code(), Some(0));

    let out = import(&sim, "nexway", &b, &["--output", "json"]);
    assert_eq!(out.status.code(), Some(1), "--existing fail is the default");
    let s = summary(&out);
    assert_eq!(
        (
            s["created"].as_u64(),
            s["exists"].as_u64(),
            s["failed"].as_u64()
        ),
        (Some(1), Some(1), Some(0)),
        "{s}"
    );
    assert_eq!(s["existing"], "fail");
    let states = journal_states(&sim, "b.csv.journal");
    assert!(states.contains(&"alice exists".to_owned()), "{states:?}");
    assert!(states.contains(&"bob created".to_owned()), "{states:?}");
    assert!(
        !read(&sim.path("b.csv.rejects")).contains("alice"),
        "an existing user is not a reject"
    );

    // A re-run sends nothing and says the same.
    let requests = sim.sandbox.requests(Route::Nexway);
    let out = import(&sim, "nexway", &b, &["--output", "json"]);
    let s = summary(&out);
    assert_eq!(
        (
            s["exists"].as_u64(),
            s["already_done"].as_u64(),
            s["created"].as_u64()
        ),
        (Some(1), Some(1), Some(0)),
        "{s}"
    );
    assert_eq!(out.status.code(), Some(1));
    let out = import(&sim, "nexway", &b, &["--existing", "skip"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("exists"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(
        sim.sandbox.requests(Route::Nexway),
        requests,
        "nothing sent again"
    );
    assert_eq!(sim.sandbox.users(Provider::Nexway, "default").len(), 2);
}

/// A 400 is final for the row's content: not sent again until the row changes; a bad row and a
/// refused row are each listed in the rejects file once, however many re-runs.
#[test]
fn a_refused_row_is_sent_again_only_once_changed_and_each_reject_is_listed_once() {
    let sim = Sim::start("refused");
    let mut csv = nexway_csv(3);
    csv.push_str("bad,not-an-email,A,B,pw-SECRET-bad,true,\n"); // line 5
    let file = sim.write("users.csv", &csv);
    sim.sandbox.set_fault(
        Route::Nexway,
        Fault::action(Action::Status {
            status: 400,
            retry_after: None,
            body: iam_sandbox::ErrorBody::Json,
        })
        .times(1),
    );
    let once = |extra: &[&str]| {
        let mut args = vec!["--output", "json", "--concurrency", "1"];
        args.extend(extra);
        let out = import(&sim, "nexway", &file, &args);
        (out.status.code(), summary(&out))
    };
    let (code, s) = once(&[]);
    assert_eq!(code, Some(1));
    assert_eq!(
        (
            s["created"].as_u64(),
            s["refused"].as_u64(),
            s["rejected"].as_u64()
        ),
        (Some(2), Some(1), Some(1)),
        "{s}"
    );
    let journal = read(&sim.path("users.csv.journal"));
    let refused: Value =
        serde_json::from_str(journal.lines().find(|l| l.contains("\"refused\"")).unwrap()).unwrap();
    // The first request is refused; which row it carries depends on scheduling (lines 2-4).
    let line = refused["line"].as_u64().unwrap();
    assert!((2..=4).contains(&line), "{refused}");
    assert_eq!(refused["status"].as_u64(), Some(400), "{refused}");
    assert_eq!(
        refused["hash"].as_str().map(str::len),
        Some(16),
        "{refused}"
    );
    assert!(!journal.contains("SECRET"));

    // Re-runs: nothing sent, nothing listed twice.
    let requests = sim.sandbox.requests(Route::Nexway);
    for _ in 0..2 {
        let (code, s) = once(&[]);
        assert_eq!(code, Some(1));
        assert_eq!(
            (
                s["refused"].as_u64(),
                s["already_done"].as_u64(),
                s["rejected"].as_u64()
            ),
            (Some(1), Some(2), Some(1)),
            "{s}"
        );
    }
    assert_eq!(sim.sandbox.requests(Route::Nexway), requests);
    let rejects = read(&sim.path("users.csv.rejects"));
    assert_eq!(rejects.lines().count(), 2, "{rejects}");
    assert_eq!(
        rejects
            .lines()
            .filter(|l| l.contains(&format!("\"line\":{line},")))
            .count(),
        1
    );
    assert_eq!(
        rejects.lines().filter(|l| l.contains("\"line\":5")).count(),
        1
    );

    // The refused row changes: it is sent again (and created); the password alone would not do.
    let first = format!(",First{},", line - 2);
    let changed = format!(",Firstname{},", line - 2);
    std::fs::write(&file, csv.replacen(&first, &changed, 1)).unwrap();
    let (code, s) = once(&[]);
    assert_eq!(
        (s["created"].as_u64(), s["refused"].as_u64()),
        (Some(1), Some(0)),
        "{s}"
    );
    assert_eq!(code, Some(1), "the bad row is still bad");
    assert_eq!(sim.sandbox.requests(Route::Nexway), requests + 1);
    assert_eq!(sim.sandbox.users(Provider::Nexway, "default").len(), 3);
}

/// The journal's content hash covers the vendor section: a refused row whose `externalId`
/// changed is sent again; unchanged, it is not.
#[test]
fn a_refused_row_whose_vendor_section_changed_is_sent_again() {
    let sim = Sim::start("refused-section");
    let row = |external_id: &str| {
        format!(
            "{{\"username\":\"john\",\"entrust\":{{\"externalId\":\"{external_id}\",\"userAliases\":[{{\"value\":\"johnny\",\"type\":\"CUSTOM\"}}]}}}}\n"
        )
    };
    let file = sim.write("users.jsonl", &row("hr-41"));
    sim.sandbox.set_fault(
        Route::Entrust,
        Fault::action(Action::Status {
            status: 400,
            retry_after: None,
            body: iam_sandbox::ErrorBody::Json,
        })
        .times(1),
    );
    let once = || {
        let out = import(&sim, "entrust", &file, &["--output", "json"]);
        (out.status.code(), summary(&out))
    };
    let (code, s) = once();
    assert_eq!((code, s["refused"].as_u64()), (Some(1), Some(1)), "{s}");
    let requests = sim.sandbox.requests(Route::Entrust);
    let (code, s) = once();
    assert_eq!((code, s["refused"].as_u64()), (Some(1), Some(1)), "{s}");
    assert_eq!(
        sim.sandbox.requests(Route::Entrust),
        requests,
        "unchanged: not sent"
    );
    std::fs::write(&file, row("hr-42")).unwrap();
    let (code, s) = once();
    assert_eq!((code, s["created"].as_u64()), (Some(0), Some(1)), "{s}");
    assert_eq!(sim.sandbox.requests(Route::Entrust), requests + 1);
    let stored = sim.sandbox.users(Provider::Entrust, "default");
    assert_eq!(stored[0]["externalId"], "hr-42");
}

/// Without --rate the import finds the limit: every row created, a small share of 429s (the
/// bound is loose: the machine may be loaded), rows answered 429 sent again, not failed.
#[test]
fn adaptive_pacing_settles_under_the_providers_limit() {
    let sim = Sim::start("adaptive");
    let rows = 300;
    let file = sim.write("users.csv", &nexway_csv(rows));
    sim.sandbox
        .set_rate_limit(Route::Nexway, Some(iam_sandbox::RateLimit::per_second(100)));
    let out = import(&sim, "nexway", &file, &["--output", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let s = summary(&out);
    assert_eq!(
        (s["created"].as_u64(), s["failed"].as_u64()),
        (Some(rows as u64), Some(0)),
        "{s}"
    );
    let limited = sim.sandbox.rate_limited(Route::Nexway);
    let requests = sim.sandbox.requests(Route::Nexway);
    assert_eq!(requests, rows as u64 + limited, "each 429 sent again, once");
    assert!(
        limited > 0,
        "the import met the limit (300 rows over a burst of 100)"
    );
    assert!(
        (limited as f64) < 0.15 * requests as f64,
        "{limited} of {requests} requests were 429s"
    );
    assert_eq!(s["rate_limited"].as_u64(), Some(limited));
    assert_eq!(sim.sandbox.users(Provider::Nexway, "default").len(), rows);
}

/// While the provider holds the import back (a fixed window's Retry-After, 6 s here), no row
/// finishes, and the progress line still comes every 5 s, saying why and for how long.
#[test]
fn the_progress_line_keeps_coming_while_the_provider_holds_the_import_back() {
    let sim = Sim::start("held-back");
    let file = sim.write("users.csv", &nexway_csv(8));
    sim.sandbox.set_rate_limit(
        Route::Nexway,
        Some(iam_sandbox::RateLimit::per_second(1).window(6)),
    );
    let out = import(&sim, "nexway", &file, &["--output", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(summary(&out)["created"].as_u64(), Some(8));
    let stderr = text(&out.stderr);
    let held = stderr
        .lines()
        .find(|l| {
            l.starts_with("progress: 6 rows done") && l.contains("held back by the provider for")
        })
        .unwrap_or_else(|| panic!("no progress line during the pause:\n{stderr}"));
    assert!(held.contains("rate-limited"), "{held}");
}

/// --rate N under the provider's limit: no 429 at all.
#[test]
fn a_fixed_rate_under_the_limit_meets_no_429() {
    let sim = Sim::start("fixed-rate");
    let rows = 150;
    let file = sim.write("users.csv", &nexway_csv(rows));
    sim.sandbox.set_rate_limit(
        Route::Nexway,
        Some(iam_sandbox::RateLimit::per_second(100).burst(10)),
    );
    let started = Instant::now();
    let out = import(&sim, "nexway", &file, &["--output", "json", "--rate", "90"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(summary(&out)["created"].as_u64(), Some(rows as u64));
    assert_eq!(sim.sandbox.rate_limited(Route::Nexway), 0);
    assert!(
        started.elapsed() >= Duration::from_millis(1500),
        "150 rows at 90/s take more than 1.5 s: {:?}",
        started.elapsed()
    );
}

/// A 503, with Retry-After or without, means what the facade says (nothing done; send again
/// after a wait): the import pauses as for a 429 and sends the rows again, none failed.
#[test]
fn a_503_pauses_and_the_rows_go_again() {
    for (name, fault) in [
        (
            "503-retry-after",
            Fault::status(503).retry_after(1).times(3),
        ),
        ("503-bare", Fault::status(503).times(3)),
    ] {
        let sim = Sim::start(name);
        let file = sim.write("users.csv", &nexway_csv(20));
        sim.sandbox.set_fault(Route::Nexway, fault);
        let out = import(&sim, "nexway", &file, &["--output", "json"]);
        assert_eq!(out.status.code(), Some(0), "{name}: {}", text(&out.stderr));
        let s = summary(&out);
        assert_eq!(
            (
                s["created"].as_u64(),
                s["failed"].as_u64(),
                s["rate_limited"].as_u64()
            ),
            (Some(20), Some(0), Some(3)),
            "{name}: {s}"
        );
        assert_eq!(sim.sandbox.requests(Route::Nexway), 23, "{name}");
    }
}
