//! `iam import` as real users meet it: two runs of one import at once, a wrong token, runs
//! refused at the start, rejects that stay true, a user twice in a file, and errors for scripts.
//! Each test runs the real binary against the simulator and counts what reached it.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;

use common::{Sim, TOKEN, iam, nexway_csv, read, run, text, wait_for_journal, with_token};
use iam_sandbox::{Fault, Provider, Route};
use serde_json::Value;

fn args(sim: &Sim, file: &Path, extra: &[&str]) -> Vec<String> {
    let mut args = vec!["import".to_owned()];
    args.extend(sim.target("nexway"));
    args.push(file.display().to_string());
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

fn import(sim: &Sim, file: &Path, extra: &[&str]) -> std::process::Output {
    let args = args(sim, file, extra);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run(with_token(iam(&args)), "")
}

fn json(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", text(&out.stdout)))
}

/// The usernames the simulator holds for Nexway, and how many times each.
fn held(sim: &Sim) -> BTreeMap<String, usize> {
    let mut held = BTreeMap::new();
    for user in sim.sandbox.users(Provider::Nexway, "default") {
        let name = user["userName"]
            .as_str()
            .or(user["email"].as_str())
            .unwrap_or_default()
            .to_owned();
        *held.entry(name).or_insert(0) += 1;
    }
    held
}

/// Every file in the test's folder, with its content.
fn files(sim: &Sim) -> BTreeMap<String, String> {
    std::fs::read_dir(&sim.dir)
        .unwrap()
        .map(|entry| {
            let entry = entry.unwrap();
            let name = entry.file_name().to_string_lossy().into_owned();
            (name, read(&entry.path()))
        })
        .collect()
}

/// The outcome of each line of a results file.
fn outcomes(results: &str) -> BTreeMap<u64, String> {
    results
        .lines()
        .skip(1)
        .map(|l| {
            let mut fields = l.split(',');
            let line = fields.next().unwrap().parse().unwrap();
            (line, fields.nth(1).unwrap().to_owned())
        })
        .collect()
}

#[test]
fn a_second_run_with_the_same_journal_exits_2_naming_the_first_and_sends_nothing() {
    let sim = Sim::start("lock");
    let rows = 120;
    let file = sim.write("users.csv", &nexway_csv(rows));
    sim.sandbox.set_fault(Route::Nexway, Fault::latency(30));
    let first_args = args(&sim, &file, &["--concurrency", "2"]);
    let first_args: Vec<&str> = first_args.iter().map(String::as_str).collect();
    let first = with_token(iam(&first_args))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_journal(
        &sim.path("users.csv.journal"),
        "the first run started",
        |j| j.contains("\"created\""),
    );
    let second = import(&sim, &file, &["--concurrency", "2"]);
    let said = text(&second.stderr);
    let first_id = first.id();
    let status = first.wait_with_output().unwrap().status;
    assert_eq!(second.status.code(), Some(2), "{said}");
    assert!(
        said.contains("users.csv.journal is in use by")
            && said.contains(&format!("process {first_id}")),
        "names the journal and the other process: {said}"
    );
    assert_eq!(status.code(), Some(0));
    // Each user once, one request each: the second run sent nothing.
    let held = held(&sim);
    assert_eq!(held.len(), rows);
    assert!(held.values().all(|&n| n == 1), "{held:?}");
    assert_eq!(sim.sandbox.requests(Route::Nexway), rows as u64);
    let journal = read(&sim.path("users.csv.journal"));
    assert!(!journal.contains("\"exists\""), "{journal}");

    // A re-run now finds everything done.
    sim.sandbox.clear_faults();
    let again = import(&sim, &file, &["--output", "json"]);
    assert_eq!(
        json(&again)["already_done"],
        rows,
        "{}",
        text(&again.stderr)
    );
    assert_eq!(again.status.code(), Some(0));
}

#[test]
fn a_refused_token_stops_the_import_at_once_and_the_rows_not_sent_stay_unsent() {
    let sim = Sim::start("token");
    let rows = 500;
    let file = sim.write("users.csv", &nexway_csv(rows));
    let wrong = |args: &[&str]| {
        let mut command = iam(args);
        command.env("IAM_TOKEN", "wrong-token");
        run(command, "")
    };
    let a = args(&sim, &file, &["--output", "json"]);
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    let out = wrong(&a);
    let said = text(&out.stderr);
    assert_eq!(out.status.code(), Some(5), "{said}");
    assert!(
        said.contains("refused the credentials from IAM_TOKEN") && !said.contains("wrong-token"),
        "{said}"
    );
    let sent = sim.sandbox.requests(Route::Nexway);
    assert!(
        (1..=8).contains(&sent),
        "{sent} requests: at most those in flight when the first 401 came"
    );
    let s = json(&out);
    assert_eq!(s["error"]["kind"], "unauthorized", "{s}");
    assert_eq!(s["error"]["exit_code"], 5, "{s}");
    assert_eq!(s["error"]["field"], "IAM_TOKEN", "{s}");
    assert_eq!(
        (s["failed"].as_u64(), s["not_sent"].as_u64()),
        (Some(sent), Some(rows as u64 - sent)),
        "{s}"
    );
    assert_eq!(s["rejected"], 0, "{s}");
    // Only the rows the provider answered 401 are listed: the rest were never sent.
    let rejects = read(&sim.path("users.csv.rejects"));
    assert_eq!(rejects.lines().count() as u64, sent, "{rejects}");
    let results = outcomes(&read(&sim.path("users.csv.results.csv")));
    assert_eq!(results.len(), rows);
    assert_eq!(
        results.values().filter(|o| *o == "not_sent").count() as u64,
        rows as u64 - sent
    );
    assert!(held(&sim).is_empty());

    // With the right token, the same command creates everyone, each once.
    let out = import(&sim, &file, &["--output", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(json(&out)["created"], rows);
    assert_eq!(sim.sandbox.requests(Route::Nexway), sent + rows as u64);
    assert_eq!(held(&sim).len(), rows);
    assert!(
        !sim.path("users.csv.rejects").exists(),
        "nothing left to list"
    );

    // A token file that is refused is named as the source; create-user says so too.
    let token_file = sim.write("token.txt", "wrong-token\n");
    let token_file = token_file.to_str().unwrap();
    let mut create = vec!["create-user"];
    let target = sim.target("nexway");
    create.extend(target.iter().map(String::as_str));
    create.extend([
        "--email",
        "zed@example.com",
        "--first-name",
        "Zed",
        "--last-name",
        "Z",
        "--token-file",
        token_file,
        "--password-stdin",
    ]);
    let out = run(iam(&create), "pw-SECRET-zed\n");
    let said = text(&out.stderr);
    assert_eq!(out.status.code(), Some(5), "{said}");
    assert!(
        said.contains(&format!(
            "the credentials came from --token-file {token_file}"
        )),
        "{said}"
    );
}

#[test]
fn a_run_that_sends_nothing_leaves_every_file_as_it_was() {
    let sim = Sim::start("nothing");
    // A real run first, with a bad row: its journal, rejects and results are what a corrected
    // run builds on.
    let mut csv = nexway_csv(3);
    csv.push_str("nomail,,A,B,pw,true,\n");
    let file = sim.write("users.csv", &csv);
    assert_eq!(import(&sim, &file, &[]).status.code(), Some(1));
    let before = files(&sim);
    assert!(before.contains_key("users.csv.rejects"), "{before:?}");
    let sent = sim.sandbox.requests(Route::Nexway);

    let missing = sim.path("missing.csv");
    let bad_header = sim.write("bad.csv", "username,colour\nada,red\n");
    let dir = sim.dir.join("folder");
    std::fs::create_dir(&dir).unwrap();
    let before = files(&sim);
    // (what, file, flags, exit code)
    let cases: [(&str, &Path, &[&str], i32); 4] = [
        ("a missing file", &missing, &[], 2),
        ("a bad header", &bad_header, &[], 2),
        ("a directory as FILE", &dir, &["--format", "csv"], 2),
        ("a dry run with a bad row", &file, &["--dry-run"], 2),
    ];
    for (what, path, flags, code) in cases {
        let out = import(&sim, path, flags);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{what}: {}",
            text(&out.stderr)
        );
        let mut after = files(&sim);
        // A dry run writes its own files, never the real run's.
        if flags.contains(&"--dry-run") {
            let rejects = after
                .remove("users.csv.dry-run.rejects")
                .unwrap_or_default();
            assert!(rejects.contains("\"line\":5"), "{what}: {rejects}");
            assert!(
                after.remove("users.csv.dry-run.results.csv").is_some(),
                "{what}"
            );
        }
        assert_eq!(after, before, "{what}: the files changed");
    }
    assert!(!sim.dir.join("folder.journal").exists());
    assert_eq!(sim.sandbox.requests(Route::Nexway), sent);
}

#[test]
fn rejects_list_the_rows_not_done_now_and_a_fixed_row_leaves_them() {
    let sim = Sim::start("rejects");
    let mut csv = nexway_csv(4);
    csv.push_str("nomail,,A,B,pw,true,\n"); // line 6
    csv.push_str("badbool,b@x.io,A,B,pw,maybe,\n"); // line 7
    let file = sim.write("users.csv", &csv);
    assert_eq!(import(&sim, &file, &[]).status.code(), Some(1));
    let listed = |sim: &Sim| -> Vec<u64> {
        let mut lines: Vec<u64> = read(&sim.path("users.csv.rejects"))
            .lines()
            .map(|l| {
                serde_json::from_str::<Value>(l).unwrap()["line"]
                    .as_u64()
                    .unwrap()
            })
            .collect();
        lines.sort_unstable();
        lines
    };
    assert_eq!(listed(&sim), [6, 7]);

    // Line 6 fixed: created; line 7 still bad: listed alone. A re-run of a file whose bad
    // row is unchanged lists it again (the file says what is not done, run after run).
    let fixed = csv.replace("nomail,,A", "nomail,nomail@x.io,A");
    std::fs::write(&file, fixed).unwrap();
    let out = import(&sim, &file, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert_eq!(listed(&sim), [7]);
    let results = outcomes(&read(&sim.path("users.csv.results.csv")));
    assert_eq!(results[&6], "created");
    assert_eq!(results[&7], "rejected");
    let out = import(&sim, &file, &[]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(listed(&sim), [7]);
    assert_eq!(held(&sim).len(), 5);
    assert_eq!(sim.sandbox.requests(Route::Nexway), 5);
}

#[test]
fn a_user_twice_in_one_file_is_a_duplicate_of_its_first_line() {
    let sim = Sim::start("twice");
    let csv = "username,email,first_name,last_name,password\n\
               ada,ada@x.io,Ada,L,pw-1\n\
               bob,bob@x.io,Bob,B,pw-2\n\
               ada,ada2@x.io,Ada,Two,pw-3\n\
               ADA,ada3@x.io,Ada,Three,pw-4\n";
    let file = sim.write("users.csv", csv);
    for dry in [true, false] {
        let flags: &[&str] = if dry {
            &["--dry-run", "--output", "json"]
        } else {
            &["--output", "json"]
        };
        let out = import(&sim, &file, flags);
        let s = json(&out);
        assert_eq!(
            (s["rejected"].as_u64(), s["exists"].as_u64()),
            (Some(2), Some(0)),
            "dry run {dry}: {s}"
        );
        let rejects = if dry {
            "users.csv.dry-run.rejects"
        } else {
            "users.csv.rejects"
        };
        let rejects: Vec<Value> = read(&sim.path(rejects))
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let said: Vec<(u64, &str, &str)> = rejects
            .iter()
            .map(|r| {
                (
                    r["line"].as_u64().unwrap(),
                    r["kind"].as_str().unwrap(),
                    r["reason"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(said.len(), 2, "{said:?}");
        for (i, line) in [4, 5].into_iter().enumerate() {
            assert_eq!((said[i].0, said[i].1), (line, "duplicate"), "{said:?}");
            assert!(said[i].2.contains("is on line 2 too"), "{said:?}");
        }
    }
    assert_eq!(held(&sim).len(), 2);
    assert_eq!(sim.sandbox.requests(Route::Nexway), 2);
}

#[test]
fn errors_for_scripts_are_json_on_stdout_a_line_on_stderr_with_kind_and_field() {
    let sim = Sim::start("errors");
    let file = sim.write("users.csv", &nexway_csv(2));
    // (what, file, flags, kind, field)
    let missing = sim.path("missing.csv");
    let header = sim.write("header.csv", "username,First Name,pasword\nada,Ada,x\n");
    let cases: [(&str, &Path, &[&str], &str, Value); 4] = [
        ("a missing file", &missing, &[], "input", Value::Null),
        (
            "a header with unknown columns",
            &header,
            &[],
            "input",
            Value::from("First Name"),
        ),
        (
            "a token file that is not there",
            &file,
            &["--token-file", "/nonexistent/token"],
            "usage",
            Value::from("--token-file"),
        ),
        (
            "a journal that is not a file",
            &file,
            &["--journal", "/dev/null"],
            "journal",
            Value::Null,
        ),
    ];
    for (what, path, flags, kind, field) in cases {
        let mut flags = flags.to_vec();
        flags.extend(["--output", "json"]);
        let out = import(&sim, path, &flags);
        assert_eq!(out.status.code(), Some(2), "{what}");
        let error = &json(&out)["error"];
        assert_eq!(
            (&error["kind"], &error["field"]),
            (&Value::from(kind), &field),
            "{what}: {error}"
        );
        let line = text(&out.stderr);
        assert!(
            line.starts_with("error: ") && line.contains(error["message"].as_str().unwrap()),
            "{what}: stderr has the line for people: {line}"
        );
    }
    assert_eq!(sim.sandbox.requests(Route::Nexway), 0);
    let _ = TOKEN;
}

#[test]
fn a_pipe_given_as_file_is_read_once_and_its_duplicates_found() {
    let sim = Sim::start("pipe");
    let fifo = sim.path("users.fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            std::fs::write(
                &fifo,
                "username,email,first_name,last_name,password\n\
                 ada,ada@x.io,Ada,L,pw-1\n\
                 bob,bob@x.io,Bob,B,pw-2\n\
                 ada,ada2@x.io,Ada,Two,pw-3\n",
            )
        })
    };
    let journal = sim.path("pipe.journal");
    let a = args(
        &sim,
        &fifo,
        &[
            "--format",
            "csv",
            "--journal",
            journal.to_str().unwrap(),
            "--output",
            "json",
        ],
    );
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    let mut child = with_token(iam(&a))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A pipe opened twice waits for a second writer for ever: fail instead of hanging.
    let started = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > std::time::Duration::from_secs(30) {
            let _ = child.kill();
            panic!("iam import of a pipe did not end within 30 s");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    // The writer is done once iam read the pipe to its end (not joined: a failing run may
    // never have opened it).
    drop(writer);
    let s = json(&out);
    assert_eq!(
        (
            s["created"].as_u64(),
            s["rejected"].as_u64(),
            s["rows"].as_u64()
        ),
        (Some(2), Some(1), Some(3)),
        "{s} {}",
        text(&out.stderr)
    );
    assert_eq!(held(&sim).len(), 2);
    assert_eq!(sim.sandbox.requests(Route::Nexway), 2);
}
