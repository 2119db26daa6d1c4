//! The command line, and nothing else: each subcommand hands typed arguments to its module.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::error::Error;

#[derive(Parser)]
#[command(
    name = "kelev",
    version = concat!(env!("CARGO_PKG_VERSION"), " (commit ", env!("KELEV_GIT_COMMIT"), ")"),
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
        /// The host's `status --json`: each entry gets `running`, the content hash the host
        /// runs with its containers up (empty if none)
        #[arg(long, value_name = "FILE")]
        host_status: Option<PathBuf>,
    },
    /// Decide whether a deploy job deploys: print `deploy=true|false` and `reason=...`
    Decide {
        /// The content hash of the commit to deploy (`kelev hash`)
        #[arg(long)]
        hash: String,
        /// The matrix entry's `running`: what the host runs with its containers up
        #[arg(long, default_value = "")]
        running: String,
        /// How many `deployed-<name>-<hash>` artifacts record this content
        #[arg(long, default_value_t = 0)]
        artifacts: u32,
        /// Deploy whatever the host runs
        #[arg(long)]
        force: bool,
    },
    /// Close a deploy job: write `<results>/<name>.json` for `kelev summary` from `decide`'s
    /// outputs and the agent's `deploy --json` report, and `<marker>/deployed.json` when the
    /// agent took the content; prints `<name> <result>`
    Record {
        #[arg(long)]
        name: String,
        /// The commit the job checked out (empty if it got none)
        #[arg(long, default_value = "")]
        commit: String,
        /// The content hash (`kelev hash`; empty if it got none)
        #[arg(long, default_value = "")]
        hash: String,
        /// `decide`'s `deploy` output: `true`, `false`, or empty when decide did not succeed
        #[arg(long, default_value = "")]
        deploy: String,
        /// `decide`'s `reason` output
        #[arg(long, default_value = "")]
        reason: String,
        /// The agent's `deploy --json` output (absent: no deploy ran, or it printed nothing)
        #[arg(long, default_value = "deploy.json")]
        report: PathBuf,
        #[arg(long, default_value = "results")]
        results: PathBuf,
        #[arg(long, default_value = "marker")]
        marker: PathBuf,
    },
    /// Print the projects a `manifest-put` output names as removed, one a line
    Removed {
        /// What `ssh ... manifest-put` printed
        changes: PathBuf,
    },
    /// Write the Terragrunt tree (terraform/root.hcl, terraform/region/<REGION>/terragrunt.hcl)
    /// from config.json, with an uptime alarm for each project of the manifest
    GenConfig {
        #[arg(long, default_value = "config.json")]
        config: PathBuf,
        /// The projects whose sites the host's probe checks (one site_up alarm each)
        #[arg(long, default_value = "projects.json")]
        manifest: PathBuf,
        /// Region name -> Ubuntu 22.04 AMI
        #[arg(long, default_value = "config/region-mapping.json")]
        mapping: PathBuf,
        /// The Terragrunt tree's root
        #[arg(long, default_value = "terraform")]
        out: PathBuf,
        /// Write nothing; exit 1 and name the stale files if the tree does not match
        #[arg(long)]
        check: bool,
    },
    /// Write config/region-mapping.json: Canonical's current Ubuntu 22.04 amd64 AMI in each region
    /// of config.json and of the mapping, read through the AWS CLI, with the day it was read
    Amis {
        /// Its `regions` are read (besides those already in the mapping)
        #[arg(long, default_value = "config.json")]
        config: PathBuf,
        /// The file written (atomically; nothing on any failure)
        #[arg(long, default_value = "config/region-mapping.json")]
        mapping: PathBuf,
    },
    /// Allow SSH from this machine: add ADDR/32 (or /128) to `allowed_ssh_cidrs` in config.json
    AllowSsh {
        /// The address to allow; without it, asked from https://checkip.amazonaws.com
        #[arg(long)]
        ip: Option<std::net::IpAddr>,
        #[arg(long, default_value = "config.json")]
        config: PathBuf,
    },
    /// Print the deploy run's summary table (Markdown) from the matrix jobs' result files
    Summary {
        /// The matrix `kelev plan` printed: its JSON text, or a file holding it
        #[arg(long, value_name = "JSON|FILE")]
        matrix: String,
        /// A directory of `<project>.json` results, as `kelev record` writes them
        #[arg(long)]
        results: PathBuf,
        /// `markdown` for the job summary, `webhook` for the JSON a Slack or Discord incoming
        /// webhook takes
        #[arg(long, value_enum, default_value = "markdown")]
        format: crate::summary::Format,
        /// A link to the run, put under the webhook message's table
        #[arg(long, value_name = "URL")]
        run_url: Option<String>,
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
        let mut checked = kelev_core::CheckedOutput::new(std::io::stdout());
        let code = self.run(&mut checked)?;
        checked
            .finish()
            .map_err(|source| Error::Output { source })?;
        Ok(code)
    }

    fn run(self, stdout: &mut dyn std::io::Write) -> Result<i32, Error> {
        match self {
            Command::Hash {
                repo,
                rev,
                manifest,
                project,
            } => crate::hash::run(&repo, &rev, manifest.as_deref(), project.as_deref(), stdout),
            Command::Plan {
                manifest,
                projects,
                host_status,
            } => crate::plan::run(&manifest, &projects, host_status.as_deref(), stdout),
            Command::Decide {
                hash,
                running,
                artifacts,
                force,
            } => crate::decision::run(&hash, &running, artifacts, force, stdout),
            Command::Record {
                name,
                commit,
                hash,
                deploy,
                reason,
                report,
                results,
                marker,
            } => crate::record::run(
                &crate::record::Job {
                    name: &name,
                    commit: &commit,
                    hash: &hash,
                    deploy: &deploy,
                    reason: &reason,
                },
                &report,
                &results,
                &marker,
                stdout,
            ),
            Command::Removed { changes } => crate::manifest_changes::run(&changes, stdout),
            Command::GenConfig {
                config,
                manifest,
                mapping,
                out,
                check,
            } => crate::gen_config::run(
                &crate::gen_config::Paths {
                    config: &config,
                    manifest: &manifest,
                    mapping: &mapping,
                    out: &out,
                },
                check,
                stdout,
            ),
            Command::Amis { config, mapping } => crate::amis::run(&config, &mapping, stdout),
            Command::AllowSsh { ip, config } => crate::allow_ssh::run(&config, ip, stdout),
            Command::Summary {
                matrix,
                results,
                format,
                run_url,
            } => crate::summary::run(&matrix, &results, format, run_url.as_deref(), stdout),
            Command::Completions { shell } => {
                use clap::CommandFactory;
                // Into memory first: clap_complete panics on a write error.
                let mut script = Vec::new();
                clap_complete::generate(shell, &mut Cli::command(), "kelev", &mut script);
                let _ = stdout.write_all(&script);
                Ok(0)
            }
        }
    }
}
