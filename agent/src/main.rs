//! `kelev-agent`: the deploy agent that an SSH forced command runs. See `docs/commands.md`.

use clap::Parser;

/// Deploys compose projects on this host; meant to run as the forced command of an SSH key.
#[derive(Parser)]
#[command(name = "kelev-agent", version, disable_help_subcommand = true)]
struct Cli {
    /// agent.json to read
    #[arg(long, value_name = "PATH", default_value = kelev_agent::DEFAULT_CONFIG)]
    config: std::path::PathBuf,
    /// The id of the SSH key this runs for (set in authorized_keys); its policy applies
    #[arg(long, value_name = "ID")]
    key: Option<String>,
    /// Only check the agent.json at --config as every run reads it, and touch nothing (0 or 65)
    #[arg(long, conflicts_with_all = ["key", "words"])]
    check_config: bool,
    /// The command, when run locally (over SSH it comes from SSH_ORIGINAL_COMMAND)
    #[arg(
        value_name = "WORDS",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    words: Vec<String>,
}

fn main() {
    let cli = match Cli::try_parse() {
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
    let code = match cli.check_config {
        true => kelev_agent::check_config(&cli.config),
        false => kelev_agent::run(cli.config, cli.key, cli.words),
    };
    std::process::exit(code.code());
}
