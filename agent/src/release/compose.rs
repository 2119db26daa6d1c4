//! The compose program (the Docker CLI plugin, or `docker-compose`) and a release's compose
//! file.

use std::path::{Path, PathBuf};

use kelev_core::Project;

use crate::error::{ComposeProblem, Error};
use crate::host::child;

/// Where the Docker CLI looks for plugins after `~/.docker/cli-plugins` (docker/cli,
/// `cli-plugins/manager`).
const PLUGIN_DIRS: [&str; 4] = [
    "/usr/local/lib/docker/cli-plugins",
    "/usr/local/libexec/docker/cli-plugins",
    "/usr/lib/docker/cli-plugins",
    "/usr/libexec/docker/cli-plugins",
];

/// The compose program: `configured` (agent.json's `compose`), else `docker compose` if the
/// plugin is installed where the Docker CLI looks for it (or, when it is not there, answers
/// `version`), else `docker-compose`. The look costs a few `stat`s; the `version` probe a Go
/// start-up.
pub(crate) fn resolve(
    docker: &[String],
    configured: Option<&[String]>,
    env: &[(String, String)],
) -> Vec<String> {
    if let Some(argv) = configured {
        return argv.to_vec();
    }
    let mut plugin = docker.to_vec();
    plugin.push("compose".into());
    let home = env
        .iter()
        .find(|(k, _)| k == "HOME")
        .map(|(_, v)| Path::new(v).join(".docker/cli-plugins"));
    let installed = home
        .into_iter()
        .chain(PLUGIN_DIRS.iter().map(PathBuf::from))
        .any(|dir| dir.join("docker-compose").is_file());
    if installed {
        return plugin;
    }
    let mut probe = plugin.clone();
    probe.push("version".into());
    if child::capture(&probe, env).is_ok_and(|out| out.status.success()) {
        plugin
    } else {
        vec!["docker-compose".into()]
    }
}

const DEFAULT_FILES: [&str; 4] = [
    "compose.yaml",
    "compose.yml",
    "docker-compose.yaml",
    "docker-compose.yml",
];

/// The release's compose file: the manifest's `compose_file`, else the first of compose's own
/// default names; a regular file, not a link.
pub(crate) fn find_compose_file(project: &Project, dir: &Path) -> Result<PathBuf, Error> {
    let candidates: Vec<&str> = match &project.compose_file {
        Some(file) => vec![file.as_str()],
        None => DEFAULT_FILES.to_vec(),
    };
    for name in &candidates {
        let path = dir.join(name);
        match std::fs::symlink_metadata(&path) {
            Ok(meta) if meta.is_file() => return Ok(path),
            Ok(_) => {
                return Err(Error::ComposeFile {
                    project: project.name.clone(),
                    problem: ComposeProblem::NotRegular {
                        name: (*name).to_owned(),
                    },
                })
            }
            Err(_) => continue,
        }
    }
    Err(Error::ComposeFile {
        project: project.name.clone(),
        problem: ComposeProblem::Missing {
            looked_for: candidates.join(", "),
        },
    })
}
