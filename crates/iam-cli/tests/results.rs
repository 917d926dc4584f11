//! `iam import`'s results file: one line per input row, in input order, with the outcome and
//! the id the provider holds for the user; rows done by an earlier run keep their ids; created
//! readable by its owner only, as the journal and the rejects file are.

mod common;

use std::collections::HashMap;

use common::{
    Sim, created_records, iam, read, run, spawn_quiet, text, wait_for_journal, with_token,
};
use iam_sandbox::Provider;

/// `iam import` of `file` into the simulator's `provider`.
fn import_to(sim: &Sim, provider: &str, file: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["import".to_owned()];
    args.extend(sim.target(provider));
    args.push(file.to_owned());
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run(with_token(iam(&args)), "")
}

fn import(sim: &Sim, file: &str, extra: &[&str]) -> std::process::Output {
    import_to(sim, "nexway", file, extra)
}

fn import_entrust(sim: &Sim, file: &str, extra: &[&str]) -> std::process::Output {
    import_to(sim, "entrust", file, extra)
}

/// The users the simulator holds for `provider`: their `key` (the vendor's own) -> id.
fn held(sim: &Sim, provider: Provider, key: &str) -> HashMap<String, String> {
    sim.sandbox
        .users(provider, "default")
        .into_iter()
        .map(|u| {
            (
                u[key].as_str().unwrap().to_owned(),
                u["id"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn ids(sim: &Sim) -> HashMap<String, String> {
    held(sim, Provider::Nexway, "userName")
}

fn entrust_ids(sim: &Sim) -> HashMap<String, String> {
    held(sim, Provider::Entrust, "userId")
}

/// The results file's rows (after its header), each split into its six fields.
fn fields(results: &str) -> Vec<Vec<&str>> {
    results
        .lines()
        .skip(1)
        .map(|l| l.splitn(6, ',').collect())
        .collect()
}

fn csv(rows: &[&str]) -> String {
    let mut csv = String::from("username,email,first_name,last_name,password,enabled,roles\n");
    for name in rows {
        let email = if name.starts_with("bad") {
            "not-an-email".to_owned()
        } else {
            format!("{name}@example.com")
        };
        csv.push_str(&format!(
            "{name},{email},F,L,pw-SECRET-{name},true,member\n"
        ));
    }
    csv
}

#[test]
fn every_row_in_input_order_with_its_outcome_and_the_provider_s_id() {
    let sim = Sim::start("results");
    let names: Vec<String> = (0..40).map(|i| format!("u{i:02}")).collect();
    let mut rows: Vec<&str> = names.iter().map(String::as_str).collect();
    rows.insert(7, "bad-one");
    let file = sim.write("users.csv", &csv(&rows));
    let path = file.to_str().unwrap();
    let out = import(&sim, path, &["--concurrency", "8"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let held = ids(&sim);
    assert_eq!(held.len(), 40);

    let results = read(&sim.path("users.csv.results.csv"));
    let lines: Vec<&str> = results.lines().collect();
    assert_eq!(lines[0], "line,user,outcome,id,status,reason");
    assert_eq!(lines.len(), 1 + rows.len(), "{results}");
    for (i, (row, name)) in lines[1..].iter().zip(&rows).enumerate() {
        let fields: Vec<&str> = row.splitn(6, ',').collect();
        assert_eq!(fields[0], (i + 2).to_string(), "input order: {row}");
        assert_eq!(fields[1], *name, "{row}");
        if name.starts_with("bad") {
            assert_eq!(&fields[2..5], ["rejected", "", ""], "{row}");
            assert!(fields[5].contains("email"), "{row}");
        } else {
            assert_eq!(fields[2], "created", "{row}");
            assert_eq!(fields[3], held[*name], "the simulator's id: {row}");
            assert_eq!(fields[4], "201", "{row}");
        }
    }
    assert!(!results.contains("SECRET"), "{results}");

    // A re-run sends nothing and still lists every row, with the ids from the journal.
    let out = import(
        &sim,
        path,
        &["--results", sim.path("again.csv").to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let again = read(&sim.path("again.csv"));
    for (row, name) in again.lines().skip(1).zip(&rows) {
        let fields: Vec<&str> = row.splitn(6, ',').collect();
        if name.starts_with("bad") {
            assert_eq!(fields[2], "rejected", "{row}");
        } else {
            assert_eq!(
                &fields[1..4],
                [*name, "already_done", &held[*name]],
                "{row}"
            );
        }
    }
    assert_eq!(again.lines().count(), 1 + rows.len());

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for name in [
            "users.csv.journal",
            "users.csv.rejects",
            "users.csv.results.csv",
        ] {
            let mode = std::fs::metadata(sim.path(name))
                .unwrap()
                .permissions()
                .mode()
                & 0o777;
            assert_eq!(mode, 0o600, "{name}: {mode:o}");
        }
    }
}

#[test]
fn a_dry_run_writes_results_of_its_own_beside_the_real_run_s() {
    let sim = Sim::start("results-dry");
    let file = sim.write("users.csv", &csv(&["ok1", "bad-two", "ok3"]));
    let out = import(&sim, file.to_str().unwrap(), &["--dry-run"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    // The real run's files are not touched by a dry run: it writes its own.
    for name in [
        "users.csv.results.csv",
        "users.csv.rejects",
        "users.csv.journal",
    ] {
        assert!(!sim.path(name).exists(), "{name}");
    }
    let rejects = read(&sim.path("users.csv.dry-run.rejects"));
    assert!(
        rejects.lines().count() == 1 && rejects.contains("\"line\":3"),
        "{rejects}"
    );
    let results = read(&sim.path("users.csv.dry-run.results.csv"));
    let outcomes: Vec<&str> = results
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(2).unwrap())
        .collect();
    assert_eq!(outcomes, ["valid", "rejected", "valid"], "{results}");
}

/// An Entrust JSONL row for `name`.
fn entrust_row(name: &str) -> String {
    format!(
        "{{\"username\": \"{name}\", \"email\": \"{name}@example.com\", \"first_name\": \"F\", \"last_name\": \"L\"}}\n"
    )
}

#[test]
fn users_that_exist_come_back_with_the_id_the_provider_holds() {
    let sim = Sim::start("results-entrust");
    // Three users exist before the import (another tool made them).
    let before = sim.write(
        "before.jsonl",
        &["e01", "e03", "e05"].map(entrust_row).concat(),
    );
    let out = import_entrust(&sim, before.to_str().unwrap(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));

    let names: Vec<String> = (0..8).map(|i| format!("e{i:02}")).collect();
    let mut jsonl: String = names.iter().map(|n| entrust_row(n)).collect();
    // Entrust's groups are UUIDs: refused before sending.
    jsonl.push_str(
        "{\"username\": \"bad-group\", \"email\": \"b@example.com\", \"groups\": [\"admins\"]}\n",
    );
    let file = sim.write("users.jsonl", &jsonl);
    let out = import_entrust(&sim, file.to_str().unwrap(), &["--output", "json"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "exists, with --existing fail: {}",
        text(&out.stderr)
    );
    let held = entrust_ids(&sim);
    assert_eq!(held.len(), 8);
    let results = read(&sim.path("users.jsonl.results.csv"));
    let rows = fields(&results);
    assert_eq!(rows.len(), 9, "{results}");
    for (row, name) in rows.iter().zip(&names) {
        let existed = ["e01", "e03", "e05"].contains(&name.as_str());
        let outcome = if existed { "exists" } else { "created" };
        assert_eq!(&row[1..4], [name.as_str(), outcome, &held[name]], "{row:?}");
        // Entrust answers a create with 200 (its contract), a duplicate with 409.
        assert_eq!(row[4], if existed { "409" } else { "200" }, "{row:?}");
        if existed {
            assert!(row[5].contains("the existing user's id is"), "{row:?}");
        }
    }
    assert_eq!(rows[8][2], "rejected", "{results}");
    assert!(rows[8][3].is_empty());
}

#[test]
fn create_user_reports_the_existing_user_s_id_on_a_409() {
    let sim = Sim::start("create-409");
    let mut args = vec!["create-user".to_owned()];
    args.extend(sim.target("entrust"));
    args.extend(
        [
            "--username",
            "ada",
            "--email",
            "ada@example.com",
            "--first-name",
            "A",
            "--last-name",
            "L",
            "--output",
            "json",
        ]
        .map(String::from),
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let first = run(with_token(iam(&args)), "");
    assert_eq!(first.status.code(), Some(0), "{}", text(&first.stderr));
    let again = run(with_token(iam(&args)), "");
    assert_eq!(again.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    let id = &entrust_ids(&sim)["ada"];
    assert_eq!(json["error"]["status"], 409, "{json}");
    assert_eq!(json["error"]["existing_id"], id.as_str(), "{json}");
}

#[test]
fn rows_cut_off_mid_request_are_confirmed_with_their_id_on_the_resume() {
    use iam_sandbox::{Action, Fault, Route};
    let sim = Sim::start("results-unknown");
    let names: Vec<String> = (0..6).map(|i| format!("k{i:02}")).collect();
    let jsonl: String = names.iter().map(|n| entrust_row(n)).collect();
    let file = sim.write("users.jsonl", &jsonl);
    let path = file.to_str().unwrap();
    // The first two requests are read and applied, and their connections cut before any answer.
    sim.sandbox.set_fault(
        Route::Entrust,
        Fault::action(Action::DropAfterRead).times(2),
    );
    let out = import_entrust(&sim, path, &["--concurrency", "1"]);
    assert_eq!(out.status.code(), Some(3), "unknown: {}", text(&out.stderr));
    let first = read(&sim.path("users.jsonl.results.csv"));
    let unknown = first.lines().filter(|l| l.contains(",unknown,")).count();
    assert_eq!(unknown, 2, "{first}");

    // The resume re-sends them: 409, looked up, confirmed with the provider's id.
    let out = import_entrust(&sim, path, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let held = entrust_ids(&sim);
    assert_eq!(held.len(), 6);
    let results = read(&sim.path("users.jsonl.results.csv"));
    let mut outcomes = Vec::new();
    for (row, name) in results.lines().skip(1).zip(&names) {
        let fields: Vec<&str> = row.splitn(6, ',').collect();
        assert_eq!(&fields[1..2], [name.as_str()], "{row}");
        assert_eq!(
            fields[3], held[name],
            "every row has the id the simulator holds: {row}"
        );
        outcomes.push(fields[2].to_owned());
    }
    outcomes.sort();
    assert_eq!(
        outcomes,
        [
            "already_done",
            "already_done",
            "already_done",
            "already_done",
            "confirmed_existing",
            "confirmed_existing"
        ],
        "{results}"
    );
    assert_eq!(
        sim.sandbox.users(Provider::Entrust, "default").len(),
        6,
        "nobody twice"
    );
}

/// The scenario: new users, users that exist, a row the provider refuses, and a run
/// killed with SIGKILL mid-import, then resumed: every row of the results file has its outcome
/// and, where the user exists, the id the simulator holds; nobody is created twice.
#[test]
fn a_mixed_import_killed_and_resumed_ends_with_every_id() {
    use iam_sandbox::{Fault, Route};
    let sim = Sim::start("results-killed");
    // Not among the first rows: the refused request is one of those (rows go out in any order).
    let existing = ["m020", "m030", "m150"];
    let before = sim.write("before.jsonl", &existing.map(entrust_row).concat());
    assert_eq!(
        import_entrust(&sim, before.to_str().unwrap(), &[])
            .status
            .code(),
        Some(0)
    );
    let names: Vec<String> = (0..200).map(|i| format!("m{i:03}")).collect();
    let file = sim.write(
        "users.jsonl",
        &names.iter().map(|n| entrust_row(n)).collect::<String>(),
    );
    let path = file.to_str().unwrap().to_owned();
    // The first request is refused (400): its row is `refused`, final for its content.
    sim.sandbox
        .set_fault(Route::Entrust, Fault::status(400).times(1));

    let mut args = vec!["import".to_owned()];
    args.extend(sim.target("entrust"));
    args.extend(["--concurrency".to_owned(), "1".to_owned(), path.clone()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut child = spawn_quiet(&args);
    let journal = sim.path("users.jsonl.journal");
    wait_for_journal(&journal, "the first row was refused", |j| {
        j.contains("\"refused\"")
    });
    // Then slow enough to be killed part-way.
    sim.sandbox.set_fault(Route::Entrust, Fault::latency(5));
    wait_for_journal(&journal, "40 rows were created", |j| {
        created_records(j) >= 40
    });
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    sim.sandbox.clear_faults();

    let out = import_entrust(&sim, &path, &["--output", "json"]);
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // Exists rows (with --existing fail) and the refused one: exit 1.
    assert_eq!(out.status.code(), Some(1), "{summary}");
    let held = entrust_ids(&sim);
    assert_eq!(
        held.len(),
        199,
        "everyone once, but the refused row: {summary}"
    );
    let results = read(&sim.path("users.jsonl.results.csv"));
    let rows = fields(&results);
    assert_eq!(rows.len(), 200, "{results}");
    let mut seen = std::collections::BTreeMap::new();
    for (row, name) in rows.iter().zip(&names) {
        assert_eq!(row[1], name.as_str(), "input order: {row:?}");
        *seen.entry(row[2]).or_insert(0) += 1;
        if row[2] == "refused" {
            assert!(row[3].is_empty(), "{row:?}");
            assert_eq!(row[4], "400", "{row:?}");
        } else {
            assert_eq!(row[3], held[name.as_str()], "the simulator's id: {row:?}");
        }
        if existing.contains(&name.as_str()) {
            assert_eq!(row[2], "exists", "{row:?}");
        }
    }
    assert_eq!(seen.get("refused"), Some(&1), "{seen:?}");
    assert_eq!(seen.get("exists"), Some(&3), "{seen:?}");
    assert_eq!(
        seen.get("exists").copied().unwrap_or(0)
            + seen.get("already_done").copied().unwrap_or(0)
            + seen.get("created").copied().unwrap_or(0)
            + seen.get("confirmed_existing").copied().unwrap_or(0),
        199,
        "{seen:?}"
    );
    assert!(
        seen.get("already_done").copied().unwrap_or(0) >= 40,
        "{seen:?}"
    );
    // m150 comes after the kill: this run met it, 409, looked up.
    let m150 = &rows[150];
    assert_eq!(&m150[2..5], ["exists", &held["m150"], "409"], "{m150:?}");
}
