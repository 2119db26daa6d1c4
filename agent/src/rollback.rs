//! rollback: back to the release that ran before the current one, from its kept checkout and
//! images, without building. The release rolled back from leaves the history, so a second
//! rollback goes one further back.

use std::io::Write;
use std::time::Instant;

use kelev_core::ProjectName;

use crate::agent::Agent;
use crate::audit::Trail;
use crate::command::CommitId;
use crate::compose::Release;
use crate::deploy::Report;
use crate::error::Error;
use crate::state::{Running, State};
use crate::timefmt;

impl Agent {
    pub(crate) fn rollback(
        &self,
        name: &ProjectName,
        progress: &mut dyn Write,
        trail: &mut Trail,
    ) -> Result<Report, Error> {
        let started = Instant::now();
        let (project, _lock) = self.take(name, "rollback", progress)?;
        let project = &project;
        let mut state = State::load(&self.layout, name)?;
        let refuse = |message: String| Error::Rollback {
            project: name.clone(),
            message,
        };
        let current = state
            .running
            .as_ref()
            .map(|r| r.commit.clone())
            .ok_or_else(|| refuse("nothing runs, so there is nothing to roll back from".into()))?;
        let target = state
            .history
            .iter()
            .rev()
            .filter(|c| **c != current)
            .filter_map(|c| CommitId::parse(c))
            .find(|c| self.layout.release(name, c).is_dir())
            .ok_or_else(|| refuse("no earlier release is kept on this host".into()))?;
        trail.commit = Some(target.to_string());
        let _ = writeln!(progress, "rolling {name} back from {current} to {target}");
        let release = Release::new(&self.layout, project, &target)?;
        // Today's routing and secrets, that release's code.
        let secrets = crate::secrets::Secrets::load(&self.layout, name)?;
        release.write_override(self.compose()?, &self.config.traefik, &secrets)?;
        let hash = self.mirror(project)?.content_hash(&target)?;
        self.start(project, &release, &state, None, progress)?;
        let before = state.clone();
        state.history.retain(|c| *c != current);
        state.record_running(Running {
            commit: target.to_string(),
            content_hash: hash.to_string(),
            deployed_at: timefmt::now(),
            compose_files: release.compose_files(),
            routing: self.routing(project, &secrets),
        });
        self.save_or_restore(project, &state, &before, &target, progress)?;
        self.layout.set_checkout(name, &target)?;
        Ok(Report {
            result: "rolled-back",
            project: name.clone(),
            commit: target,
            content_hash: hash,
            took: started.elapsed(),
        })
    }
}
