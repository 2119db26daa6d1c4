//! `kelev-agent`: the deploy agent that an SSH forced command runs. See `docs/commands.md`.

mod agent;
mod audit;
mod child;
mod command;
mod compose;
mod config;
mod deploy;
mod docker;
mod error;
mod health;
mod invocation;
mod layout;
mod lock;
mod manifest_put;
mod mirror;
mod policy;
mod rebuild_all;
mod remove;
mod rollback;
mod secrets;
mod signals;
mod state;
mod status;
mod timefmt;

use std::io::Write;
use std::time::Instant;

use clap::Parser;

/// Deploys compose projects on this host; meant to run as the forced command of an SSH key.
#[derive(Parser)]
#[command(name = "kelev-agent", version, disable_help_subcommand = true)]
pub(crate) struct Cli {
    /// agent.json to read
    #[arg(long, value_name = "PATH", default_value = config::DEFAULT_CONFIG)]
    config: std::path::PathBuf,
    /// The id of the SSH key this runs for (set in authorized_keys); its policy applies
    #[arg(long, value_name = "ID")]
    key: Option<String>,
    /// The command, when run locally (over SSH it comes from SSH_ORIGINAL_COMMAND)
    #[arg(
        value_name = "WORDS",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    words: Vec<String>,
}

fn main() {
    signals::install();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            let _ = e.print();
            std::process::exit(0);
        }
        Err(e) => {
            let _ = e.print();
            std::process::exit(error::EXIT_USAGE);
        }
    };
    let started = Instant::now();
    let mut trail = audit::Trail::default();
    let result = invocation::run(&cli, &mut trail);
    let code = match &result {
        Ok(()) => 0,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "error: {e}");
            e.exit_code()
        }
    };
    trail.finish(result.as_ref().err(), code, started.elapsed());
    std::process::exit(code);
}
