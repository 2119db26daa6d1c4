//! Step 5, the gate: a started release counts as up only when Docker says so
//! ([`Pipeline::wait_until_up`]), and, with `traefik.api` set, once Traefik routes to it
//! ([`Pipeline::wait_routed`]). Containers with a healthcheck must report `healthy`; the others
//! must stay running for `settle_secs`. A container that exits non-zero, restarts, or turns
//! `unhealthy` fails the release at once.

use std::io::Write;
use std::time::{Duration, Instant};

use kelev_core::{CommitId, ContainerState, Health, Project, ProjectName};

use crate::error::Error;
use crate::host::config::Config;
use crate::host::signals;
use crate::pipeline::Pipeline;
use crate::release::docker::{Container, Docker};
use crate::release::override_file::Route;
use crate::release::traefik::Routes;

const LOG_LINES: u32 = 20;

enum Verdict {
    Failed(Vec<Container>, String),
    Waiting(String),
    /// Up; `settling` when some containers have no healthcheck to vouch for them.
    Up {
        settling: bool,
    },
}

fn judge(containers: &[Container]) -> Verdict {
    if containers.is_empty() {
        return Verdict::Waiting("no container yet".into());
    }
    let failed: Vec<Container> = containers
        .iter()
        .filter(|c| {
            matches!(
                c.state,
                ContainerState::Dead | ContainerState::Restarting | ContainerState::Removing
            ) || (c.state == ContainerState::Exited && c.exit_code != 0)
                || c.health == Some(Health::Unhealthy)
        })
        .cloned()
        .collect();
    if !failed.is_empty() {
        let what = failed
            .iter()
            .map(|c| match (c.health, c.state) {
                (Some(Health::Unhealthy), _) => format!("`{}` is unhealthy", c.service),
                (_, ContainerState::Exited) => {
                    format!("`{}` exited with code {}", c.service, c.exit_code)
                }
                (_, state) => format!("`{}` is {}", c.service, state.as_str()),
            })
            .collect::<Vec<_>>()
            .join(", ");
        return Verdict::Failed(failed, what);
    }
    if let Some(c) = containers
        .iter()
        .find(|c| c.state == ContainerState::Created || c.health == Some(Health::Starting))
    {
        let what = c.health.map_or(c.state.as_str(), Health::as_str);
        return Verdict::Waiting(format!("`{}` is {what}", c.service));
    }
    Verdict::Up {
        settling: containers
            .iter()
            .any(|c| c.state == ContainerState::Running && c.health.is_none()),
    }
}

impl Pipeline<'_> {
    /// Wait until the containers of `commit` are up, or say why they are not.
    pub(crate) fn wait_until_up(
        &self,
        project: &Project,
        commit: &CommitId,
        progress: &mut dyn Write,
    ) -> Result<(), Error> {
        wait_until_up(self.docker, self.config, &project.name, commit, progress)
    }

    /// With `traefik.api` set: wait until Traefik has the route of `service`, the project's
    /// routed service.
    pub(crate) fn wait_routed(
        &self,
        project: &Project,
        service: &str,
        progress: &mut dyn Write,
    ) -> Result<(), Error> {
        let Some(api) = self.config.traefik_api else {
            return Ok(());
        };
        let routes = Routes {
            api,
            timeout: Duration::from_secs(self.config.traefik.route_timeout_secs),
        };
        let route = Route::of(project, service, &self.config.traefik);
        routes.wait(&project.name, &route, progress)
    }
}

/// Wait until the containers of `commit` are up, or say why they are not.
fn wait_until_up(
    docker: &Docker,
    config: &Config,
    project: &ProjectName,
    commit: &CommitId,
    progress: &mut dyn Write,
) -> Result<(), Error> {
    let started = Instant::now();
    let timeout = Duration::from_secs(config.health_timeout_secs);
    let settle = Duration::from_secs(config.settle_secs);
    let mut up_since: Option<Instant> = None;
    let mut said = String::new();
    loop {
        signals::check()?;
        let containers: Vec<Container> = docker
            .containers(Some(project.as_str()))?
            .into_iter()
            .filter(|c| c.serves(commit))
            .collect();
        let waiting = match judge(&containers) {
            Verdict::Failed(failed, what) => {
                for container in &failed {
                    let _ = writeln!(
                        progress,
                        "--- last {LOG_LINES} log lines of `{}`:\n{}",
                        container.service,
                        docker.logs_tail(&container.id, LOG_LINES).trim_end()
                    );
                }
                return Err(Error::Unhealthy {
                    project: project.clone(),
                    failed: what,
                });
            }
            Verdict::Up { settling: false } => return Ok(()),
            Verdict::Up { settling: true } => {
                let since = *up_since.get_or_insert_with(Instant::now);
                if since.elapsed() >= settle {
                    return Ok(());
                }
                format!("settling for {}s", settle.as_secs())
            }
            Verdict::Waiting(what) => {
                up_since = None;
                what
            }
        };
        if started.elapsed() >= timeout {
            return Err(Error::NotUp {
                project: project.clone(),
                secs: timeout.as_secs(),
                waiting,
            });
        }
        if waiting != said {
            let _ = writeln!(progress, "waiting for {project}: {waiting}");
            said = waiting;
        }
        // Often at first, when a container that was just created is about to run; then less.
        let poll = if started.elapsed() < Duration::from_secs(1) {
            50
        } else {
            250
        };
        std::thread::sleep(Duration::from_millis(poll));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(state: &str, health: Option<&str>, exit_code: i64) -> Container {
        let health = health.map(|h| serde_json::from_value(serde_json::json!(h)).unwrap());
        Container {
            id: "id".into(),
            project: "p".into(),
            service: "web".into(),
            state: ContainerState::parse(state).unwrap(),
            health,
            exit_code,
            commit: None,
        }
    }

    #[test]
    fn verdicts() {
        assert!(matches!(judge(&[]), Verdict::Waiting(_)));
        assert!(matches!(
            judge(&[c("running", Some("healthy"), 0)]),
            Verdict::Up { settling: false }
        ));
        assert!(matches!(
            judge(&[c("running", None, 0)]),
            Verdict::Up { settling: true }
        ));
        assert!(matches!(
            judge(&[c("running", Some("starting"), 0)]),
            Verdict::Waiting(_)
        ));
        assert!(matches!(
            judge(&[c("created", None, 0)]),
            Verdict::Waiting(_)
        ));
        assert!(matches!(
            judge(&[c("running", Some("unhealthy"), 0)]),
            Verdict::Failed(..)
        ));
        assert!(matches!(
            judge(&[c("restarting", None, 1)]),
            Verdict::Failed(..)
        ));
        assert!(matches!(
            judge(&[c("exited", None, 2)]),
            Verdict::Failed(..)
        ));
        // A one-shot service that finished cleanly does not hold the release back.
        assert!(matches!(
            judge(&[c("running", Some("healthy"), 0), c("exited", None, 0)]),
            Verdict::Up { settling: false }
        ));
    }
}
