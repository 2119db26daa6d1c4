//! `kelev`: what CI and the operator's laptop run. See `kelev --help`.

mod allow_ssh;
mod amis;
mod aws_names;
mod cli;
mod decision;
mod error;
mod gen_config;
mod hash;
mod host_status;
mod infra_config;
mod manifest_changes;
mod plan;
mod record;
mod summary;
mod webhook;

use std::io::Write;

use clap::Parser;

fn main() {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            let _ = e.print();
            std::process::exit(0);
        }
        Err(e) => {
            let _ = e.print();
            std::process::exit(kelev_core::ExitCode::Usage.code());
        }
    };
    match cli.command.execute() {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "error: {e}");
            std::process::exit(e.exit_code().code());
        }
    }
}
