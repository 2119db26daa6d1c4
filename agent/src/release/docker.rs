//! The one place Docker and compose calls run ([`Docker`], over a `Runner`), what a call that
//! ran and failed says, and what Docker says is running: the containers of compose projects,
//! read with one `docker ps` rather than trusted from our own state.

use std::io::Write;

use kelev_core::{CommitId, ContainerState, Health};

use crate::error::Error;
use crate::host::child::{self, Captured, Streamed};
use crate::release::compose_call::ComposeCall;
use crate::release::docker_call::DockerCall;
use crate::release::runner::Runner;

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Container {
    pub(crate) id: String,
    pub(crate) project: String,
    pub(crate) service: String,
    pub(crate) state: ContainerState,
    pub(crate) health: Option<Health>,
    pub(crate) exit_code: i64,
    pub(crate) commit: Option<String>,
}

impl Container {
    /// Whether it belongs to the release of `commit`: it carries that commit, or no commit at
    /// all (a service from an image that no commit changes is part of every release).
    pub(crate) fn serves(&self, commit: &CommitId) -> bool {
        self.commit.as_deref().is_none_or(|c| c == commit.as_str())
    }

    pub(crate) fn is_up(&self) -> bool {
        self.state == ContainerState::Running && matches!(self.health, None | Some(Health::Healthy))
    }
}

/// One line of [`DockerCall::ps`]; `None` for what is not a
/// container compose made (`docker run` of a compose-built image inherits the image's project
/// and service labels, but only compose's own containers carry a container number) and for
/// one-off containers, and for a one-shot service's, a task's or a `restart: "no"` one's
/// (`release/task.rs`): they run to their end, and are not what the project's state is made
/// of; and for a state Docker does not document.
fn parse_ps_line(line: &str) -> Option<Container> {
    let fields: Vec<&str> = line.split('\t').collect();
    let [id, state, status, project, service, commit, oneoff, number, one_shot] = fields[..] else {
        return None;
    };
    if number.is_empty() || oneoff == "True" || project.is_empty() || !one_shot.is_empty() {
        return None;
    }
    let health = if status.contains("(healthy)") {
        Some(Health::Healthy)
    } else if status.contains("(unhealthy)") {
        Some(Health::Unhealthy)
    } else if status.contains("(health: starting)") {
        Some(Health::Starting)
    } else {
        None
    };
    // "Exited (137) 2 seconds ago", "Restarting (1) 3 seconds ago"
    let exit_code = status
        .split_once('(')
        .and_then(|(_, rest)| rest.split_once(')'))
        .and_then(|(code, _)| code.parse().ok())
        .unwrap_or(0);
    Some(Container {
        id: id.to_owned(),
        project: project.to_owned(),
        service: service.to_owned(),
        state: ContainerState::parse(state)?,
        health,
        exit_code,
        commit: (!commit.is_empty()).then(|| commit.to_owned()),
    })
}

/// The one place a [`DockerCall`] or a [`ComposeCall`] is run, and what a failed one says.
pub(crate) struct Docker {
    runner: Box<dyn Runner>,
}

impl Docker {
    pub(crate) fn new(runner: Box<dyn Runner>) -> Docker {
        Docker { runner }
    }

    /// Run `call`; its output, whatever its status.
    pub(crate) fn capture(&self, call: &DockerCall) -> Result<Captured, Error> {
        self.runner.docker(call)
    }

    /// Run `call`; its output, or, when it ran and failed, which call, how and why.
    pub(crate) fn run(&self, call: &DockerCall) -> Result<Captured, Error> {
        let out = self.capture(call)?;
        if out.status.success() {
            Ok(out)
        } else {
            Err(self.failed(call, &out))
        }
    }

    /// Best effort: remove what `call` names, ignoring refusals (an image still in use stays).
    pub(crate) fn best_effort(&self, call: &DockerCall) {
        let _ = self.capture(call);
    }

    /// Run a compose call to its end, both streams captured, whatever its status.
    pub(crate) fn compose_capture(&self, call: &ComposeCall) -> Result<Captured, Error> {
        self.runner.compose_capture(call)
    }

    /// Run a compose call, its output copied to `out` as it comes; how it ended, whatever its
    /// status (a task's exit code is compose's).
    pub(crate) fn compose_streamed(
        &self,
        call: &ComposeCall,
        out: &mut dyn Write,
    ) -> Result<Streamed, Error> {
        self.runner.compose_stream(call, out)
    }

    /// Run a compose call, its output copied to `out` as it comes; when it ran and failed,
    /// which call, how, and the last line it said.
    pub(crate) fn compose(&self, call: &ComposeCall, out: &mut dyn Write) -> Result<(), Error> {
        let result = self.runner.compose_stream(call, out)?;
        if result.status.success() {
            return Ok(());
        }
        Err(Error::Compose {
            project: call.project().clone(),
            command: call.command(),
            status: child::describe(result.status),
            tail: result.tail,
        })
    }

    /// The error of `call`, which ran and failed as `out` says: the whole argv, the program
    /// as agent.json gives it (`docker -H ...`).
    pub(crate) fn failed(&self, call: &DockerCall, out: &Captured) -> Error {
        Error::Docker {
            call: child::render(&call.argv(self.runner.docker_program())),
            status: child::describe(out.status),
            stderr: out.stderr.clone(),
        }
    }

    /// Containers of compose project `project`, or of every compose project, one-off
    /// (`compose run`) containers and one-shot services' left out. One `docker ps`, its labels and status read from a
    /// template, rather than `ps` then `inspect`: this is on the path of every `status` and of
    /// every `unchanged` answer.
    pub(crate) fn containers(&self, project: Option<&str>) -> Result<Vec<Container>, Error> {
        let out = self.run(&DockerCall::ps(project))?;
        let mut containers: Vec<Container> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(parse_ps_line)
            .collect();
        containers.sort_by(|a, b| (&a.project, &a.service).cmp(&(&b.project, &b.service)));
        Ok(containers)
    }

    /// The last `lines` lines a container printed (for a failed start's report).
    pub(crate) fn logs_tail(&self, id: &str, lines: u32) -> String {
        match self.capture(&DockerCall::logs_tail(id, lines)) {
            Ok(out) => String::from_utf8_lossy(&out.stdout).into_owned() + &out.stderr,
            Err(e) => format!("(no logs: {e})"),
        }
    }

    /// Image references (`repo:tag`) matching `reference` (a docker filter pattern).
    pub(crate) fn images(&self, reference: &str) -> Result<Vec<String>, Error> {
        let out = self.run(&DockerCall::images(reference))?;
        Ok(String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_owned)
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ps_lines() {
        let c = parse_ps_line("abc\trunning\tUp 3 minutes (healthy)\tp\tweb\tdeadbeef\tFalse\t1\t")
            .unwrap();
        assert_eq!(
            (c.state, c.health, c.commit.as_deref()),
            (
                ContainerState::Running,
                Some(Health::Healthy),
                Some("deadbeef")
            )
        );
        let c =
            parse_ps_line("abc\texited\tExited (137) 2 seconds ago\tp\tweb\t\tFalse\t2\t").unwrap();
        assert_eq!((c.exit_code, c.health, c.commit), (137, None, None));
        let c =
            parse_ps_line("abc\trunning\tUp 1 second (health: starting)\tp\tweb\tx\tFalse\t1\t")
                .unwrap();
        assert_eq!(c.health, Some(Health::Starting));
        let c =
            parse_ps_line("abc\trunning\tUp 1 second (unhealthy)\tp\tweb\tx\tFalse\t1\t").unwrap();
        assert_eq!(c.health, Some(Health::Unhealthy));
        // `docker run` of a compose-built image, and `compose run`, are not the project's.
        assert!(parse_ps_line("abc\trunning\tUp 1 second\tp\tweb\t\t\t\t").is_none());
        assert!(parse_ps_line("abc\trunning\tUp 1 second\tp\tweb\t\tTrue\t1\t").is_none());
        assert!(
            parse_ps_line("abc\texited\tExited (0) 1 second ago\tp\tseed\t\tFalse\t1\ttrue")
                .is_none()
        );
        assert!(parse_ps_line("garbage").is_none());
        assert!(parse_ps_line("abc\tbogus\tUp 1 second\tp\tweb\t\tFalse\t1\t").is_none());
    }
}
