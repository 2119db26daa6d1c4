//! status: what runs, as Docker reports it, beside what the agent recorded.

use kelev_core::{
    CommitId, ContainerState, ContainerStatus, ProjectName, ProjectState, ProjectStatus,
    StatusReport,
};

use crate::error::Error;
use crate::host::secret_store::Secrets;
use crate::host::state::State;
use crate::host::table::render;
use crate::release::docker::Container;
use crate::release::routing::Routing;
use crate::verbs::agent::Agent;
use crate::verbs::verb::{Io, Verb};
use crate::wire::grammar::{Args, GrammarError};
use crate::wire::spec::{Opt, Spec};

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Status {
    pub(crate) project: Option<ProjectName>,
    pub(crate) json: bool,
}

impl Verb for Status {
    const SPEC: Spec = Spec::new(
        "status",
        "[<project>] [--json]",
        "what runs, from Docker itself",
    )
    .options(&[Opt::flag("--json")]);

    fn parse(args: &mut Args) -> Result<Status, GrammarError> {
        Ok(Status {
            project: args.optional_project()?,
            json: args.flag("--json"),
        })
    }

    fn project(&self) -> Option<&ProjectName> {
        self.project.as_ref()
    }

    fn run(&self, agent: &Agent, io: &mut Io) -> Result<(), Error> {
        let only = self.project.as_ref();
        let manifest = agent.manifest()?;
        let mut names: Vec<(ProjectName, bool)> = manifest
            .projects
            .iter()
            .map(|p| (p.name.clone(), true))
            .collect();
        for name in agent.layout.known_projects() {
            if manifest.project(&name).is_none() {
                names.push((name, false));
            }
        }
        names.sort();
        names.retain(|(name, _)| agent.may_touch(name) && only.is_none_or(|o| o == name));
        if let Some(only) = only {
            if names.is_empty() {
                return Err(Error::UnknownProject {
                    project: only.clone(),
                });
            }
        }
        let containers = agent.docker.containers(only.map(ProjectName::as_str))?;
        let mut statuses = Vec::with_capacity(names.len());
        for (name, in_manifest) in names {
            let state = State::load(&agent.layout, &name)?;
            let mine: Vec<&Container> = containers
                .iter()
                .filter(|c| c.project == name.as_str())
                .collect();
            let running = state.running.as_ref();
            let routing_current = match (running, manifest.project(&name)) {
                (Some(running), Some(project)) => {
                    let secrets = Secrets::load(&agent.layout, &name)?;
                    let now = Routing::of(&agent.config.traefik, project, &secrets);
                    Some(running.routing.is(&now))
                }
                _ => None,
            };
            statuses.push(ProjectStatus {
                routing_current,
                commit: running.map(|r| r.commit.clone()),
                checkout: agent.layout.checkout(&name),
                content_hash: running.map(|r| r.content_hash.clone()),
                deployed_at: running.map(|r| r.deployed_at.clone()),
                state: classify(in_manifest, running.is_some(), &mine),
                rollout: manifest.project(&name).map(|p| p.rollout),
                containers: mine
                    .iter()
                    .map(|c| ContainerStatus {
                        service: c.service.clone(),
                        state: c.state,
                        health: c.health,
                    })
                    .collect(),
                name: name.to_string(),
            });
        }
        if self.json {
            let report = StatusReport { projects: statuses };
            let json = serde_json::to_string(&report).expect("status serializes");
            let _ = writeln!(io.out, "{json}");
        } else {
            let _ = io.out.write_all(table(&statuses).as_bytes());
        }
        Ok(())
    }
}

fn classify(in_manifest: bool, deployed: bool, containers: &[&Container]) -> ProjectState {
    if !in_manifest {
        ProjectState::Orphaned
    } else if containers.is_empty() {
        if deployed {
            ProjectState::Stopped
        } else {
            ProjectState::NotDeployed
        }
    } else if containers.iter().all(|c| c.is_up()) {
        ProjectState::Running
    } else if containers
        .iter()
        .all(|c| c.state != ContainerState::Running)
    {
        ProjectState::Stopped
    } else {
        ProjectState::Degraded
    }
}

fn table(statuses: &[ProjectStatus]) -> String {
    let short = |c: &Option<CommitId>| c.as_ref().map_or("-".to_owned(), |c| c.short().to_owned());
    let mut rows = vec![[
        "PROJECT".to_owned(),
        "STATE".to_owned(),
        "COMMIT".to_owned(),
        "CHECKOUT".to_owned(),
        "DEPLOYED_AT".to_owned(),
        "CONTAINERS".to_owned(),
    ]];
    for s in statuses {
        let containers = s
            .containers
            .iter()
            .map(|c| match c.health {
                Some(h) => format!("{}:{}/{}", c.service, c.state.as_str(), h.as_str()),
                None => format!("{}:{}", c.service, c.state.as_str()),
            })
            .collect::<Vec<_>>()
            .join(" ");
        rows.push([
            s.name.clone(),
            s.state.as_str().to_owned(),
            short(&s.commit),
            short(&s.checkout),
            s.deployed_at.clone().unwrap_or_else(|| "-".into()),
            if containers.is_empty() {
                "-".into()
            } else {
                containers
            },
        ]);
    }
    render(&rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kelev_core::Health;

    fn container(state: ContainerState, health: Option<Health>) -> Container {
        Container {
            id: "c".into(),
            project: "p".into(),
            service: "web".into(),
            state,
            health,
            exit_code: 0,
            commit: None,
        }
    }

    #[test]
    fn states() {
        use ContainerState::{Exited, Running};
        let up = container(Running, None);
        let healthy = container(Running, Some(Health::Healthy));
        let unhealthy = container(Running, Some(Health::Unhealthy));
        let exited = container(Exited, None);
        assert_eq!(classify(false, true, &[&up]), ProjectState::Orphaned);
        assert_eq!(classify(true, false, &[]), ProjectState::NotDeployed);
        assert_eq!(classify(true, true, &[]), ProjectState::Stopped);
        assert_eq!(
            classify(true, true, &[&up, &healthy]),
            ProjectState::Running
        );
        assert_eq!(
            classify(true, true, &[&up, &unhealthy]),
            ProjectState::Degraded
        );
        assert_eq!(
            classify(true, true, &[&up, &exited]),
            ProjectState::Degraded
        );
        assert_eq!(classify(true, true, &[&exited]), ProjectState::Stopped);
    }
}
