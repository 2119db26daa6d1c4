//! run: one task of a project (`release/task.rs`), invoked by its name, from the running
//! release's images with the project's environment; its output streamed, its container
//! removed afterwards, bounded by `deploy_timeout_secs`. A task that exits non-zero makes the
//! agent exit 1 with ``error: task `NAME` exited with code N``; the audit log keeps the task's
//! name and exit code.

use std::os::unix::process::ExitStatusExt;

use kelev_core::ProjectName;

use crate::error::Error;
use crate::host::state::State;
use crate::release::release::Release;
use crate::verbs::agent::Agent;
use crate::verbs::verb::{Io, Verb};
use crate::wire::grammar::{Args, GrammarError};
use crate::wire::spec::{Grant, Spec};

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Run {
    pub(crate) project: ProjectName,
    pub(crate) task: String,
}

impl Verb for Run {
    const SPEC: Spec = Spec::new(
        "run",
        "<project> <task>",
        "run a task the project declares, from the running release",
    )
    .grant(Grant::Named);

    fn parse(args: &mut Args) -> Result<Run, GrammarError> {
        Ok(Run {
            project: args.project()?,
            task: args.task()?,
        })
    }

    fn project(&self) -> Option<&ProjectName> {
        Some(&self.project)
    }

    fn run(&self, agent: &Agent, io: &mut Io) -> Result<(), Error> {
        io.trail.task = Some(self.task.clone());
        // Under the lock: the release it runs from stays the running one until it ends.
        let held = agent.take(&self.project, "run", io.out)?;
        let project = held.project();
        let state = State::load(&agent.layout, &project.name)?;
        let Some(running) = &state.running else {
            return Err(Error::NothingRuns {
                project: project.name.clone(),
            });
        };
        io.trail.commit = Some(running.commit.clone());
        let release = Release::from_files(
            &agent.layout,
            project,
            &running.commit,
            &running.compose_files,
        )?;
        let tasks = release.tasks(&agent.docker)?;
        let Some(task) = tasks.iter().find(|t| t.name == self.task) else {
            let has: Vec<&str> = tasks.iter().map(|t| t.name.as_str()).collect();
            return Err(Error::UnknownTask {
                project: project.name.clone(),
                task: self.task.clone(),
                has: if has.is_empty() {
                    "none".into()
                } else {
                    has.join(", ")
                },
            });
        };
        let ran = agent.pipeline().run_task(&release, task, io.out)?;
        let status = ran.status;
        io.trail.task_exit_code = status.code();
        match (status.code(), status.signal()) {
            (Some(0), _) => Ok(()),
            (Some(code), _) => Err(Error::TaskExited {
                task: self.task.clone(),
                status: format!("code {code}"),
            }),
            (None, signal) => Err(Error::TaskExited {
                task: self.task.clone(),
                status: format!("signal {}", signal.unwrap_or(0)),
            }),
        }
    }
}
