//! A simulator on a runtime of its own, and the real `iam` binary.

#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use iam_sandbox::{Config, OAuthClient, RunningSandbox, Sandbox, ServeOptions};

pub const TOKEN: &str = "tok-SECRET-cli";
pub const CLIENT_SECRET: &str = "cs-SECRET-cli";

pub struct Sim {
    pub sandbox: Sandbox,
    pub running: RunningSandbox,
    pub dir: PathBuf,
    _runtime: tokio::runtime::Runtime,
}

impl Sim {
    pub fn start(name: &str) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let sandbox = Sandbox::new(Config {
            token: Some(TOKEN.into()),
            oauth: OAuthClient {
                client_id: "cli".into(),
                client_secret: CLIENT_SECRET.into(),
                ..OAuthClient::default()
            },
            ..Config::default()
        })
        .unwrap();
        let running = runtime
            .block_on(sandbox.start(ServeOptions::default()))
            .unwrap();
        let dir = std::env::temp_dir().join(format!("iam-cli-test-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self {
            sandbox,
            running,
            dir,
            _runtime: runtime,
        }
    }

    pub fn url(&self) -> String {
        self.running.url().to_owned()
    }

    pub fn port(&self) -> u16 {
        self.running.addr().port()
    }

    /// `--provider P --base-url ...` (and `--resolve`/`--tenant` where the provider needs them).
    pub fn target(&self, provider: &str) -> Vec<String> {
        let port = self.port();
        let mut args = vec!["--provider".to_owned(), provider.to_owned()];
        match provider {
            "mid-ssms" => args.extend([
                "--base-url".into(),
                format!("http://acme.sandbox.localhost:{port}"),
                "--resolve".into(),
                format!("acme.sandbox.localhost:{port}:127.0.0.1"),
            ]),
            "mid-shift" => args.extend([
                "--base-url".into(),
                self.url(),
                "--tenant".into(),
                "acme".into(),
            ]),
            _ => args.extend(["--base-url".into(), self.url()]),
        }
        args
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, text).unwrap();
        path
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        // IAM_KEEP_TEST_DIRS=1 keeps the files of a failed test for a look.
        if std::env::var_os("IAM_KEEP_TEST_DIRS").is_none() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// The `iam` binary under test: this build's, or the one `IAM_TEST_BIN` names (to show that a
/// test fails on an earlier build: `IAM_TEST_BIN=/path/to/old/iam cargo test --test import`).
pub fn binary() -> std::ffi::OsString {
    std::env::var_os("IAM_TEST_BIN").unwrap_or_else(|| env!("CARGO_BIN_EXE_iam").into())
}

/// The `iam` command with a clean environment of its own (no IAM_* from the caller).
pub fn iam(args: &[&str]) -> Command {
    let mut command = Command::new(binary());
    command.args(args);
    for var in [
        "IAM_TOKEN",
        "IAM_CLIENT_ID",
        "IAM_CLIENT_SECRET",
        "IAM_ENTRUST_APPLICATION_ID",
        "IAM_ENTRUST_SHARED_SECRET",
        "IAM_NEXWAY_REALM",
        "IAM_NEXWAY_CLIENT_SECRET",
        "RUST_LOG",
    ] {
        command.env_remove(var);
    }
    command
}

pub fn with_token(mut command: Command) -> Command {
    command.env("IAM_TOKEN", TOKEN);
    command
}

/// Starts `iam` with the token and its output thrown away: a run to kill part-way.
pub fn spawn_quiet(args: &[&str]) -> Child {
    with_token(iam(args))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Runs it with `stdin` as its standard input.
pub fn run(mut command: Command, stdin: &str) -> Output {
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child: Child = command.spawn().unwrap();
    // A command that refuses its arguments exits without reading stdin; the pipe is then
    // closed under us, which is that command's answer, not this helper's failure.
    match child.stdin.take().unwrap().write_all(stdin.as_bytes()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        other => other.unwrap(),
    }
    child.wait_with_output().unwrap()
}

/// Waits until the journal at `path` satisfies `done`, polling every millisecond; fails the test
/// after 30 s, saying `what` did not happen.
pub fn wait_for_journal(path: &Path, what: &str, done: impl Fn(&str) -> bool) {
    let started = std::time::Instant::now();
    while !done(&read(path)) {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "{what} within 30 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}

/// How many rows the journal text records as created.
pub fn created_records(journal: &str) -> usize {
    journal.matches("\"state\":\"created\"").count()
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// A Nexway CSV of `n` valid users.
pub fn nexway_csv(n: usize) -> String {
    let mut csv = String::from("username,email,first_name,last_name,password,enabled,roles\n");
    for i in 0..n {
        csv.push_str(&format!(
            "user{i},user{i}@example.com,First{i},Last{i},pw-SECRET-{i:05},true,member\n"
        ));
    }
    csv
}
