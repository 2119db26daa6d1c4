//! What Docker says is running: the containers of compose projects, read with `docker ps` and
//! `docker inspect` rather than trusted from our own state.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::child;
use crate::error::Error;

pub(crate) const COMMIT_LABEL: &str = "dev.kelev.commit";

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Container {
    pub(crate) id: String,
    pub(crate) project: String,
    pub(crate) service: String,
    pub(crate) state: String,
    pub(crate) health: Option<String>,
    pub(crate) exit_code: i64,
    pub(crate) commit: Option<String>,
}

impl Container {
    pub(crate) fn is_up(&self) -> bool {
        self.state == "running" && matches!(self.health.as_deref(), None | Some("healthy"))
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Inspected {
    id: String,
    config: InspectedConfig,
    state: InspectedState,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct InspectedConfig {
    #[serde(default)]
    labels: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct InspectedState {
    status: String,
    #[serde(default)]
    exit_code: i64,
    health: Option<InspectedHealth>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct InspectedHealth {
    status: String,
}

pub(crate) struct Docker {
    argv: Vec<String>,
    env: Vec<(String, String)>,
}

impl Docker {
    pub(crate) fn new(argv: &[String]) -> Docker {
        Docker {
            argv: argv.to_vec(),
            env: child::base_env(),
        }
    }

    pub(crate) fn argv(&self, args: &[&str]) -> Vec<String> {
        let mut argv = self.argv.clone();
        argv.extend(args.iter().map(|s| s.to_string()));
        argv
    }

    fn run(&self, args: &[&str]) -> Result<child::Captured, Error> {
        let argv = self.argv(args);
        let out = child::capture(&argv, &self.env)?;
        if out.status.success() {
            Ok(out)
        } else {
            Err(Error::Unavailable {
                message: format!(
                    "`{}` failed ({}): {}",
                    argv.join(" "),
                    child::describe(out.status),
                    out.stderr.trim()
                ),
            })
        }
    }

    /// Containers of compose project `project`, or of every compose project, one-off
    /// (`compose run`) containers left out.
    pub(crate) fn containers(&self, project: Option<&str>) -> Result<Vec<Container>, Error> {
        let filter = match project {
            Some(p) => format!("label=com.docker.compose.project={p}"),
            None => "label=com.docker.compose.project".to_owned(),
        };
        let ids = self.run(&["ps", "-a", "-q", "--no-trunc", "--filter", &filter])?;
        let ids: Vec<String> = String::from_utf8_lossy(&ids.stdout)
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut args = vec!["inspect", "--type", "container"];
        args.extend(ids.iter().map(String::as_str));
        // A container can vanish between ps and inspect; inspect then fails for that id only,
        // and still prints the others.
        let argv = self.argv(&args);
        let out = child::capture(&argv, &self.env)?;
        let inspected: Vec<Inspected> =
            serde_json::from_slice(&out.stdout).map_err(|e| Error::Unavailable {
                message: format!("cannot read `docker inspect` output: {e}"),
            })?;
        let mut containers: Vec<Container> = inspected
            .into_iter()
            .filter_map(|c| {
                let labels = c.config.labels.unwrap_or_default();
                if labels
                    .get("com.docker.compose.oneoff")
                    .is_some_and(|v| v == "True")
                {
                    return None;
                }
                // `docker run` of a compose-built image inherits the image's project and
                // service labels; only compose's own containers carry a container number.
                labels.get("com.docker.compose.container-number")?;
                Some(Container {
                    id: c.id,
                    project: labels.get("com.docker.compose.project")?.clone(),
                    service: labels
                        .get("com.docker.compose.service")
                        .cloned()
                        .unwrap_or_default(),
                    state: c.state.status,
                    health: c.state.health.map(|h| h.status),
                    exit_code: c.state.exit_code,
                    commit: labels.get(COMMIT_LABEL).cloned(),
                })
            })
            .collect();
        containers.sort_by(|a, b| (&a.project, &a.service).cmp(&(&b.project, &b.service)));
        Ok(containers)
    }

    /// The last `lines` lines a container printed (for a failed start's report).
    pub(crate) fn logs_tail(&self, id: &str, lines: u32) -> String {
        let argv = self.argv(&["logs", "--tail", &lines.to_string(), id]);
        match child::capture(&argv, &self.env) {
            Ok(out) => String::from_utf8_lossy(&out.stdout).into_owned() + &out.stderr,
            Err(e) => format!("(no logs: {e})"),
        }
    }

    /// Image references (`repo:tag`) matching `reference` (a docker filter pattern).
    pub(crate) fn images(&self, reference: &str) -> Result<Vec<String>, Error> {
        let filter = format!("reference={reference}");
        let out = self.run(&[
            "images",
            "--format",
            "{{.Repository}}:{{.Tag}}",
            "--filter",
            &filter,
        ])?;
        Ok(String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_owned)
            .collect())
    }

    /// The networks a container is attached to.
    pub(crate) fn networks_of(&self, id: &str) -> Vec<String> {
        let argv = self.argv(&[
            "inspect",
            "--format",
            "{{json .NetworkSettings.Networks}}",
            id,
        ]);
        child::capture(&argv, &self.env)
            .ok()
            .and_then(|out| {
                serde_json::from_slice::<BTreeMap<String, serde_json::Value>>(&out.stdout).ok()
            })
            .map(|networks| networks.into_keys().collect())
            .unwrap_or_default()
    }

    /// Best effort: remove what `args` names, ignoring refusals (an image still in use stays).
    pub(crate) fn best_effort(&self, args: &[&str]) {
        let _ = child::capture(&self.argv(args), &self.env);
    }

    /// Create the shared external network Traefik routes through, if it is missing.
    pub(crate) fn ensure_network(&self, name: &str) -> Result<(), Error> {
        let argv = self.argv(&["network", "inspect", name]);
        if child::capture(&argv, &self.env)?.status.success() {
            return Ok(());
        }
        let argv = self.argv(&["network", "create", name]);
        let out = child::capture(&argv, &self.env)?;
        if out.status.success() || out.stderr.contains("already exists") {
            Ok(())
        } else {
            Err(Error::Unavailable {
                message: format!("cannot create network `{name}`: {}", out.stderr.trim()),
            })
        }
    }
}
