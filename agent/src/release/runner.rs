//! Where a [`DockerCall`] or [`ComposeCall`] runs: on this host ([`Host`], through
//! `host::child`), or, in the agent's own tests, in a `Recorder` that keeps the calls in order
//! and answers them, so that a rollout's sequence of calls is tested without Docker.

use std::cell::OnceCell;
use std::io::Write;
use std::path::PathBuf;

use crate::error::Error;
use crate::host::child::{self, Captured, Streamed};
use crate::release::compose;
use crate::release::compose_call::ComposeCall;
use crate::release::docker_call::DockerCall;

/// Runs calls. Each method fails only when the call could not run or the engine is out of
/// reach; a call that ran and failed is an `Ok` whose status says so.
pub(crate) trait Runner {
    /// The `docker` program and its options (agent.json's `docker`), for what a failure says.
    fn docker_program(&self) -> &[String];
    /// Run a `docker` call to its end, both streams captured.
    fn docker(&self, call: &DockerCall) -> Result<Captured, Error>;
    /// Run a compose call to its end, both streams captured (`config`).
    fn compose_capture(&self, call: &ComposeCall) -> Result<Captured, Error>;
    /// Run a compose call with its output copied to `out` as it comes (build, up).
    fn compose_stream(&self, call: &ComposeCall, out: &mut dyn Write) -> Result<Streamed, Error>;
}

/// This host's `docker` and compose, with the base environment of `host::child`.
pub(crate) struct Host {
    docker: Vec<String>,
    /// agent.json's `compose`, if set.
    configured_compose: Option<Vec<String>>,
    /// The compose program, resolved at its first call.
    compose: OnceCell<Vec<String>>,
    env: Vec<(String, String)>,
    /// Where streamed calls write the output the agent follows.
    log_dir: PathBuf,
}

impl Host {
    pub(crate) fn new(
        docker: &[String],
        configured_compose: Option<&[String]>,
        log_dir: PathBuf,
    ) -> Host {
        Host {
            docker: docker.to_vec(),
            configured_compose: configured_compose.map(<[String]>::to_vec),
            compose: OnceCell::new(),
            env: child::base_env(),
            log_dir,
        }
    }

    fn compose_program(&self) -> &[String] {
        self.compose.get_or_init(|| {
            compose::resolve(&self.docker, self.configured_compose.as_deref(), &self.env)
        })
    }

    fn compose_env(&self, call: &ComposeCall) -> Vec<(String, String)> {
        let mut env = self.env.clone();
        env.extend(call.env().iter().cloned());
        env
    }
}

impl Runner for Host {
    fn docker_program(&self) -> &[String] {
        &self.docker
    }

    fn docker(&self, call: &DockerCall) -> Result<Captured, Error> {
        child::capture(&call.argv(&self.docker), &self.env)
    }

    fn compose_capture(&self, call: &ComposeCall) -> Result<Captured, Error> {
        let argv = call.argv(self.compose_program());
        child::capture(&argv, &self.compose_env(call))
    }

    fn compose_stream(&self, call: &ComposeCall, out: &mut dyn Write) -> Result<Streamed, Error> {
        let argv = call.argv(self.compose_program());
        let env = self.compose_env(call);
        child::stream(&argv, &env, &call.dir(), &self.log_dir, out)
    }
}

/// For tests: every call, as a reader would type it, in the order made; each answered by a
/// function of that line and the lines before it.
#[cfg(test)]
type Answers = Box<dyn Fn(&str, &[String]) -> Answer>;

#[cfg(test)]
pub(crate) struct Recorder {
    docker: Vec<String>,
    calls: std::cell::RefCell<Vec<String>>,
    answer: Answers,
}

/// What a recorded call answers: its exit code and what it printed.
#[cfg(test)]
#[derive(Default)]
pub(crate) struct Answer {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

#[cfg(test)]
impl Answer {
    pub(crate) fn out(stdout: impl Into<String>) -> Answer {
        Answer {
            stdout: stdout.into(),
            ..Answer::default()
        }
    }
}

#[cfg(test)]
impl Recorder {
    pub(crate) fn new(answer: impl Fn(&str, &[String]) -> Answer + 'static) -> Recorder {
        Recorder {
            docker: vec!["docker".into()],
            calls: std::cell::RefCell::new(Vec::new()),
            answer: Box::new(answer),
        }
    }

    /// The calls made so far.
    pub(crate) fn calls(&self) -> Vec<String> {
        self.calls.borrow().clone()
    }

    fn run(&self, line: String) -> Captured {
        use std::os::unix::process::ExitStatusExt;
        let answer = (self.answer)(&line, &self.calls.borrow());
        self.calls.borrow_mut().push(line);
        Captured {
            status: std::process::ExitStatus::from_raw(answer.code << 8),
            stdout: answer.stdout.into_bytes(),
            stderr: answer.stderr,
        }
    }
}

#[cfg(test)]
impl Runner for std::rc::Rc<Recorder> {
    fn docker_program(&self) -> &[String] {
        &self.docker
    }

    fn docker(&self, call: &DockerCall) -> Result<Captured, Error> {
        Ok(self.run(call.to_string()))
    }

    fn compose_capture(&self, call: &ComposeCall) -> Result<Captured, Error> {
        Ok(self.run(call.to_string()))
    }

    fn compose_stream(&self, call: &ComposeCall, _: &mut dyn Write) -> Result<Streamed, Error> {
        let out = self.run(call.to_string());
        Ok(Streamed {
            status: out.status,
            tail: out.stderr,
        })
    }
}
