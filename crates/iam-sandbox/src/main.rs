//! `iam-sandbox`: run the simulator in the foreground. See `iam-sandbox --help`.

use std::process::ExitCode;

use clap::Parser;

#[derive(Parser)]
#[command(
    name = "iam-sandbox",
    version,
    about = "A local simulator of the Entrust IDaaS, mID Provider and Nexway IAM create-user APIs"
)]
struct Cli {
    #[command(flatten)]
    args: iam_sandbox::cli::Args,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(iam_sandbox::cli::run(cli.args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            let mut source = std::error::Error::source(&e);
            while let Some(cause) = source {
                eprintln!("  caused by: {cause}");
                source = cause.source();
            }
            ExitCode::FAILURE
        }
    }
}
