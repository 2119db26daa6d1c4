//! A permitted command meets the host: the agent's config, its files and Docker.

use std::cell::OnceCell;
use std::io::Write;
use std::time::Duration;

use kelev_core::{Manifest, Project, ProjectName};

use crate::audit::Trail;
use crate::command::Command;
use crate::compose::Compose;
use crate::config::Config;
use crate::docker::Docker;
use crate::error::Error;
use crate::layout::Layout;
use crate::lock::Lock;
use crate::policy::KeyPolicy;

pub(crate) struct Agent {
    pub(crate) config: Config,
    pub(crate) layout: Layout,
    pub(crate) docker: Docker,
    key: Option<String>,
    /// `None` when run locally: no key policy applies.
    policy: Option<KeyPolicy>,
    compose: OnceCell<Compose>,
}

impl Agent {
    pub(crate) fn new(config: Config, key: Option<String>, policy: Option<KeyPolicy>) -> Agent {
        Agent {
            layout: Layout::new(&config.root),
            docker: Docker::new(&config.docker),
            config,
            key,
            policy,
            compose: OnceCell::new(),
        }
    }

    pub(crate) fn execute(&self, command: &Command, trail: &mut Trail) -> Result<(), Error> {
        let stdout = &mut std::io::stdout();
        let stderr = &mut std::io::stderr();
        match command {
            Command::Deploy {
                project,
                commit,
                force,
                json,
            } => {
                let progress: &mut dyn Write = if *json { stderr } else { stdout };
                let report = self.deploy(project, commit.as_ref(), *force, progress, trail);
                let report = match (report, *json) {
                    (Ok(report), _) => report,
                    (Err(e), true) => {
                        let failure = serde_json::json!({
                            "project": project.as_str(),
                            "commit": trail.commit,
                            "result": "failed",
                            "exit_code": e.exit_code(),
                            "error": e.to_string().lines().next().unwrap_or(""),
                        });
                        let _ = writeln!(std::io::stdout(), "{failure}");
                        return Err(e);
                    }
                    (Err(e), false) => return Err(e),
                };
                if *json {
                    let _ = writeln!(std::io::stdout(), "{}", report.json());
                } else {
                    let _ = writeln!(std::io::stdout(), "{}", report.line());
                }
                Ok(())
            }
            Command::Clone { project, commit } => {
                let commit = self.clone_project(project, commit.as_ref(), stdout, trail)?;
                let _ = writeln!(std::io::stdout(), "cloned {project} at {commit}");
                Ok(())
            }
            Command::Rebuild { project } => {
                let report = self.rebuild(project, stdout, trail)?;
                let _ = writeln!(std::io::stdout(), "{}", report.line());
                Ok(())
            }
            Command::RebuildAll => self.rebuild_all(stdout),
            Command::Status { project, json } => self.status(project.as_ref(), *json, stdout),
            Command::Logs { project, tail } => {
                self.known_project(project)?;
                let tail = tail.to_string();
                self.compose()?.by_name(
                    project.as_str(),
                    &["logs", "--no-color", "--timestamps", "--tail", &tail],
                    &self.layout.compose_logs(),
                    stdout,
                )
            }
            Command::Manifest => {
                let path = &self.config.manifest;
                let bytes =
                    std::fs::read(path).map_err(|source| kelev_core::ManifestError::Io {
                        path: path.clone(),
                        source,
                    })?;
                let _ = stdout.write_all(&bytes);
                Ok(())
            }
            Command::ManifestPut => self.manifest_put(&mut std::io::stdin().lock(), stdout),
            Command::Remove { project } => self.remove(project, stdout),
            Command::SecretsPut { project, restart } => {
                self.secrets_put(project, *restart, &mut std::io::stdin().lock(), stdout)
            }
            Command::Secrets { project } => self.secrets_list(project, stdout),
            Command::SecretsUnset { project, keys } => self.secrets_unset(project, keys, stdout),
            Command::Rollback { project } => {
                let report = self.rollback(project, stdout, trail)?;
                let _ = writeln!(std::io::stdout(), "{}", report.line());
                Ok(())
            }
            Command::Help | Command::Version => {
                print_about(command, stdout);
                Ok(())
            }
        }
    }

    pub(crate) fn manifest(&self) -> Result<Manifest, Error> {
        Ok(Manifest::load(&self.config.manifest)?)
    }

    pub(crate) fn project<'m>(
        &self,
        manifest: &'m Manifest,
        name: &ProjectName,
    ) -> Result<&'m Project, Error> {
        manifest.project(name).ok_or_else(|| Error::UnknownProject {
            project: name.clone(),
        })
    }

    /// A project the agent has files for, or that the manifest names.
    fn known_project(&self, name: &ProjectName) -> Result<(), Error> {
        if self.layout.project(name).is_dir() || self.manifest()?.project(name).is_some() {
            Ok(())
        } else {
            Err(Error::UnknownProject {
                project: name.clone(),
            })
        }
    }

    pub(crate) fn compose(&self) -> Result<&Compose, Error> {
        if let Some(compose) = self.compose.get() {
            return Ok(compose);
        }
        let compose = Compose::resolve(&self.config)?;
        Ok(self.compose.get_or_init(|| compose))
    }

    /// Whether the key may see or touch `project` (always, locally).
    pub(crate) fn may_touch(&self, project: &ProjectName) -> bool {
        self.policy
            .as_ref()
            .is_none_or(|p| p.allows_project(project))
    }

    /// How every verb that changes a project starts: its manifest entry (a project the
    /// manifest does not name is refused before any wait), its lock, and the alarm of
    /// `deploy_timeout_secs` from the moment the lock is held.
    pub(crate) fn take(
        &self,
        name: &ProjectName,
        verb: &str,
        progress: &mut dyn Write,
    ) -> Result<(Project, Lock), Error> {
        let manifest = self.manifest()?;
        let project = self.project(&manifest, name)?.clone();
        let lock = self.lock(name, verb, progress)?;
        crate::signals::alarm(self.config.deploy_timeout_secs);
        Ok((project, lock))
    }

    pub(crate) fn lock(
        &self,
        project: &ProjectName,
        verb: &str,
        progress: &mut dyn Write,
    ) -> Result<Lock, Error> {
        let holder = format!(
            "pid {} ({verb}, key {})",
            std::process::id(),
            self.key.as_deref().unwrap_or("local")
        );
        Lock::acquire(
            &self.layout.lock(project),
            project.as_str(),
            &holder,
            Duration::from_secs(self.config.lock_timeout_secs),
            progress,
        )
    }
}

/// `help` and `version`, which need neither config nor Docker.
pub(crate) fn print_about(command: &Command, out: &mut dyn Write) {
    let _ = match command {
        Command::Version => writeln!(
            out,
            "kelev-agent {} (commit {})",
            env!("CARGO_PKG_VERSION"),
            env!("KELEV_GIT_COMMIT")
        ),
        _ => out.write_all(HELP.as_bytes()),
    };
}

const HELP: &str = "\
kelev-agent: deploys this host's compose projects

usage (over ssh): ssh deploy@HOST <command>

commands:
  deploy <project> [<commit>] [--force] [--json]   fetch, build and start; `unchanged` if already running
  clone <project> [<commit>]                       fetch and check out, without building
  rebuild <project>                                build and (re)start the checkout
  rebuild-all                                      rebuild every project; a summary table at the end
  status [<project>] [--json]                      what runs, from Docker itself
  logs <project> [--tail N]                        the last N lines (default 200, at most 10000)
  manifest                                         print the installed projects.json
  manifest-put                                     install projects.json from stdin
  remove <project>                                 take down a project no longer in the manifest
  rollback <project>                               back to the previous release, without building
  secrets-put <project> [--restart]                set runtime secrets from KEY=value lines on stdin
  secrets <project>                                list secret keys with a digest of each value
  secrets-unset <project> KEY...                   remove secrets
  help, version

a commit is a full 40- or 64-digit lowercase hex id; exit codes: 0 ok, 1 failed, 64 bad command,
65 bad data, 69 docker unreachable, 75 locked, 77 not permitted
";
