//! status: what runs, as Docker reports it, beside what the agent recorded.

use std::io::Write;

use serde::Serialize;

use kelev_core::ProjectName;

use crate::agent::Agent;
use crate::docker::Container;
use crate::error::Error;
use crate::state::State;

#[derive(Serialize)]
struct ProjectStatus {
    name: String,
    commit: Option<String>,
    checkout: Option<String>,
    content_hash: Option<String>,
    deployed_at: Option<String>,
    state: &'static str,
    /// How a new release replaces this one (from the manifest; null for orphans).
    rollout: Option<&'static str>,
    containers: Vec<ContainerStatus>,
}

#[derive(Serialize)]
struct ContainerStatus {
    service: String,
    state: String,
    health: Option<String>,
}

impl Agent {
    pub(crate) fn status(
        &self,
        only: Option<&ProjectName>,
        json: bool,
        out: &mut dyn Write,
    ) -> Result<(), Error> {
        let manifest = self.manifest()?;
        let mut names: Vec<(ProjectName, bool)> = manifest
            .projects
            .iter()
            .map(|p| (p.name.clone(), true))
            .collect();
        for name in self.layout.known_projects() {
            if manifest.project(&name).is_none() {
                names.push((name, false));
            }
        }
        names.sort();
        names.retain(|(name, _)| self.may_touch(name) && only.is_none_or(|o| o == name));
        if let Some(only) = only {
            if names.is_empty() {
                return Err(Error::UnknownProject {
                    project: only.clone(),
                });
            }
        }
        let containers = self.docker.containers(only.map(ProjectName::as_str))?;
        let mut statuses = Vec::with_capacity(names.len());
        for (name, in_manifest) in names {
            let state = State::load(&self.layout, &name)?;
            let mine: Vec<&Container> = containers
                .iter()
                .filter(|c| c.project == name.as_str())
                .collect();
            let running = state.running.as_ref();
            statuses.push(ProjectStatus {
                commit: running.map(|r| r.commit.clone()),
                checkout: self.layout.checkout(&name).map(|c| c.to_string()),
                content_hash: running.map(|r| r.content_hash.clone()),
                deployed_at: running.map(|r| r.deployed_at.clone()),
                state: classify(in_manifest, running.is_some(), &mine),
                rollout: manifest.project(&name).map(|p| p.rollout.name()),
                containers: mine
                    .iter()
                    .map(|c| ContainerStatus {
                        service: c.service.clone(),
                        state: c.state.clone(),
                        health: c.health.clone(),
                    })
                    .collect(),
                name: name.to_string(),
            });
        }
        if json {
            let _ = writeln!(out, "{}", serde_json::json!({ "projects": statuses }));
        } else {
            let _ = out.write_all(table(&statuses).as_bytes());
        }
        Ok(())
    }
}

fn classify(in_manifest: bool, deployed: bool, containers: &[&Container]) -> &'static str {
    if !in_manifest {
        "orphaned"
    } else if containers.is_empty() {
        if deployed {
            "stopped"
        } else {
            "not-deployed"
        }
    } else if containers.iter().all(|c| c.is_up()) {
        "running"
    } else if containers.iter().all(|c| c.state != "running") {
        "stopped"
    } else {
        "degraded"
    }
}

fn table(statuses: &[ProjectStatus]) -> String {
    let short = |s: &Option<String>| {
        s.as_deref()
            .map_or("-".to_owned(), |s| s[..s.len().min(12)].to_owned())
    };
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
            .map(|c| match &c.health {
                Some(h) => format!("{}:{}/{h}", c.service, c.state),
                None => format!("{}:{}", c.service, c.state),
            })
            .collect::<Vec<_>>()
            .join(" ");
        rows.push([
            s.name.clone(),
            s.state.to_owned(),
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

/// Left-aligned columns two spaces apart; the last column is not padded.
pub(crate) fn render<const N: usize>(rows: &[[String; N]]) -> String {
    let mut widths = [0usize; N];
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.len());
        }
    }
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i + 1 == N {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<width$}  ", width = widths[i]));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn container(state: &str, health: Option<&str>) -> Container {
        Container {
            id: "c".into(),
            project: "p".into(),
            service: "web".into(),
            state: state.into(),
            health: health.map(str::to_owned),
            exit_code: 0,
            commit: None,
        }
    }

    #[test]
    fn states() {
        let up = container("running", None);
        let healthy = container("running", Some("healthy"));
        let unhealthy = container("running", Some("unhealthy"));
        let exited = container("exited", None);
        assert_eq!(classify(false, true, &[&up]), "orphaned");
        assert_eq!(classify(true, false, &[]), "not-deployed");
        assert_eq!(classify(true, true, &[]), "stopped");
        assert_eq!(classify(true, true, &[&up, &healthy]), "running");
        assert_eq!(classify(true, true, &[&up, &unhealthy]), "degraded");
        assert_eq!(classify(true, true, &[&up, &exited]), "degraded");
        assert_eq!(classify(true, true, &[&exited]), "stopped");
    }

    #[test]
    fn render_aligns() {
        let rows = [
            ["A".to_owned(), "BB".to_owned()],
            ["ccc".to_owned(), "d".to_owned()],
        ];
        assert_eq!(render(&rows), "A    BB\nccc  d\n");
    }
}
