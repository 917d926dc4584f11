//! Crash safety of `iam import`: killed at 20 random points over 2,000 rows (once in the middle of
//! a journal write), resumed each time, then every user is in the simulator exactly once. And a
//! full disk stops the import before it sends more.

mod common;

use std::time::{Duration, Instant};

use common::{Sim, created_records, iam, nexway_csv, read, run, text, with_token};
use iam_sandbox::{Fault, Provider, Route};
use serde_json::Value;

const CONCURRENCY: usize = 8;

fn args(sim: &Sim, file: &std::path::Path) -> Vec<String> {
    let mut args = vec!["import".to_owned()];
    args.extend(sim.target("nexway"));
    args.extend([
        "--concurrency".into(),
        CONCURRENCY.to_string(),
        "--output".into(),
        "json".into(),
    ]);
    args.push(file.display().to_string());
    args
}

/// A small deterministic generator (no dependency): the seed is printed, and `IAM_CRASH_SEED`
/// replays a run.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % below
    }
}

fn created_in_journal(path: &std::path::Path) -> usize {
    created_records(&read(path))
}

#[test]
fn killed_at_20_random_points_then_every_user_exactly_once() {
    let seed = std::env::var("IAM_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    eprintln!("crash test seed: {seed} (IAM_CRASH_SEED={seed} replays it)");
    let mut random = Lcg(seed);
    let sim = Sim::start("crash");
    let rows = 2_000;
    let file = sim.write("users.csv", &nexway_csv(rows));
    let journal = sim.path("users.csv.journal");
    // Slow enough that each run is cut part-way.
    sim.sandbox.set_fault(Route::Nexway, Fault::latency(2));
    let args = args(&sim, &file);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();

    // 20 points, ascending: kill once the journal holds at least that many created rows.
    let mut points: Vec<usize> = (0..20)
        .map(|_| random.next(rows as u64 - 100) as usize)
        .collect();
    points.sort_unstable();
    let abort_at = random.next(20) as usize; // this interruption is an abort inside a journal write
    let mut interruptions = 0;
    for (i, point) in points.iter().enumerate() {
        let mut command = with_token(iam(&args));
        if i == abort_at {
            // a batch number some way into this run
            command.env(
                "IAM_TEST_ABORT_IN_JOURNAL_WRITE",
                (5 + random.next(20)).to_string(),
            );
        }
        let errors = sim.path(&format!("run-{i}.stdout"));
        let mut child = command
            .stdout(std::fs::File::create(&errors).unwrap())
            .stderr(std::fs::File::create(sim.path(&format!("run-{i}.log"))).unwrap())
            .spawn()
            .unwrap();
        let started = Instant::now();
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                // the abort hook ended it, or the run finished before the point
                assert!(
                    i == abort_at || status.success(),
                    "run {i}: {status}: {} (seed {seed})",
                    read(&errors)
                );
                break;
            }
            if created_in_journal(&journal) >= *point && i != abort_at {
                std::process::Command::new("kill")
                    .args(["-9", &child.id().to_string()])
                    .status()
                    .unwrap();
                child.wait().unwrap();
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "run {i} made no progress"
            );
            std::thread::sleep(Duration::from_micros(300 + random.next(1_000)));
        }
        interruptions += 1;
        // A crash may tear the last line, never one before it.
        let text = read(&journal);
        let lines: Vec<&str> = text.lines().collect();
        for (n, line) in lines.iter().enumerate().take(lines.len().saturating_sub(1)) {
            assert!(
                serde_json::from_str::<Value>(line).is_ok(),
                "after run {i} (abort run: {}), journal line {} is torn: {line} (seed {seed})",
                i == abort_at,
                n + 1
            );
        }
    }
    assert_eq!(interruptions, 20);
    let journal_text = read(&journal);
    assert!(journal_text.lines().count() > 1);

    sim.sandbox.clear_faults();
    let out = run(with_token(iam(&args)), "");
    assert_eq!(
        out.status.code(),
        Some(0),
        "the last run completes: {}",
        text(&out.stderr)
    );
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    let done = ["created", "confirmed_existing", "already_done"]
        .iter()
        .map(|k| summary[k].as_u64().unwrap())
        .sum::<u64>();
    assert_eq!(done, rows as u64, "{summary}");

    let users = sim.sandbox.users(Provider::Nexway, "default");
    let mut emails: Vec<&str> = users.iter().map(|u| u["email"].as_str().unwrap()).collect();
    emails.sort_unstable();
    emails.dedup();
    assert_eq!(
        (users.len(), emails.len()),
        (rows, rows),
        "every row's user exactly once (seed {seed})"
    );
    // Re-sent requests are bounded: each interruption re-sends at most the rows in its pipeline.
    let requests = sim.sandbox.requests(Route::Nexway) as usize;
    assert!(
        requests <= rows + 21 * 4 * CONCURRENCY,
        "{requests} requests for {rows} rows (seed {seed})"
    );
}

#[test]
fn a_full_disk_stops_the_import_before_it_sends_more() {
    let sim = Sim::start("full");
    let rows = 500;
    let file = sim.write("users.csv", &nexway_csv(rows));
    let args = args(&sim, &file);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut command = with_token(iam(&args));
    command.env("IAM_TEST_JOURNAL_FULL_AT", "10");
    let out = run(command, "");
    // Rows were sent before the disk filled: exit 4 (stopped after sending), not 2.
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    let summary: Value = serde_json::from_slice(&out.stdout).expect("one JSON object on stdout");
    let why = summary["error"]["message"].as_str().unwrap_or_default();
    assert!(
        why.contains("No space left on device") && why.contains("stopped before sending more"),
        "{summary}"
    );
    assert_eq!(
        (&summary["error"]["kind"], &summary["error"]["exit_code"]),
        (&Value::from("stopped"), &Value::from(4)),
        "{summary}"
    );
    assert!(
        text(&out.stderr).contains("error: cannot write the journal"),
        "the line for people goes to stderr: {}",
        text(&out.stderr)
    );
    let sent = sim.sandbox.requests(Route::Nexway) as usize;
    assert!(sent > 0, "the first batches were written, so rows went out");
    assert!(
        sent < rows / 2,
        "{sent} of {rows} rows were sent after the journal failed"
    );
    // Every request that went out has its 'sending' record on disk.
    let journal = read(&sim.path("users.csv.journal"));
    let sending = journal
        .lines()
        .filter(|l| l.contains("\"sending\""))
        .count();
    assert!(
        sending >= sent,
        "{sent} requests but only {sending} 'sending' records"
    );

    // /dev/full as the journal: refused before anything is sent (and not read forever).
    let mut args = args.clone();
    args.extend(["--journal", "/dev/full"]);
    let out = run(with_token(iam(&args)), "");
    assert_eq!(out.status.code(), Some(2));
    let summary_or_error = text(&out.stdout);
    assert!(
        summary_or_error.contains("not a regular file"),
        "{summary_or_error}"
    );
    assert_eq!(sim.sandbox.requests(Route::Nexway) as usize, sent);
}
