//! remove: take down a project that left the manifest. Its containers and the agent's files for
//! it go; its data directory and named volumes stay.

use kelev_core::ProjectName;

use crate::error::Error;
use crate::release::compose_call::ComposeProject;
use crate::verbs::agent::Agent;
use crate::verbs::verb::{Io, Verb};
use crate::wire::grammar::{Args, GrammarError};
use crate::wire::spec::Spec;

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Remove {
    pub(crate) project: ProjectName,
}

impl Verb for Remove {
    const SPEC: Spec = Spec::new(
        "remove",
        "<project>",
        "take down a project no longer in the manifest",
    );

    fn parse(args: &mut Args) -> Result<Remove, GrammarError> {
        Ok(Remove {
            project: args.project()?,
        })
    }

    fn project(&self) -> Option<&ProjectName> {
        Some(&self.project)
    }

    fn run(&self, agent: &Agent, io: &mut Io) -> Result<(), Error> {
        let name = &self.project;
        if agent.manifest()?.project(name).is_some() {
            return Err(Error::StillInManifest {
                project: name.clone(),
            });
        }
        let _lock = agent.lock(name, "remove", io.out)?;
        agent
            .docker
            .compose(&ComposeProject::by_name(name).down(), io.out)?;
        // Renamed aside first (a name no project can have), then deleted: a run that dies
        // halfway leaves no half project behind under the project's name.
        let dir = agent.layout.project(name);
        if dir.exists() {
            let doomed = agent
                .layout
                .projects()
                .join(format!(".removing-{name}-{}", std::process::id()));
            std::fs::rename(&dir, &doomed).map_err(Error::io(&dir))?;
            std::fs::remove_dir_all(&doomed).map_err(Error::io(&doomed))?;
        }
        let _ = writeln!(
            io.out,
            "removed {name}; its data stays in `{}`",
            agent.layout.data(name).display()
        );
        Ok(())
    }
}
