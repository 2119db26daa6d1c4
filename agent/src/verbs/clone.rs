//! clone: the pipeline's fetch and release directory, then `current` pointed at it, without
//! building or starting anything.

use std::io::Write;

use kelev_core::{CommitId, ProjectName};

use crate::error::Error;
use crate::host::lock::ProjectLock;
use crate::pipeline::fetch::fetch;
use crate::pipeline::record::point_current;
use crate::pipeline::release_dir::make_release_dir;
use crate::verbs::agent::Agent;
use crate::verbs::verb::{Io, Verb};
use crate::wire::grammar::{Args, GrammarError};
use crate::wire::spec::Spec;

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Clone {
    pub(crate) project: ProjectName,
    pub(crate) commit: Option<CommitId>,
}

impl Verb for Clone {
    const SPEC: Spec = Spec::new(
        "clone",
        "<project> [<commit>]",
        "fetch and check out, without building",
    );

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
        let commit = fetch_to_current(agent, &held, self.commit.as_ref(), io.out)?;
        let _ = writeln!(io.out, "cloned {} at {commit}", self.project);
        io.trail.commit = Some(commit);
        Ok(())
    }
}

/// Fetch `commit` (or the tip of the project's ref) into its release directory and point
/// `current` at it.
pub(crate) fn fetch_to_current(
    agent: &Agent,
    held: &ProjectLock,
    commit: Option<&CommitId>,
    progress: &mut dyn Write,
) -> Result<CommitId, Error> {
    let fetched = fetch(&agent.layout, held, commit, progress)?;
    make_release_dir(&agent.layout, &fetched.mirror, held, &fetched.commit)?;
    point_current(&agent.layout, held, &fetched.commit)?;
    Ok(fetched.commit)
}
