//! The command line, and nothing else: each subcommand hands typed arguments to its module.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::error::Error;

#[derive(Parser)]
#[command(
    name = "kelev",
    version,
    about = "Content hash, deploy plan and config generation for kelev"
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Subcommand)]
pub(crate) enum Command {
    /// Print the content hash of a commit's tree (what `kelev-agent status` reports)
    Hash {
        /// The repository (a working tree or a bare repository)
        repo: PathBuf,
        /// The revision to hash
        #[arg(long, default_value = "HEAD")]
        rev: String,
        /// Read the project's `hash_ignore` from this manifest (needs --project)
        #[arg(long, requires = "project")]
        manifest: Option<PathBuf>,
        /// The project whose `hash_ignore` applies
        #[arg(long, requires = "manifest")]
        project: Option<String>,
    },
    /// Validate the manifest and print the GitHub Actions matrix as one line of JSON
    Plan {
        #[arg(long, default_value = "projects.json")]
        manifest: PathBuf,
        /// Only these projects (repeatable); default: all
        #[arg(long = "project", value_name = "NAME")]
        projects: Vec<String>,
    },
    /// Print the deploy run's summary table (Markdown) from the matrix jobs' result files
    Summary {
        /// The matrix `kelev plan` printed
        #[arg(long)]
        matrix: String,
        /// A directory of `<project>.json` results: {"name","result","commit","hash"}
        #[arg(long)]
        results: PathBuf,
    },
    /// Print a shell completion script
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

impl Command {
    /// Run the subcommand; Ok carries the exit code (a `--check` can fail without an error).
    pub(crate) fn execute(self) -> Result<i32, Error> {
        let stdout = &mut std::io::stdout();
        match self {
            Command::Hash {
                repo,
                rev,
                manifest,
                project,
            } => crate::hash::run(&repo, &rev, manifest.as_deref(), project.as_deref(), stdout),
            Command::Plan { manifest, projects } => crate::plan::run(&manifest, &projects, stdout),
            Command::Summary { matrix, results } => crate::summary::run(&matrix, &results, stdout),
            Command::Completions { shell } => {
                use clap::CommandFactory;
                clap_complete::generate(shell, &mut Cli::command(), "kelev", stdout);
                Ok(0)
            }
        }
    }
}
