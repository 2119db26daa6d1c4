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

use std::io::Write;

use crate::error::Error;
use crate::host::signals;
use crate::pipeline::Pipeline;
use crate::release::release::{Override, Release};

impl Pipeline<'_> {
    /// Run `written`'s release tasks, in the order of their names, each to its end.
    pub(crate) fn release_tasks(
        &self,
        release: &Release,
        written: &Override,
        progress: &mut dyn Write,
    ) -> Result<(), Error> {
        let compose = release.compose(true);
        for task in written.tasks.iter().filter(|t| t.release) {
            let _ = writeln!(
                progress,
                "running release task `{}` of {} at {}",
                task.name, release.project.name, release.commit
            );
            if !task.depends_on.is_empty() {
                self.docker
                    .compose(&compose.start(&task.depends_on), progress)?;
            }
            let ran = self
                .docker
                .compose(&compose.run_task(&task.service), progress);
            signals::check()?;
            if let Err(Error::Compose { status, tail, .. }) = ran {
                return Err(Error::ReleaseTask {
                    project: release.project.name.clone(),
                    task: task.name.clone(),
                    status,
                    tail,
                });
            }
            ran?;
        }
        Ok(())
    }
}
