//! Step 3b, release tasks: after the build, before anything starts, each release task of the
//! new release (`release/task.rs`) runs once from the new images, with the project's secrets,
//! networks and volumes (all from the override, never on argv), the services it depends on
//! started first if they are not running (a first deploy). Its output is streamed like the
//! build's. A task that exits non-zero (or outlives `deploy_timeout_secs`) stops the deploy
//! here: the running release, `state.json` and `current` are untouched.
//!
//! Only deploy and rebuild run them. A rollback or a restart for new secrets starts a release
//! whose tasks ran when it was built, against data that later releases may since have
//! migrated further; running them again would be a second migration, not a return. So a
//! migration must stay compatible with the release still serving while it runs and with the
//! one before (expand, then contract: add a column in one release, drop the old one in a
//! later one).
//!
//! [`Pipeline::run_task`] is one run of one task, a release task's or `run`'s.

use std::io::Write;

use crate::error::Error;
use crate::host::child::{self, Streamed};
use crate::host::signals;
use crate::pipeline::Pipeline;
use crate::release::docker_call::DockerCall;
use crate::release::release::{Override, Release};
use crate::release::task::Task;

/// The name of `task`'s container in this agent's run: `<project>-<task>-<pid>`, so that one
/// cut short can be removed by name.
fn task_container(release: &Release, task: &Task) -> String {
    format!(
        "{}-{}-{}",
        release.project.name,
        task.name,
        std::process::id()
    )
}

impl Pipeline<'_> {
    /// Run `written`'s release tasks, in the order of their names, each to its end.
    pub(crate) fn release_tasks(
        &self,
        release: &Release,
        written: &Override,
        progress: &mut dyn Write,
    ) -> Result<(), Error> {
        for task in written.tasks.iter().filter(|t| t.release) {
            let _ = writeln!(
                progress,
                "running release task `{}` of {} at {}",
                task.name, release.project.name, release.commit
            );
            let ran = self.run_task(release, task, progress)?;
            if !ran.status.success() {
                return Err(Error::ReleaseTask {
                    project: release.project.name.clone(),
                    task: task.name.clone(),
                    status: child::describe(ran.status),
                    tail: ran.tail,
                });
            }
        }
        Ok(())
    }

    /// One run of `task` from `release`'s images, its output streamed to `progress`, its
    /// container removed afterwards; the services it depends on started first if they are not
    /// running. How it ended, whatever its status.
    pub(crate) fn run_task(
        &self,
        release: &Release,
        task: &Task,
        progress: &mut dyn Write,
    ) -> Result<Streamed, Error> {
        let compose = release.compose(true);
        if !task.depends_on.is_empty() {
            self.docker
                .compose(&compose.start(&task.depends_on), progress)?;
        }
        let container = task_container(release, task);
        let ran = self
            .docker
            .compose_streamed(&compose.run_task(&task.service, &container), progress);
        let interrupted = signals::check();
        if ran.is_err() || interrupted.is_err() {
            // Compose stopped midway (the deploy timeout, a stop request) leaves the container
            // running: it goes with the run.
            self.docker.best_effort(&DockerCall::remove(&container));
        }
        interrupted?;
        ran
    }
}
