//! The compose program: which one (the Docker CLI plugin, or `docker-compose`), the argv of a
//! call on a project, and what a failed call says.

use std::io::Write;
use std::path::{Path, PathBuf};

use kelev_core::{Project, ProjectName};

use crate::error::{ComposeProblem, Error};
use crate::host::child;
use crate::host::config::Config;

/// The compose program, resolved once per invocation.
pub(crate) struct Compose {
    argv: Vec<String>,
}

/// Where the Docker CLI looks for plugins after `~/.docker/cli-plugins` (docker/cli,
/// `cli-plugins/manager`).
const PLUGIN_DIRS: [&str; 4] = [
    "/usr/local/lib/docker/cli-plugins",
    "/usr/local/libexec/docker/cli-plugins",
    "/usr/lib/docker/cli-plugins",
    "/usr/libexec/docker/cli-plugins",
];

impl Compose {
    /// `compose` from agent.json, else `docker compose` if the plugin is installed where the
    /// Docker CLI looks for it (or, when it is not there, answers `version`), else
    /// `docker-compose`. The look costs a few `stat`s; the `version` probe a Go start-up.
    pub(crate) fn resolve(config: &Config) -> Result<Compose, Error> {
        if let Some(argv) = &config.compose {
            return Ok(Compose { argv: argv.clone() });
        }
        let mut plugin = config.docker.clone();
        plugin.push("compose".into());
        let env = child::base_env();
        let home = env
            .iter()
            .find(|(k, _)| k == "HOME")
            .map(|(_, v)| Path::new(v).join(".docker/cli-plugins"));
        let installed = home
            .into_iter()
            .chain(PLUGIN_DIRS.iter().map(PathBuf::from))
            .any(|dir| dir.join("docker-compose").is_file());
        if installed {
            return Ok(Compose { argv: plugin });
        }
        let mut probe = plugin.clone();
        probe.push("version".into());
        let answers = child::capture(&probe, &env).is_ok_and(|out| out.status.success());
        Ok(Compose {
            argv: if answers {
                plugin
            } else {
                vec!["docker-compose".into()]
            },
        })
    }

    pub(crate) fn argv(
        &self,
        project: &str,
        files: &[&Path],
        dir: Option<&Path>,
        args: &[&str],
    ) -> Vec<String> {
        let mut argv = self.argv.clone();
        argv.extend(["-p".into(), project.into()]);
        if let Some(dir) = dir {
            argv.extend(["--project-directory".into(), dir.display().to_string()]);
        }
        for file in files {
            argv.extend(["-f".into(), file.display().to_string()]);
        }
        argv.extend(args.iter().map(|s| s.to_string()));
        argv
    }

    /// Run a compose subcommand on a project by name alone (logs, down).
    pub(crate) fn by_name(
        &self,
        project: &ProjectName,
        args: &[&str],
        log_dir: &Path,
        out: &mut dyn Write,
    ) -> Result<(), Error> {
        let argv = self.argv(project.as_str(), &[], None, args);
        let env = child::base_env();
        let result = child::stream(&argv, &env, Path::new("/"), log_dir, out)?;
        check(project, args, result)
    }
}

pub(crate) fn check(
    project: &ProjectName,
    args: &[&str],
    result: child::Streamed,
) -> Result<(), Error> {
    if result.status.success() {
        return Ok(());
    }
    Err(Error::Compose {
        project: project.clone(),
        command: format!("compose {}", args.join(" ")),
        status: child::describe(result.status),
        tail: result.tail,
    })
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
