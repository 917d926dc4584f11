//! `cargo xtask bench`: every figure of BENCHMARKS.md, each beside its baseline in the same run.
//!
//! 1. per-request overhead: criterion, facade vs raw reqwest, same loopback server;
//! 2. bulk throughput: `iam import` of 20,000 users vs a plain tokio + reqwest loop and wrk,
//!    against iam-sandbox, and the scaling curve at concurrency 1, 8, 32, 128;
//! 3. streaming memory: peak RSS of `iam import` (dry run and real) for 100k and 1M rows;
//! 4. build footprint: a crate depending only on `nexway-iam` vs one on `keycloak`;
//! 5. generation: `cargo xtask generate` and `check` vs the xtask doing nothing.
//! 6. rate limits: `iam import` of 2,000 rows against the simulator limiting at R = 20 and 200
//!    requests/s, at default flags and with `--rate R`, vs R;
//! 7. latency: `iam import` at 20 ms simulated latency, concurrency 32, vs the raw reqwest loop;
//! 8. CPU: CPU-seconds per 10k rows of `iam import` at zero latency vs the raw loop.
//!
//! It installs what it needs that the machine lacks (wrk, GNU time) with apt-get.
//! `IAM_BENCH_SECTIONS=6,7,8` runs only those sections and prints their rows without writing
//! BENCHMARKS.md (which always holds one whole run). `IAM_BENCH_JITTER=1-5` runs section 6 with
//! that arrival jitter (milliseconds, `iam-sandbox --arrival-jitter`) between the import and the
//! simulator's limit, and without its 200 s case.

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

type Result<T> = std::result::Result<T, String>;

struct Row {
    section: &'static str,
    what: String,
    figure: String,
    baseline: String,
    ratio: String,
    target: &'static str,
}

fn cmd(program: &str, args: &[&str]) -> Command {
    let mut c = Command::new(program);
    c.args(args);
    c
}

fn run(mut command: Command) -> Result<String> {
    let shown = format!("{command:?}");
    let out = command
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("{shown}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{shown} failed ({})\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn timed(command: Command) -> Result<(Duration, String)> {
    let started = Instant::now();
    let out = run(command)?;
    Ok((started.elapsed(), out))
}

/// Runs `command` under GNU `time -v`; its report is on the output's stderr.
fn gnu_time(command: &Command) -> Result<std::process::Output> {
    let mut timed = Command::new("/usr/bin/time");
    timed
        .arg("-v")
        .arg(command.get_program())
        .args(command.get_args());
    for (k, v) in command.get_envs() {
        if let Some(v) = v {
            timed.env(k, v);
        }
    }
    timed.output().map_err(|e| format!("/usr/bin/time: {e}"))
}

/// The value of the line `name` in a `time -v` report.
fn time_field<T: std::str::FromStr>(report: &str, name: &str, command: &Command) -> Result<T> {
    report
        .lines()
        .find_map(|l| l.trim().strip_prefix(name))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| format!("no `{name}` from {command:?}:\n{report}"))
}

/// Runs `command` under GNU time; returns (stdout, peak RSS in KiB).
fn peak_rss(command: &Command) -> Result<(String, u64)> {
    let out = gnu_time(command)?;
    let report = String::from_utf8_lossy(&out.stderr);
    let rss = time_field(&report, "Maximum resident set size (kbytes):", command)?;
    Ok((String::from_utf8_lossy(&out.stdout).into_owned(), rss))
}

fn ensure_tools() -> Result<()> {
    let missing: Vec<&str> = [("wrk", "/usr/bin/wrk"), ("time", "/usr/bin/time")]
        .into_iter()
        .filter(|(_, path)| !Path::new(path).exists())
        .map(|(package, _)| package)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    eprintln!("bench: installing {missing:?} with apt-get");
    run(cmd("apt-get", &["update", "-qq"]))?;
    let mut install = cmd("apt-get", &["install", "-y", "-qq"]);
    install.args(&missing);
    run(install).map(drop)
}

fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(listener.local_addr().map_err(|e| e.to_string())?.port())
}

/// An iam-sandbox process of its own (a fresh store per measurement).
struct Sandbox {
    child: Child,
    url: String,
}

impl Sandbox {
    fn start(root: &Path) -> Result<Self> {
        Self::start_with(root, &[])
    }

    fn start_with(root: &Path, extra: &[&str]) -> Result<Self> {
        let port = free_port()?;
        let child = Command::new(root.join("target/release/iam-sandbox"))
            .args(["--port", &port.to_string()])
            .args(extra)
            .env("IAM_SANDBOX_TOKEN", "bench-token")
            .stdout(Stdio::null())
            .spawn()
            .map_err(|e| format!("iam-sandbox: {e}"))?;
        let url = format!("http://127.0.0.1:{port}");
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Ok(Self { child, url });
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Err("iam-sandbox did not start".to_owned())
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `POST /_sandbox/faults` with `body` (HTTP/1.1 by hand: the xtask has no HTTP client).
fn set_fault(url: &str, body: &str) -> Result<()> {
    use std::io::{Read, Write};
    let addr = url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).map_err(|e| format!("{addr}: {e}"))?;
    write!(
        stream,
        "POST /_sandbox/faults HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer bench-token\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .map_err(|e| e.to_string())?;
    let mut answer = String::new();
    stream
        .read_to_string(&mut answer)
        .map_err(|e| e.to_string())?;
    if !answer.starts_with("HTTP/1.1 204") {
        return Err(format!("setting a fault ({body}): {answer}"));
    }
    Ok(())
}

/// Runs `command` under GNU time; returns (stdout, user + system CPU seconds).
fn cpu_seconds(command: &Command) -> Result<(String, f64)> {
    let out = gnu_time(command)?;
    if !out.status.success() {
        return Err(format!(
            "{command:?} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let report = String::from_utf8_lossy(&out.stderr);
    let cpu = time_field::<f64>(&report, "User time (seconds):", command)?
        + time_field::<f64>(&report, "System time (seconds):", command)?;
    Ok((String::from_utf8_lossy(&out.stdout).into_owned(), cpu))
}

fn raw_loop(root: &Path, url: &str, file: &Path, concurrency: usize) -> Command {
    let mut raw = Command::new(root.join("target/release/examples/raw_loop"));
    raw.args([url, "bench-token"])
        .arg(file)
        .arg(concurrency.to_string());
    raw
}

/// Sections 6 to 8: rate limits, latency, CPU.
fn limits_latency_cpu(root: &Path, work: &Path, want: &dyn Fn(u32) -> bool) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    let fresh = |name: &str, n: usize| -> Result<std::path::PathBuf> {
        let csv = work.join(format!("{name}.csv"));
        write_csv(&csv, n, &format!("{name}u"))?;
        let _ = std::fs::remove_file(work.join(format!("{name}.csv.journal")));
        let _ = std::fs::remove_file(work.join(format!("{name}.csv.rejects")));
        Ok(csv)
    };

    if want(6) {
        // A network's jitter between the import and the gateway, when asked for.
        let jitter = std::env::var("IAM_BENCH_JITTER")
            .ok()
            .filter(|j| !j.is_empty());
        eprintln!(
            "bench: 6/8 rate limits (5 gateway shapes at R = 5, 20, 100 requests/s, default flags; --rate on the strict bucket){}",
            jitter
                .as_deref()
                .map(|j| format!(", {j} ms arrival jitter"))
                .unwrap_or_default()
        );
        for LimitCase {
            limit,
            shape,
            flags,
            fixed,
            seconds,
        } in rate_limit_cases()
        {
            if jitter.is_some() && seconds > 40 {
                continue;
            }
            // `seconds` at the limit (a 429 honoured costs a second of the run, so a run must be
            // long enough for the limit's discovery not to be most of it), 300 rows at least.
            let n = (seconds * limit as usize).max(300);
            let name = format!("limit-{limit}-{n}-{}", rows_name(shape, fixed));
            let csv = fresh(&name, n)?;
            let mut args = vec!["--rate-limit".to_owned(), limit.to_string()];
            args.extend(flags.iter().map(|f| f.replace("{R}", &limit.to_string())));
            if let Some(jitter) = &jitter {
                args.extend(["--arrival-jitter".to_owned(), jitter.clone()]);
            }
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let sandbox = Sandbox::start_with(root, &args)?;
            let mut import = iam_import(root, &sandbox.url, &csv, 8, false);
            if fixed {
                import.args(["--rate", &limit.to_string()]);
            }
            let out = run(import)?;
            drop(sandbox);
            let created = json_field(&out, "created")?;
            let failed = json_field(&out, "failed")? + json_field(&out, "unknown")?;
            if created as usize != n || failed > 0.0 {
                return Err(format!(
                    "iam import at R = {limit} ({shape}) created {created} of {n}: {out}"
                ));
            }
            let rate = json_field(&out, "rows_per_second")?;
            let limited = json_field(&out, "rate_limited")?;
            let requests = n as f64 + limited;
            let how = if fixed {
                format!("`--rate {limit}`")
            } else {
                "default flags".to_owned()
            };
            rows.push(Row {
                section: "6. rate limits",
                what: format!(
                    "`iam import` {n} rows, {how}, {shape} at {limit}/s{}",
                    jitter
                        .as_deref()
                        .map(|j| format!(", {j} ms arrival jitter"))
                        .unwrap_or_default()
                ),
                figure: format!(
                    "{rate:.1} rows/s; {limited:.0} of {requests:.0} requests 429 ({:.1}%)",
                    100.0 * limited / requests
                ),
                baseline: format!("the limit: {limit} req/s"),
                ratio: ratio(rate, f64::from(limit)),
                target: if fixed {
                    "≥ 0.95x, < 1% 429"
                } else {
                    "≥ 0.90x, < 5% 429"
                },
            });
        }
    }

    if want(7) {
        eprintln!("bench: 7/8 latency (20 ms, concurrency 32)");
        let n = 10_000;
        let latency = r#"{"route": "nexway", "latency_ms": 20}"#;
        let csv = fresh("latency-import", n)?;
        let sandbox = Sandbox::start(root)?;
        set_fault(&sandbox.url, latency)?;
        let out = run(iam_import(root, &sandbox.url, &csv, 32, false))?;
        drop(sandbox);
        if json_field(&out, "created")? as usize != n {
            return Err(format!("iam import at 20 ms: {out}"));
        }
        let import_rate = json_field(&out, "rows_per_second")?;
        let csv = fresh("latency-raw", n)?;
        let sandbox = Sandbox::start(root)?;
        set_fault(&sandbox.url, latency)?;
        let raw_rate: f64 = run(raw_loop(root, &sandbox.url, &csv, 32))?
            .trim()
            .parse()
            .map_err(|e| format!("raw_loop: {e}"))?;
        drop(sandbox);
        rows.push(Row {
            section: "7. latency",
            what: "`iam import` 10,000 users, 20 ms simulated latency, concurrency 32".into(),
            figure: format!("{import_rate:.0} rows/s"),
            baseline: format!("tokio + reqwest loop: {raw_rate:.0} rows/s"),
            ratio: ratio(import_rate, raw_rate),
            target: "≥ 0.98x",
        });
    }

    if want(8) {
        eprintln!("bench: 8/8 CPU (zero latency, 20,000 rows, concurrency 32)");
        let n = 20_000;
        let per_10k = |cpu: f64| cpu * 10_000.0 / n as f64;
        let csv = fresh("cpu-import", n)?;
        let sandbox = Sandbox::start(root)?;
        let (out, import_cpu) = cpu_seconds(&iam_import(root, &sandbox.url, &csv, 32, false))?;
        drop(sandbox);
        if json_field(&out, "created")? as usize != n {
            return Err(format!("iam import for CPU: {out}"));
        }
        let csv = fresh("cpu-raw", n)?;
        let sandbox = Sandbox::start(root)?;
        let (_, raw_cpu) = cpu_seconds(&raw_loop(root, &sandbox.url, &csv, 32))?;
        drop(sandbox);
        rows.push(Row {
            section: "8. CPU",
            what: "CPU-seconds (user + system) of `iam import` per 10k rows, zero latency, concurrency 32".into(),
            figure: format!("{:.3} CPU-s", per_10k(import_cpu)),
            baseline: format!("tokio + reqwest loop: {:.3} CPU-s", per_10k(raw_cpu)),
            ratio: ratio(import_cpu, raw_cpu),
            target: "≤ 1.5x",
        });
    }
    Ok(rows)
}

/// One case of section 6.
struct LimitCase {
    /// R, requests per second.
    limit: u32,
    /// The gateway's shape, as the table names it.
    shape: &'static str,
    /// The simulator's flags beside `--rate-limit R` (`{R}` is R).
    flags: &'static [&'static str],
    /// Whether the import runs with `--rate R`.
    fixed: bool,
    /// How long the import lasts at R (rows: R times this, 300 at least).
    seconds: usize,
}

/// Section 6's cases: every shape at every R with default flags for 40 s, `--rate R` on the
/// strict bucket, and the hardest case (a burst of 1 at 100/s) again for 200 s, nearer a
/// migration's length (50,000 rows at 100/s: 500 s), where discovering the limit is a smaller
/// part of the run.
fn rate_limit_cases() -> Vec<LimitCase> {
    let shapes: [(&str, &[&str]); 5] = [
        ("token bucket, burst R", &["--burst", "{R}"]),
        ("token bucket, burst 2", &["--burst", "2"]),
        ("token bucket, burst 1", &["--burst", "1"]),
        (
            "token bucket, burst 2, 429 without Retry-After",
            &["--burst", "2", "--no-retry-after"],
        ),
        (
            "fixed 10 s windows, Retry-After the rest of the window",
            &["--window", "10"],
        ),
    ];
    let case = |limit, (shape, flags): (&'static str, &'static [&'static str]), fixed, seconds| {
        LimitCase {
            limit,
            shape,
            flags,
            fixed,
            seconds,
        }
    };
    let mut cases = Vec::new();
    for limit in [5, 20, 100] {
        for shape in shapes {
            cases.push(case(limit, shape, false, 40));
        }
    }
    for limit in [20, 100] {
        cases.push(case(limit, shapes[1], true, 40));
    }
    cases.push(case(100, shapes[2], false, 200));
    cases
}

/// A file name for a case.
fn rows_name(shape: &str, fixed: bool) -> String {
    let mut name: String = shape
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    name.push_str(if fixed { "-rate" } else { "-adaptive" });
    name
}

fn write_csv(path: &Path, rows: usize, prefix: &str) -> Result<()> {
    use std::io::Write;
    let file = std::fs::File::create(path).map_err(|e| e.to_string())?;
    let mut w = std::io::BufWriter::new(file);
    let header = "username,email,first_name,last_name,password,enabled,roles\n";
    w.write_all(header.as_bytes()).map_err(|e| e.to_string())?;
    for i in 0..rows {
        writeln!(
            w,
            "{prefix}{i},{prefix}{i}@bench.example,First{i},Last{i},pw-{i:07},true,member"
        )
        .map_err(|e| e.to_string())?;
    }
    w.flush().map_err(|e| e.to_string())
}

fn iam_import(root: &Path, url: &str, file: &Path, concurrency: usize, dry_run: bool) -> Command {
    let mut c = Command::new(root.join("target/release/iam"));
    c.args([
        "import",
        "--provider",
        "nexway",
        "--base-url",
        url,
        "--output",
        "json",
        "--concurrency",
    ])
    .arg(concurrency.to_string())
    .arg(file)
    .env("IAM_TOKEN", "bench-token");
    if dry_run {
        c.arg("--dry-run");
    }
    c
}

fn json_field(text: &str, field: &str) -> Result<f64> {
    let value: serde_json::Value =
        serde_json::from_str(text.trim()).map_err(|e| format!("{e}: {text}"))?;
    value[field]
        .as_f64()
        .ok_or_else(|| format!("no `{field}` in {text}"))
}

fn criterion_mean_ns(root: &Path, id: &str) -> Result<f64> {
    let path = root.join(format!("target/criterion/overhead/{id}/new/estimates.json"));
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    value["mean"]["point_estimate"]
        .as_f64()
        .ok_or_else(|| format!("no mean in {}", path.display()))
}

fn ratio(a: f64, b: f64) -> String {
    format!("{:.2}x", a / b)
}

/// Runs every benchmark under the workspace `root` and writes `BENCHMARKS.md` there.
pub fn run_all(root: &Path) -> Result<()> {
    let total = Instant::now();
    ensure_tools()?;
    let work = root.join("target/bench");
    std::fs::create_dir_all(&work).map_err(|e| e.to_string())?;
    let mut rows = Vec::new();
    let only: Option<Vec<u32>> = std::env::var("IAM_BENCH_SECTIONS")
        .ok()
        .map(|v| v.split(',').filter_map(|n| n.trim().parse().ok()).collect());
    let want = |n: u32| only.as_ref().is_none_or(|o| o.contains(&n));

    eprintln!("bench: building release binaries");
    let mut build = cmd(
        "cargo",
        &[
            "build",
            "--quiet",
            "--release",
            "-p",
            "iam-cli",
            "--bin",
            "iam",
            "--example",
            "raw_loop",
        ],
    );
    build.current_dir(root);
    run(build)?;
    let mut build = cmd(
        "cargo",
        &[
            "build",
            "--quiet",
            "--release",
            "-p",
            "iam-sandbox",
            "--bin",
            "iam-sandbox",
        ],
    );
    build.current_dir(root);
    run(build)?;

    if only.is_some() {
        rows.extend(limits_latency_cpu(root, &work, &want)?);
        print!("{}", render(&rows, total.elapsed()));
        eprintln!("bench: IAM_BENCH_SECTIONS is set: BENCHMARKS.md not written");
        return Ok(());
    }

    // 1. Per-request overhead.
    eprintln!("bench: 1/5 per-request overhead (criterion)");
    let mut bench = cmd(
        "cargo",
        &[
            "bench",
            "--quiet",
            "-p",
            "iam-clients",
            "--bench",
            "overhead",
            "--",
            "--noplot",
        ],
    );
    bench.current_dir(root).stdout(Stdio::null());
    run(bench)?;
    let facade = criterion_mean_ns(root, "facade")?;
    let raw = criterion_mean_ns(root, "raw_reqwest")?;
    rows.push(Row {
        section: "1. per-request overhead",
        what: "`create_user` via the facade (mean per request)".into(),
        figure: format!("{:.1} µs", facade / 1000.0),
        baseline: format!("raw reqwest POST, same bytes: {:.1} µs", raw / 1000.0),
        ratio: ratio(facade, raw),
        target: "≤ 1.10x",
    });

    // 2. Bulk throughput and scaling.
    eprintln!("bench: 2/5 bulk throughput");
    let n = 20_000;
    for concurrency in [1usize, 8, 32, 128] {
        let csv_import = work.join(format!("import-{concurrency}.csv"));
        let csv_raw = work.join(format!("raw-{concurrency}.csv"));
        write_csv(&csv_import, n, &format!("i{concurrency}u"))?;
        write_csv(&csv_raw, n, &format!("r{concurrency}u"))?;
        let _ = std::fs::remove_file(work.join(format!("import-{concurrency}.csv.journal")));
        let sandbox = Sandbox::start(root)?;
        let out = run(iam_import(
            root,
            &sandbox.url,
            &csv_import,
            concurrency,
            false,
        ))?;
        let created = json_field(&out, "created")?;
        if created as usize != n {
            return Err(format!("iam import created {created} of {n}"));
        }
        let import_rate = json_field(&out, "rows_per_second")?;
        drop(sandbox);
        let sandbox = Sandbox::start(root)?;
        let mut raw = Command::new(root.join("target/release/examples/raw_loop"));
        raw.args([sandbox.url.as_str(), "bench-token"])
            .arg(&csv_raw)
            .arg(concurrency.to_string());
        let raw_rate: f64 = run(raw)?
            .trim()
            .parse()
            .map_err(|e| format!("raw_loop: {e}"))?;
        drop(sandbox);
        rows.push(Row {
            section: "2. bulk throughput",
            what: format!("`iam import` 20,000 users, concurrency {concurrency}"),
            figure: format!("{import_rate:.0} rows/s"),
            baseline: format!("tokio + reqwest loop: {raw_rate:.0} rows/s"),
            ratio: ratio(import_rate, raw_rate),
            target: if concurrency == 32 {
                "≥ 0.95x"
            } else {
                "(curve)"
            },
        });
        if concurrency == 32 {
            let sandbox = Sandbox::start(root)?;
            let mut wrk = cmd("wrk", &["-t1", "-c32", "-d10s", "-s"]);
            wrk.arg(root.join("scripts/wrk-unique-users.lua"))
                .arg(&sandbox.url);
            let out = run(wrk)?;
            let wrk_rate: f64 = out
                .lines()
                .find_map(|l| l.trim().strip_prefix("Requests/sec:"))
                .and_then(|v| v.trim().parse().ok())
                .ok_or_else(|| format!("no rate from wrk:\n{out}"))?;
            rows.push(Row {
                section: "2. bulk throughput",
                what: "`iam import` 20,000 users, concurrency 32".into(),
                figure: format!("{import_rate:.0} rows/s"),
                baseline: format!("wrk, 32 connections, same endpoint: {wrk_rate:.0} req/s"),
                ratio: ratio(import_rate, wrk_rate),
                target: "≥ 0.5x",
            });
        }
    }

    // 3. Streaming memory.
    eprintln!("bench: 3/5 streaming memory (100k and 1M rows)");
    let mut rss = Vec::new();
    for (label, count) in [("100k", 100_000usize), ("1M", 1_000_000)] {
        let csv = work.join(format!("memory-{label}.csv"));
        write_csv(&csv, count, &format!("m{label}u"))?;
        let (out, dry) = peak_rss(&iam_import(root, "http://127.0.0.1:9", &csv, 32, true))?;
        if json_field(&out, "valid")? as usize != count {
            return Err(format!("dry run of {label}: {out}"));
        }
        let _ = std::fs::remove_file(work.join(format!("memory-{label}.csv.journal")));
        let sandbox = Sandbox::start(root)?;
        let (out, real) = peak_rss(&iam_import(root, &sandbox.url, &csv, 32, false))?;
        drop(sandbox);
        if json_field(&out, "created")? as usize != count {
            return Err(format!("import of {label}: {out}"));
        }
        rss.push((label, dry, real));
    }
    let mib = |kib: u64| format!("{:.1} MiB", kib as f64 / 1024.0);
    for (i, kind) in ["dry run", "real import"].into_iter().enumerate() {
        let pick = |r: &(&str, u64, u64)| if i == 0 { r.1 } else { r.2 };
        let (small, large) = (pick(&rss[0]), pick(&rss[1]));
        rows.push(Row {
            section: "3. streaming memory",
            what: format!("peak RSS, `iam import` {kind}, 1M rows"),
            figure: mib(large),
            baseline: format!("the same, 100k rows: {}", mib(small)),
            ratio: ratio(large as f64, small as f64),
            target: "≤ 64 MiB, ≤ 1.10x",
        });
    }

    // 4. Build footprint.
    eprintln!("bench: 4/5 build footprint (clean debug builds)");
    let footprint = |name: &str, deps: &str| -> Result<(usize, Duration)> {
        let dir = work.join(format!("footprint-{name}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("src")).map_err(|e| e.to_string())?;
        let manifest = format!(
            "[package]\nname = \"footprint-{name}\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n[dependencies]\n{deps}\n[workspace]\n"
        );
        std::fs::write(dir.join("Cargo.toml"), manifest).map_err(|e| e.to_string())?;
        std::fs::write(dir.join("src/main.rs"), "fn main() {}\n").map_err(|e| e.to_string())?;
        let mut tree = cmd(
            "cargo",
            &["tree", "--quiet", "-e", "normal", "--prefix", "none"],
        );
        tree.current_dir(&dir);
        let out = run(tree)?;
        let mut crates: Vec<&str> = out
            .lines()
            .map(|l| l.trim_end_matches(" (*)"))
            .filter(|l| !l.is_empty())
            .collect();
        crates.sort_unstable();
        crates.dedup();
        let mut fetch = cmd("cargo", &["fetch", "--quiet"]);
        fetch.current_dir(&dir);
        run(fetch)?;
        let mut build = cmd("cargo", &["build", "--quiet", "--offline"]);
        build
            .current_dir(&dir)
            .env("CARGO_TARGET_DIR", dir.join("target"));
        let (time, _) = timed(build)?;
        Ok((crates.len(), time))
    };
    let nexway_path = root.join("crates/nexway-iam");
    let (ours_crates, ours_time) = footprint(
        "nexway",
        &format!("nexway-iam = {{ path = {:?} }}\n", nexway_path),
    )?;
    let (kc_crates, kc_time) = footprint(
        "keycloak",
        "keycloak = { version = \"26.8\", default-features = false, features = [\"tag-users\", \"reqwest\"] }\nreqwest = { version = \"0.13\", default-features = false, features = [\"rustls\"] }\n",
    )?;
    rows.push(Row {
        section: "4. build footprint",
        what: "crates pulled by a crate depending on `nexway-iam` (`cargo tree -e normal`)".into(),
        figure: ours_crates.to_string(),
        baseline: format!("`keycloak` (tag-users, reqwest, rustls): {kc_crates}"),
        ratio: ratio(ours_crates as f64, kc_crates as f64),
        target: "≤ 0.8x",
    });
    rows.push(Row {
        section: "4. build footprint",
        what: "clean debug build of that crate".into(),
        figure: format!("{:.1} s", ours_time.as_secs_f64()),
        baseline: format!("`keycloak`: {:.1} s", kc_time.as_secs_f64()),
        ratio: ratio(ours_time.as_secs_f64(), kc_time.as_secs_f64()),
        target: "≤ 0.8x",
    });

    // 5. Generation.
    eprintln!("bench: 5/5 generation");
    let xtask = root.join("target/debug/xtask");
    let median = |args: &[&str]| -> Result<Duration> {
        let mut times = Vec::new();
        for _ in 0..5 {
            let mut c = Command::new(&xtask);
            c.args(args).current_dir(root).stdout(Stdio::null());
            times.push(timed(c)?.0);
        }
        times.sort();
        Ok(times[2])
    };
    let noop = median(&["--help"])?;
    for task in ["generate", "check"] {
        let t = median(&[task])?;
        rows.push(Row {
            section: "5. generation",
            what: format!("`cargo xtask {task}` (built; median of 5)"),
            figure: format!("{:.0} ms", t.as_secs_f64() * 1000.0),
            baseline: format!("`xtask --help`: {:.0} ms", noop.as_secs_f64() * 1000.0),
            ratio: ratio(t.as_secs_f64(), noop.as_secs_f64()),
            target: "(figure)",
        });
    }

    rows.extend(limits_latency_cpu(root, &work, &want)?);

    let report = render(&rows, total.elapsed());
    print!("{report}");
    std::fs::write(root.join("BENCHMARKS.md"), report)
        .map_err(|e| format!("BENCHMARKS.md: {e}"))?;
    eprintln!(
        "bench: wrote BENCHMARKS.md in {:.0} s",
        total.elapsed().as_secs_f64()
    );
    Ok(())
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines().find_map(|l| {
                l.strip_prefix("model name")
                    .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
            })
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| {
            t.lines().next().map(|l| {
                l.split_whitespace()
                    .nth(1)
                    .unwrap_or("0")
                    .parse::<u64>()
                    .unwrap_or(0)
            })
        })
        .map(|kib| format!("{:.0} GiB", kib as f64 / 1024.0 / 1024.0))
        .unwrap_or_default();
    let rustc = run(cmd("rustc", &["--version"])).unwrap_or_default();
    format!("{cpu}, {cores} cores, {mem}; {}", rustc.trim())
}

fn today() -> String {
    run(cmd("date", &["-u", "+%Y-%m-%d %H:%M UTC"]))
        .unwrap_or_default()
        .trim()
        .to_owned()
}

fn render(rows: &[Row], took: Duration) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Benchmarks\n");
    let _ = writeln!(
        out,
        "Written by `cargo xtask bench` ({:.0} s for this run). Every figure stands beside its baseline,",
        took.as_secs_f64()
    );
    let _ = writeln!(
        out,
        "measured in the same run on the same machine; the ratio is figure / baseline.\n"
    );
    let _ = writeln!(out, "- date: {}", today());
    let _ = writeln!(out, "- machine: {}", machine());
    let _ = writeln!(
        out,
        "- server: `iam-sandbox` (release) on 127.0.0.1, sharing the cores with the client\n"
    );
    let _ = writeln!(
        out,
        "| section | measured | figure | baseline | ratio | target |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|");
    for r in rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            r.section, r.what, r.figure, r.baseline, r.ratio, r.target
        );
    }
    let _ = writeln!(out, "\n## How each figure is measured\n");
    let _ = writeln!(
        out,
        "1. `crates/iam-clients/benches/overhead.rs` (criterion): `NexwayClient::create_user` against a raw `reqwest` POST of the"
    );
    let _ = writeln!(
        out,
        "   identical bytes, both to one in-process axum server on 127.0.0.1 answering a constant 201."
    );
    let _ = writeln!(
        out,
        "2. `iam import --concurrency N` of a 20,000-row CSV into a fresh `iam-sandbox`, journal synced per row (batched);"
    );
    let _ = writeln!(
        out,
        "   the baseline `crates/iam-cli/examples/raw_loop.rs` posts the same bodies with the same concurrency, no"
    );
    let _ = writeln!(
        out,
        "   journal; wrk posts a unique user per request (`scripts/wrk-unique-users.lua`) for 10 s."
    );
    let _ = writeln!(
        out,
        "3. `/usr/bin/time -v` peak RSS of `iam import --dry-run` and of a real import into a fresh sandbox."
    );
    let _ = writeln!(
        out,
        "4. Throwaway crates under `target/bench/`: `cargo tree -e normal` (unique crates, the crate itself included)"
    );
    let _ = writeln!(
        out,
        "   and `cargo build` from clean (registry already downloaded), one after the other."
    );
    let _ = writeln!(
        out,
        "5. The built xtask, median of 5 runs, against `xtask --help` (process start-up)."
    );
    for line in [
        "6. `iam-sandbox --rate-limit R` in five gateway shapes (`--burst R`, `--burst 2`, `--burst 1`: a token bucket,",
        "   429 with `Retry-After` in whole seconds, at least 1; `--burst 2 --no-retry-after`; `--window 10`: fixed",
        "   10 s windows, `Retry-After` the rest of the window) at R = 5, 20, 100; `iam import` of 40 s at R (300 rows",
        "   at least) with default flags (concurrency 8, adaptive pacing), and with `--rate R` on the strict bucket;",
        "   the burst-1 bucket at 100/s again for 200 s (20,000 rows), where the limit's discovery is a smaller part;",
        "   rows/s over the whole run against R, and the 429 answers among all requests (each 429 is sent again).",
    ] {
        let _ = writeln!(out, "{line}");
    }
    let _ = writeln!(
        out,
        "7. A 20 ms latency fault on the route, `iam import --concurrency 32` of 10,000 rows against the raw loop."
    );
    let _ = writeln!(
        out,
        "8. `/usr/bin/time -v` user + system CPU of the whole `iam import` process (20,000 rows, concurrency 32, journal"
    );
    let _ = writeln!(
        out,
        "   synced as always) against the raw loop's process (same CSV, bodies prepared before sending), per 10k rows."
    );
    out
}
