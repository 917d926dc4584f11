//! `iam import`'s results file: one line per input row, in input order, with the outcome and
//! the id the provider holds for the user; rows done by an earlier run keep their ids; created
//! readable by its owner only, as the journal and the rejects file are.

mod common;

use std::collections::HashMap;

use common::{Sim, iam, read, run, text, with_token};
use iam_sandbox::Provider;

fn import(sim: &Sim, file: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["import".to_owned()];
    args.extend(sim.target("nexway"));
    args.push(file.to_owned());
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run(with_token(iam(&args)), "")
}

/// The simulator's Nexway users: username -> id.
fn ids(sim: &Sim) -> HashMap<String, String> {
    sim.sandbox
        .users(Provider::Nexway, "default")
        .into_iter()
        .map(|u| {
            (
                u["userName"].as_str().unwrap().to_owned(),
                u["id"].as_str().unwrap().to_owned(),
            )
        })
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
fn a_dry_run_writes_the_results_file_too() {
    let sim = Sim::start("results-dry");
    let file = sim.write("users.csv", &csv(&["ok1", "bad-two", "ok3"]));
    let out = import(&sim, file.to_str().unwrap(), &["--dry-run"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let results = read(&sim.path("users.csv.results.csv"));
    let outcomes: Vec<&str> = results
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(2).unwrap())
        .collect();
    assert_eq!(outcomes, ["valid", "rejected", "valid"], "{results}");
}
