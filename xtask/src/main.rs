//! The `cargo xtask` command. See `cargo xtask --help`.

use std::path::PathBuf;
use std::process::ExitCode;

use xtask::codegen::{self, Mode};

const HELP: &str = "\
cargo xtask: project tasks for iam-clients

USAGE:
    cargo xtask generate [--root DIR]   regenerate crates/<provider>/src/generated.rs from openapi/*.yaml,
                                        and copy the specs to crates/iam-sandbox/openapi/
    cargo xtask check [--root DIR]      fail if a committed generated.rs or spec copy differs from openapi/
    cargo xtask bench                   run every benchmark against its baseline; write BENCHMARKS.md
                                        (IAM_BENCH_SECTIONS=6,7,8: only those, printed, not written)

OPTIONS:
    --root DIR   the workspace root (default: this checkout)
    -h, --help   print this help

EXIT CODES:
    0 done   1 a spec is unusable or a generated file is out of date   2 usage error
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("bench") {
        if args.len() > 1 {
            eprintln!("error: `cargo xtask bench` takes no arguments\n\n{HELP}");
            return ExitCode::from(2);
        }
        return match xtask::bench::run_all(&xtask::workspace_root()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: bench: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let (mode, root) = match parse_args(&args) {
        Ok(Some(parsed)) => parsed,
        Ok(None) => {
            print!("{HELP}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("error: {message}\n\n{HELP}");
            return ExitCode::from(2);
        }
    };
    match codegen::run(&root, mode) {
        Ok(written) => {
            match mode {
                Mode::Check => {
                    println!("generated code and spec copies are up to date with openapi/")
                }
                Mode::Write if written.is_empty() => {
                    println!("generated code was already up to date")
                }
                Mode::Write => written.iter().for_each(|f| println!("wrote {f}")),
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn parse_args(args: &[String]) -> Result<Option<(Mode, PathBuf)>, String> {
    let mut mode = None;
    let mut root = xtask::workspace_root();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" | "help" => return Ok(None),
            "generate" if mode.is_none() => mode = Some(Mode::Write),
            "check" if mode.is_none() => mode = Some(Mode::Check),
            "--root" => {
                root = PathBuf::from(args.next().ok_or("--root needs a folder")?);
            }
            other => return Err(format!("unexpected argument `{other}`")),
        }
    }
    mode.map(|m| Some((m, root)))
        .ok_or_else(|| "no task given".to_owned())
}
