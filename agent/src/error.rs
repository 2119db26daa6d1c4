//! Every way an invocation can fail, and the exit code each one maps to (docs/commands.md).
//! Variants carry what went wrong as fields; the words are in the `#[error]` lines alone.

use std::path::PathBuf;

use kelev_core::{CommitId, ExitCode, ManifestError, ProjectName};

pub(crate) use crate::compose_problem::ComposeProblem;
use crate::wire::grammar::GrammarError;
use crate::wire::policy::Denied;

#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    #[error("{0}")]
    Grammar(#[from] GrammarError),
    #[error(
        "words on the command line and SSH_ORIGINAL_COMMAND together: the authorized_keys \
         line must run `kelev-agent --key ID` with no words"
    )]
    WordsAndOriginalCommand,
    #[error("not permitted: {0}")]
    Denied(#[from] Denied),
    #[error("cannot write the output: {source}")]
    Output { source: std::io::Error },
    #[error(
        "not permitted: kelev-agent runs as `{owner}`, the owner of `{}`, not as `{user}`: \
         what it made would lock `{owner}` out\nhint: sudo -u {owner} kelev-agent ...",
        .root.display()
    )]
    NotOwner {
        root: PathBuf,
        owner: String,
        user: String,
    },
    #[error("cannot read config `{path}`: {source}")]
    ConfigRead {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config `{path}`: {problem}")]
    Config { path: PathBuf, problem: String },
    #[error("{0}")]
    Manifest(#[from] ManifestError),
    #[error("project `{project}` is not in the manifest")]
    UnknownProject { project: ProjectName },
    #[error("project `{project}`: is still in the manifest\nhint: install a manifest without it (`manifest-put`) first")]
    StillInManifest { project: ProjectName },
    #[error("project `{project}`: has no checkout yet\nhint: run `clone {project}` or `deploy {project}` first")]
    NoCheckout { project: ProjectName },
    #[error("project `{project}`: {problem}")]
    ComposeFile {
        project: ProjectName,
        problem: ComposeProblem,
    },
    #[error("project `{project}`: secrets file `{}`: {problem}", .path.display())]
    SecretsFile {
        project: ProjectName,
        path: PathBuf,
        problem: String,
    },
    #[error("project `{project}`: secrets on stdin: {problem}")]
    SecretsInput {
        project: ProjectName,
        problem: String,
    },
    #[error("project `{project}`: registry login on stdin: {problem}")]
    RegistryLogin {
        project: ProjectName,
        problem: String,
    },
    #[error("state of project `{project}` at `{}` is unreadable: {problem}\nhint: remove the file and run `rebuild {project}`", .path.display())]
    State {
        project: ProjectName,
        path: PathBuf,
        problem: String,
    },
    #[error(
        "could not start `{program}`: {source}{}",
        if .source.kind() == std::io::ErrorKind::NotFound {
            "\nhint: install it; for Docker and compose, agent.json (`docker`, `compose`) may name its path"
        } else {
            ""
        }
    )]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    #[error("docker is unreachable: {line}")]
    DockerUnreachable { line: String },
    /// A `docker` call that ran and failed: which call, its status, the end of what it said.
    #[error("`{call}` failed ({status}){}", stderr_tail(.stderr))]
    Docker {
        call: String,
        status: String,
        stderr: String,
    },
    #[error("{what} is locked by {holder}; gave up after {waited_secs}s")]
    LockTimeout {
        what: Locked,
        holder: String,
        waited_secs: u64,
    },
    #[error("project `{project}`: git {action} failed: {message}")]
    Git {
        project: ProjectName,
        action: &'static str,
        /// libgit2's own words.
        message: String,
    },
    #[error("project `{project}`: git fetch failed: commit `{commit}` is not in `{repo}`")]
    CommitMissing {
        project: ProjectName,
        commit: CommitId,
        repo: String,
    },
    #[error("project `{project}`: git fetch failed: `{repo}` has no branch or tag `{git_ref}`")]
    RefMissing {
        project: ProjectName,
        repo: String,
        git_ref: String,
    },
    #[error("project `{project}`: `{command}` failed ({status}){}", tail_hint(.tail))]
    Compose {
        project: ProjectName,
        command: String,
        status: String,
        tail: String,
    },
    /// A release task ran and failed: the deploy stops before anything started.
    #[error("project `{project}`: release task `{task}` failed ({status}){}", last_lines(.tail))]
    ReleaseTask {
        project: ProjectName,
        task: String,
        status: String,
        tail: String,
    },
    /// `run`: the task ran and exited non-zero (its output was streamed).
    #[error("task `{task}` exited with {status}")]
    TaskExited {
        task: String,
        /// `code 3`, or `signal 9`.
        status: String,
    },
    #[error("project `{project}`: has no task `{task}` (it has: {has})")]
    UnknownTask {
        project: ProjectName,
        task: String,
        has: String,
    },
    #[error("project `{project}`: nothing runs, so no task can run from its release\nhint: run `deploy {project}` first")]
    NothingRuns { project: ProjectName },
    #[error("project `{project}`: the new release did not come up: {failed}")]
    Unhealthy {
        project: ProjectName,
        /// Each failed container, as `` `web` exited with code 1 ``.
        failed: String,
    },
    #[error(
        "project `{project}`: the new release did not come up: not up after {secs}s: {waiting}"
    )]
    NotUp {
        project: ProjectName,
        secs: u64,
        waiting: String,
    },
    #[error(
        "project `{project}`: Traefik did not route to the new release within {secs}s: \
         `{service}@docker` lists {listed}, expected {wanted}\nhint: `docker logs` of Traefik \
         says why (a label it refused, a router that conflicts with another project's)"
    )]
    NotRouted {
        project: ProjectName,
        service: String,
        secs: u64,
        wanted: String,
        listed: String,
    },
    #[error("project `{project}`: nothing runs, so there is nothing to roll back from")]
    NothingToRollBack { project: ProjectName },
    #[error("project `{project}`: no earlier release is kept on this host")]
    NoEarlierRelease { project: ProjectName },
    #[error("I/O error at `{}`: {source}", .path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("interrupted by {signal}; the previous release stays active")]
    Interrupted { signal: &'static str },
    #[error("{failed} of {total} projects failed")]
    RebuildAll { failed: usize, total: usize },
}

/// What a lock that could not be had guards.
#[derive(Debug)]
pub(crate) enum Locked {
    Project(ProjectName),
    Manifest,
    Network(String),
}

impl std::fmt::Display for Locked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Locked::Project(project) => write!(f, "project `{project}`"),
            Locked::Manifest => f.write_str("the manifest"),
            Locked::Network(network) => write!(f, "the Traefik network `{network}`"),
        }
    }
}

/// How many of a failed release task's last lines its error shows.
const TASK_TAIL_LINES: usize = 10;

/// The last lines a release task printed, below the error's first line.
fn last_lines(tail: &str) -> String {
    let lines: Vec<&str> = tail.lines().filter(|l| !l.trim().is_empty()).collect();
    if lines.is_empty() {
        return String::new();
    }
    let from = lines.len().saturating_sub(TASK_TAIL_LINES);
    format!("; its last lines:\n{}", lines[from..].join("\n"))
}

fn tail_hint(tail: &str) -> String {
    match tail.lines().rev().find(|line| !line.trim().is_empty()) {
        Some(last) => format!(": {}", last.trim()),
        None => String::new(),
    }
}

/// How many of a failed `docker` call's last stderr lines its error carries: Docker says what
/// went wrong in one line or two (`Error response from daemon: ...`, then `Error: failed to
/// ...`), a usage error in three.
const STDERR_TAIL_LINES: usize = 3;

/// The last non-empty lines of a failed call's stderr, on one line (the first line of an error
/// is what `deploy --json` and the audit keep).
fn stderr_tail(stderr: &str) -> String {
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect();
    match &lines[lines.len().saturating_sub(STDERR_TAIL_LINES)..] {
        [] => String::new(),
        tail => format!(": {}", tail.join("; ")),
    }
}

impl Error {
    pub(crate) fn exit_code(&self) -> ExitCode {
        match self {
            Error::Grammar(_) | Error::WordsAndOriginalCommand => ExitCode::Usage,
            Error::Denied(_) | Error::NotOwner { .. } => ExitCode::NotPermitted,
            Error::Output { .. } => ExitCode::Output,
            Error::ConfigRead { .. }
            | Error::Config { .. }
            | Error::Manifest(_)
            | Error::UnknownProject { .. }
            | Error::StillInManifest { .. }
            | Error::NoCheckout { .. }
            | Error::ComposeFile { .. }
            | Error::SecretsFile { .. }
            | Error::SecretsInput { .. }
            | Error::RegistryLogin { .. }
            | Error::UnknownTask { .. }
            | Error::NothingRuns { .. }
            | Error::State { .. } => ExitCode::Data,
            Error::Spawn { .. } | Error::DockerUnreachable { .. } => ExitCode::Unavailable,
            Error::LockTimeout { .. } => ExitCode::TryAgain,
            Error::Git { .. }
            | Error::CommitMissing { .. }
            | Error::RefMissing { .. }
            | Error::Docker { .. }
            | Error::Compose { .. }
            | Error::ReleaseTask { .. }
            | Error::TaskExited { .. }
            | Error::Unhealthy { .. }
            | Error::NotUp { .. }
            | Error::NotRouted { .. }
            | Error::NothingToRollBack { .. }
            | Error::NoEarlierRelease { .. }
            | Error::Io { .. }
            | Error::Interrupted { .. }
            | Error::RebuildAll { .. } => ExitCode::Failed,
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { path, source }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_docker_call_that_ran_and_failed_says_which_how_and_why() {
        let error = Error::Docker {
            call: "docker start 0123abcd".into(),
            status: "exit code 1".into(),
            stderr: "Error response from daemon: No such container: 0123abcd\n\
                     Error: failed to start containers: 0123abcd\n"
                .into(),
        };
        assert_eq!(
            error.to_string(),
            "`docker start 0123abcd` failed (exit code 1): Error response from daemon: No such \
             container: 0123abcd; Error: failed to start containers: 0123abcd"
        );
        assert_eq!(error.exit_code(), ExitCode::Failed);
        let usage = Error::Docker {
            call: "docker ps --bogus".into(),
            status: "exit code 125".into(),
            stderr: "unknown flag: --bogus\n\nUsage:  docker ps [OPTIONS]\n\n\
                     Run 'docker ps --help' for more information\n"
                .into(),
        };
        assert_eq!(
            usage.to_string(),
            "`docker ps --bogus` failed (exit code 125): unknown flag: --bogus; Usage:  docker ps \
             [OPTIONS]; Run 'docker ps --help' for more information"
        );
        let silent = Error::Docker {
            call: "docker network inspect web".into(),
            status: "exit code 1".into(),
            stderr: "\n".into(),
        };
        assert_eq!(
            silent.to_string(),
            "`docker network inspect web` failed (exit code 1)"
        );
    }

    #[test]
    fn only_an_engine_out_of_reach_is_unavailable() {
        let unreachable = Error::DockerUnreachable {
            line: "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the \
                   docker daemon running?"
                .into(),
        };
        assert_eq!(
            unreachable.to_string(),
            "docker is unreachable: Cannot connect to the Docker daemon at \
             unix:///var/run/docker.sock. Is the docker daemon running?"
        );
        assert_eq!(unreachable.exit_code(), ExitCode::Unavailable);
        let missing = Error::Spawn {
            program: "/nonexistent/docker ps".into(),
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        };
        assert_eq!(missing.exit_code(), ExitCode::Unavailable);
    }
}
