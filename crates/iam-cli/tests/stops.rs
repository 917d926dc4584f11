//! How `iam import` stops and what it demands before it starts: standard input needs a journal
//! or an explicit `--no-journal`; a file changed under its journal stops the import with exit 4
//! (rows were sent), not 2 (nothing sent); mid-shift's tenant is not replaced by a base URL.

mod common;

use common::{Sim, iam, nexway_csv, read, run, text, with_token};
use iam_sandbox::Route;

fn args(sim: &Sim, provider: &str, rest: &[&str]) -> Vec<String> {
    let mut args = vec!["import".to_owned()];
    args.extend(sim.target(provider));
    args.extend(rest.iter().map(|s| s.to_string()));
    args
}

fn import(sim: &Sim, rest: &[&str], stdin: &str) -> std::process::Output {
    let args = args(sim, "nexway", rest);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run(with_token(iam(&args)), stdin)
}

#[test]
fn standard_input_needs_a_journal_or_no_journal() {
    let sim = Sim::start("stdin");
    let csv = nexway_csv(3);
    let out = import(&sim, &["--format", "csv", "-"], &csv);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains("needs --journal PATH") && err.contains("--no-journal"),
        "{err}"
    );
    assert_eq!(sim.sandbox.requests(Route::Nexway), 0, "nothing was sent");

    // A dry run sends nothing: no journal needed.
    let dry = sim.path("dry.results.csv");
    let dry = dry.to_str().unwrap();
    let out = import(
        &sim,
        &["--format", "csv", "--dry-run", "--results", dry, "-"],
        &csv,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));

    // Said explicitly, the rows go.
    let rejects = sim.path("rejects.jsonl");
    let results = sim.path("results.csv");
    let (rejects, results) = (rejects.to_str().unwrap(), results.to_str().unwrap());
    let out = import(
        &sim,
        &[
            "--format",
            "csv",
            "--no-journal",
            "--rejects",
            rejects,
            "--results",
            results,
            "-",
        ],
        &csv,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(sim.sandbox.requests(Route::Nexway), 3);

    // With a journal, a second run sends nothing again; the results go beside the journal.
    let journal = sim.path("stdin.journal");
    let journal = journal.to_str().unwrap();
    let rest = [
        "--format",
        "csv",
        "--journal",
        journal,
        "--rejects",
        rejects,
        "-",
    ];
    let fresh = rows("other", 4, true, "otherlast");
    assert_eq!(import(&sim, &rest, &fresh).status.code(), Some(0));
    assert_eq!(sim.sandbox.requests(Route::Nexway), 8);
    assert_eq!(import(&sim, &rest, &fresh).status.code(), Some(0));
    assert_eq!(sim.sandbox.requests(Route::Nexway), 8, "nothing sent twice");
    let beside = read(&sim.path("stdin.journal.results.csv"));
    assert_eq!(
        beside
            .lines()
            .filter(|l| l.contains(",already_done,"))
            .count(),
        5,
        "{beside}"
    );
}

/// A CSV of `n` rows `{prefix}{i}`, valid or with an email the provider cannot take, then
/// the row `last`.
fn rows(prefix: &str, n: usize, valid: bool, last: &str) -> String {
    let mut csv = String::from("username,email,first_name,last_name,password,enabled,roles\n");
    for i in 0..n {
        let email = if valid {
            format!("{prefix}{i}@example.com")
        } else {
            "not-an-email".to_owned()
        };
        csv.push_str(&format!(
            "{prefix}{i},{email},F,L,pw-SECRET-{i:05},true,member\n"
        ));
    }
    csv.push_str(&format!(
        "{last},{last}@example.com,F,L,pw-SECRET-last,true,member\n"
    ));
    csv
}

#[test]
fn a_file_changed_under_its_journal_stops_with_exit_4_after_sending_and_2_before() {
    let sim = Sim::start("changed");
    // Run 1: 200 rows rejected (a bad email: never sent), and the last one created.
    let file = sim.write("users.csv", &rows("u", 200, false, "keep"));
    let path = file.to_str().unwrap().to_owned();
    let out = import(&sim, &["--concurrency", "1", &path], "");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert_eq!(sim.sandbox.requests(Route::Nexway), 1);

    // Run 2: the rejected rows are fixed (so they are sent) and the last line is another user.
    // With concurrency 1 the import holds 4 rows at a time, so the last line is read only after
    // most fixed rows went out.
    std::fs::write(&file, rows("u", 200, true, "renamed")).unwrap();
    let out = import(&sim, &["--concurrency", "1", "--output", "json", &path], "");
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    let why = summary["error"]["message"].as_str().unwrap_or_default();
    assert!(
        why.contains("line 202 was `keep`") && why.contains("the file changed"),
        "{summary}"
    );
    let sent = sim.sandbox.requests(Route::Nexway);
    assert!(sent > 150, "{sent} requests: the fixed rows went out first");
    assert_eq!(out.status.code(), Some(4), "rows were sent: {summary}");
    // What was sent is in the journal.
    let journal = read(&sim.path("users.csv.journal"));
    let created = journal
        .lines()
        .filter(|l| l.contains("\"created\""))
        .count();
    assert_eq!(created as u64, sent, "{journal}");

    // Changed where nothing else is to be sent: stopped before sending, exit 2.
    let file = sim.write("one.csv", &rows("x", 0, true, "first"));
    let path = file.to_str().unwrap().to_owned();
    assert_eq!(import(&sim, &[&path], "").status.code(), Some(0));
    std::fs::write(&file, rows("x", 0, true, "second")).unwrap();
    let before = sim.sandbox.requests(Route::Nexway);
    let out = import(&sim, &[&path], "");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("the file changed"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(sim.sandbox.requests(Route::Nexway), before);
}

#[test]
fn mid_shift_says_its_tenant_is_not_replaced_by_a_base_url() {
    let out = run(
        iam(&[
            "import",
            "--provider",
            "mid-shift",
            "--base-url",
            "http://127.0.0.1:9",
            "--format",
            "csv",
            "--dry-run",
            "--results",
            "/nonexistent-dir/never-written.csv",
            "-",
        ]),
        "username,email\nada,ada@example.com\n",
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    let err = text(&out.stderr);
    assert!(
        err.contains("mid-shift needs --tenant") && err.contains("--base-url does not replace it"),
        "{err}"
    );
}

#[test]
fn a_journal_of_an_earlier_iam_that_numbered_lines_otherwise_is_named_as_a_cause() {
    let sim = Sim::start("legacy-lines");
    // An earlier iam numbered the row after a CRLF header line 1 lower: its journal says line 2
    // was `b` where the file's line 2 is `a` (its line 3).
    let file = sim.write("users.csv", "username,email\r\na,a@x.io\r\nb,b@x.io\r\n");
    let journal = format!(
        "{{\"iam_journal\":2,\"target\":{{\"provider\":\"nexway\",\"base_url\":\"{}\"}}}}\n{{\"line\":2,\"user\":\"b\",\"state\":\"created\"}}\n",
        sim.url()
    );
    std::fs::write(sim.path("users.csv.journal"), journal).unwrap();
    let out = import(&sim, &[file.to_str().unwrap()], "");
    let said = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(
        said.contains("line 2 was `b`") && said.contains("written by an earlier iam"),
        "{said}"
    );
    assert_eq!(sim.sandbox.requests(Route::Nexway), 0);
    // A journal this iam wrote says how it numbers lines: no such guess.
    let fresh = sim.write("fresh.csv", "username,email\r\na,a@x.io\r\n");
    let out = import(&sim, &[fresh.to_str().unwrap()], "");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let header = read(&sim.path("fresh.csv.journal"));
    assert!(
        header.starts_with("{\"iam_journal\":2")
            && header
                .lines()
                .next()
                .unwrap()
                .contains("\"lines\":\"physical\""),
        "{header}"
    );
}
