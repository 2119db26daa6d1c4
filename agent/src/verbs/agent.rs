//! What every verb works with once a command is permitted: the agent's config, its files,
//! Docker and compose, and the key it runs for.

use std::io::Write;
use std::time::Duration;

use kelev_core::{Manifest, Project, ProjectName};

use crate::error::{Error, Locked};
use crate::host::config::Config;
use crate::host::layout::Layout;
use crate::host::lock::{Lock, ProjectLock};
use crate::host::signals;
use crate::pipeline::Pipeline;
use crate::release::docker::Docker;
use crate::release::runner::Host;
use crate::wire::policy::KeyPolicy;

pub(crate) struct Agent {
    pub(crate) config: Config,
    pub(crate) layout: Layout,
    pub(crate) docker: Docker,
    key: Option<String>,
    /// `None` when run locally: no key policy applies.
    policy: Option<KeyPolicy>,
}

impl Agent {
    pub(crate) fn new(config: Config, key: Option<String>, policy: Option<KeyPolicy>) -> Agent {
        let layout = Layout::new(&config.root);
        let host = Host::new(
            &config.docker,
            config.compose.as_deref(),
            layout.compose_logs(),
        );
        Agent {
            layout,
            docker: Docker::new(Box::new(host)),
            config,
            key,
            policy,
        }
    }

    pub(crate) fn manifest(&self) -> Result<Manifest, Error> {
        Ok(Manifest::load(&self.config.manifest)?)
    }

    /// `name`'s entry in the manifest.
    pub(crate) fn project(&self, name: &ProjectName) -> Result<Project, Error> {
        self.manifest()?
            .project(name)
            .cloned()
            .ok_or_else(|| Error::UnknownProject {
                project: name.clone(),
            })
    }

    /// A project the agent has files for, or that the manifest names.
    pub(crate) fn known_project(&self, name: &ProjectName) -> Result<(), Error> {
        if self.layout.project(name).is_dir() || self.manifest()?.project(name).is_some() {
            Ok(())
        } else {
            Err(Error::UnknownProject {
                project: name.clone(),
            })
        }
    }

    /// The steps of a deploy, with what they work with.
    pub(crate) fn pipeline(&self) -> Pipeline<'_> {
        Pipeline {
            config: &self.config,
            layout: &self.layout,
            docker: &self.docker,
        }
    }

    /// Whether the key may see or touch `project` (always, locally).
    pub(crate) fn may_touch(&self, project: &ProjectName) -> bool {
        self.policy
            .as_ref()
            .is_none_or(|p| p.allows_project(project))
    }

    /// How every verb that switches what a project runs starts: its manifest entry (a project
    /// the manifest does not name is refused before any wait), its lock, and the alarm of
    /// `deploy_timeout_secs` from the moment the lock is held.
    pub(crate) fn take(
        &self,
        name: &ProjectName,
        verb: &str,
        progress: &mut dyn Write,
    ) -> Result<ProjectLock, Error> {
        let project = self.project(name)?;
        let lock = self.lock(name, verb, progress)?;
        signals::alarm(self.config.deploy_timeout_secs);
        Ok(ProjectLock::new(project, lock))
    }

    /// The project's lock alone, for verbs that change its files but run nothing long.
    pub(crate) fn lock(
        &self,
        project: &ProjectName,
        verb: &str,
        progress: &mut dyn Write,
    ) -> Result<Lock, Error> {
        Lock::acquire(
            &self.layout.lock(project),
            Locked::Project(project.clone()),
            &self.holder(verb),
            Duration::from_secs(self.config.lock_timeout_secs),
            progress,
        )
    }

    /// Who holds a lock, as a waiter is told.
    pub(crate) fn holder(&self, verb: &str) -> String {
        format!(
            "pid {} ({verb}, key {})",
            std::process::id(),
            self.key.as_deref().unwrap_or("local")
        )
    }
}
