//! clone: fetch a commit and make it the checkout, without building or starting anything.

use std::io::Write;

use kelev_core::{CommitId, ProjectName};

use crate::error::Error;
use crate::host::lock::ProjectLock;
use crate::release::checkout;
use crate::verbs::agent::Agent;
use crate::verbs::verb::{Io, Verb};
use crate::wire::grammar::{Args, GrammarError};

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Clone {
    pub(crate) project: ProjectName,
    pub(crate) commit: Option<CommitId>,
}

impl Verb for Clone {
    fn parse(args: &mut Args) -> Result<Clone, GrammarError> {
        Ok(Clone {
            project: args.project()?,
            commit: args.optional_commit()?,
        })
    }

    fn project(&self) -> Option<&ProjectName> {
        Some(&self.project)
    }

    fn commit(&self) -> Option<&CommitId> {
        self.commit.as_ref()
    }

    fn run(&self, agent: &Agent, io: &mut Io) -> Result<(), Error> {
        let held = agent.take(&self.project, "clone", io.out)?;
        let commit = fetch(agent, &held, self.commit.as_ref(), io.out)?;
        let _ = writeln!(io.out, "cloned {} at {commit}", self.project);
        io.trail.commit = Some(commit);
        Ok(())
    }
}

/// Fetch `commit` (or the tip of the project's ref) into a release and make it the checkout.
pub(crate) fn fetch(
    agent: &Agent,
    held: &ProjectLock,
    commit: Option<&CommitId>,
    progress: &mut dyn Write,
) -> Result<CommitId, Error> {
    let project = held.project();
    checkout::remove_partial_releases(&agent.layout, held);
    let mirror = checkout::mirror(&agent.layout, project)?;
    let commit = mirror.resolve(commit, progress)?;
    checkout::make_release(&agent.layout, &mirror, held, &commit)?;
    agent.layout.set_checkout(&project.name, &commit)?;
    Ok(commit)
}
