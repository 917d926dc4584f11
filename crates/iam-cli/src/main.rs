//! `iam`: create users on Entrust IDaaS, mID Provider and Nexway IAM from the command line.
//! See `iam --help`; exit codes are listed in `iam create-user --help`.

use std::process::ExitCode;

use clap::Parser;

use iam_cli::cli::{Cli, Command, Output};
use iam_cli::exit::{self, Failure};
use iam_cli::{create, demo, import, print_stdout};

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .try_init();
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(exit::REFUSED);
        }
    };
    let output = match &cli.command {
        Command::CreateUser(args) => args.output,
        Command::Import(args) => args.output,
        _ => Output::Text,
    };
    let result: Result<(), Failure> = runtime.block_on(async {
        match cli.command {
            Command::CreateUser(args) => create::run(args).await,
            Command::Import(args) => import::run(args).await,
            Command::Schema => {
                let schema = schemars::schema_for!(iam_clients::NewUser);
                print_stdout(&format!(
                    "{}\n",
                    serde_json::to_string_pretty(&schema).expect("a schema serializes")
                ));
                Ok(())
            }
            Command::Demo => demo::run().await,
            Command::Completions(args) => {
                use clap::CommandFactory;
                let mut script = Vec::new();
                clap_complete::generate(args.shell, &mut Cli::command(), "iam", &mut script);
                print_stdout(&String::from_utf8_lossy(&script));
                Ok(())
            }
            Command::Sandbox(args) => iam_sandbox::cli::run(args).await.map_err(|e| {
                use iam_sandbox::SandboxError as E;
                let code = match e {
                    E::StateFile { .. }
                    | E::PlainHttpNotLoopback { .. }
                    | E::EmptyToken
                    | E::RateLimit(_) => exit::USAGE,
                    _ => exit::REFUSED,
                };
                Failure::new(code, e.to_string())
            }),
        }
    });
    // Requests still in flight (none after a clean run) must not hold the process.
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            if !failure.message.is_empty() {
                // With --output json, stdout holds the error object (once: an import's summary
                // carries it) and stderr the line for people.
                if output == Output::Json && !failure.summarised {
                    print_stdout(&format!("{}\n", failure.to_json()));
                }
                eprintln!("{failure}");
            }
            failure.exit_code()
        }
    }
}
