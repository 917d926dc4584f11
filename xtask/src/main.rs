//! The `cargo xtask` command. See `cargo xtask --help`.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use xtask::codegen::{self, Mode};

const HELP: &str = "\
cargo xtask: project tasks for iam-clients

USAGE:
    cargo xtask generate [--root DIR]   regenerate crates/<provider>/src/generated.rs from openapi/*.yaml,
                                        copy the specs to crates/iam-sandbox/openapi/,
                                        and the table of recorded differences into openapi/README.md
    cargo xtask check [--root DIR]      fail if a committed generated.rs, spec copy or that table differs
                                        from openapi/
    cargo xtask contract-diff PROVIDER DOCUMENT [--root DIR] [--all]
                                        compare PROVIDER's spec (entrust | entrust-idaas, mid | mid-provider,
                                        nexway | nexway-iam) with the vendor's published OpenAPI 3.0 DOCUMENT
                                        (JSON or YAML; `-` reads it from stdin), for the operations the spec
                                        has: schemas, statuses, media types and security, each difference
                                        named by its JSON pointer in both documents. A deliberate difference
                                        is recorded on the spec's node named `ours`:
                                            x-contract: {differs: [KEY, ...], why: \"...\"}
                                        --all also lists the recorded ones
    cargo xtask bench                   run every benchmark against its baseline; write BENCHMARKS.md
                                        (IAM_BENCH_SECTIONS=6,7,8: only those, printed, not written)

OPTIONS:
    --root DIR   the workspace root (default: this checkout)
    -h, --help   print this help

EXIT CODES:
    generate, check: 0 done   1 a spec is unusable or a generated file is out of date   2 usage error
    contract-diff:   0 every difference is gone or recorded (stale records are notes)
                     1 a difference is not recorded
                     2 unusable input: usage, unknown provider, unreadable or non-OpenAPI-3.0 document
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
    if args.first().map(String::as_str) == Some("contract-diff") {
        return contract_diff(&args[1..]);
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
                    println!(
                        "generated code, spec copies and openapi/README.md's table are up to date with openapi/"
                    )
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

/// `contract-diff PROVIDER DOCUMENT [--root DIR] [--all]`: reads the two documents and prints
/// [`xtask::contract::diff`]'s report.
fn contract_diff(args: &[String]) -> ExitCode {
    let usage = |message: String| {
        eprintln!("error: contract-diff: {message}\n\n{HELP}");
        ExitCode::from(2)
    };
    let unusable = |message: String| {
        eprintln!("error: contract-diff: {message}");
        ExitCode::from(2)
    };
    let mut root = xtask::workspace_root();
    let mut all = false;
    let mut positional = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => {
                print!("{HELP}");
                return ExitCode::SUCCESS;
            }
            "--all" => all = true,
            "--root" => match args.next() {
                Some(dir) => root = PathBuf::from(dir),
                None => return usage("--root needs a folder".to_owned()),
            },
            "-" => positional.push(arg.clone()),
            other if other.starts_with('-') => {
                return usage(format!("unexpected option `{other}`"));
            }
            _ => positional.push(arg.clone()),
        }
    }
    let [provider, document] = positional.as_slice() else {
        return usage(format!(
            "expected PROVIDER and DOCUMENT, got {} argument(s)",
            positional.len()
        ));
    };
    let Some(provider) = xtask::providers::find(provider) else {
        let known: Vec<String> = xtask::providers::PROVIDERS
            .iter()
            .map(|p| format!("{} ({})", p.short_name, p.crate_name))
            .collect();
        return unusable(format!(
            "unknown provider `{provider}`: expected one of {}",
            known.join(", ")
        ));
    };
    let spec_name = provider.spec_path();
    let ours = match std::fs::read_to_string(root.join(&spec_name)) {
        Ok(text) => text,
        Err(e) => return unusable(format!("cannot read {spec_name}: {e}")),
    };
    let (theirs, document_name) = if document == "-" {
        let mut text = String::new();
        if let Err(e) = std::io::stdin().read_to_string(&mut text) {
            return unusable(format!("cannot read the document from stdin: {e}"));
        }
        (text, "(stdin)".to_owned())
    } else {
        match std::fs::read_to_string(document) {
            Ok(text) => (text, document.clone()),
            Err(e) => return unusable(format!("cannot read {document}: {e}")),
        }
    };
    let parsed = xtask::contract::parse_document(&ours, &spec_name).and_then(|ours| {
        let theirs = xtask::contract::parse_document(&theirs, &document_name)?;
        xtask::contract::diff(&ours, &theirs, &spec_name)
    });
    match parsed {
        Ok(report) => {
            println!(
                "contract-diff {}: {spec_name} against {document_name}",
                provider.crate_name
            );
            print!("{}", report.render(all));
            ExitCode::from(report.exit_code())
        }
        Err(e) => unusable(e.to_string()),
    }
}
