//! rebuild: build the checkout again and switch to it, whatever runs.

use std::io::Write;
use std::time::Instant;

use kelev_core::{DeployResult, ProjectName};

use crate::error::Error;
use crate::host::lock::ProjectLock;
use crate::host::state::State;
use crate::pipeline::fetch::open_mirror;
use crate::pipeline::record::prune;
use crate::pipeline::switch::Switch;
use crate::release::release::Release;
use crate::verbs::agent::Agent;
use crate::verbs::report::Report;
use crate::verbs::verb::{Io, Verb};
use crate::wire::grammar::{Args, GrammarError};
use crate::wire::spec::{Opt, Spec};

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Rebuild {
    pub(crate) project: ProjectName,
    /// Recreate every container, unchanged services too.
    pub(crate) recreate_all: bool,
}

impl Verb for Rebuild {
    const SPEC: Spec = Spec::new(
        "rebuild",
        "<project> [--force-recreate]",
        "build and (re)start the checkout",
    )
    .options(&[Opt::flag("--force-recreate")]);

    fn parse(args: &mut Args) -> Result<Rebuild, GrammarError> {
        Ok(Rebuild {
            project: args.project()?,
            recreate_all: args.flag("--force-recreate"),
        })
    }

    fn project(&self) -> Option<&ProjectName> {
        Some(&self.project)
    }

    fn run(&self, agent: &Agent, io: &mut Io) -> Result<(), Error> {
        let held = agent.take(&self.project, "rebuild", io.out)?;
        io.trail.commit = agent.layout.checkout(&self.project);
        let report = rebuild(agent, &held, self.recreate_all, io.out)?;
        let _ = writeln!(io.out, "{}", report.line());
        Ok(())
    }
}

/// Build the checkout of `held`'s project and switch to it: the pipeline from the build on.
pub(crate) fn rebuild(
    agent: &Agent,
    held: &ProjectLock,
    recreate_all: bool,
    progress: &mut dyn Write,
) -> Result<Report, Error> {
    let started = Instant::now();
    let project = held.project();
    let name = &project.name;
    let commit = agent
        .layout
        .checkout(name)
        .ok_or_else(|| Error::NoCheckout {
            project: name.clone(),
        })?;
    let hash = open_mirror(&agent.layout, project)?.content_hash(&commit)?;
    let mut state = State::load(&agent.layout, name)?;
    let release = Release::new(&agent.layout, project, &commit)?;
    let switch = Switch {
        recreate_all,
        ..Switch::building(&release, hash.clone())
    };
    agent
        .pipeline()
        .switch(held, switch, &mut state, progress)?;
    prune(&agent.config, &agent.layout, &agent.docker, held, &state);
    Ok(Report {
        result: DeployResult::Rebuilt,
        project: name.clone(),
        commit,
        content_hash: hash,
        took: started.elapsed(),
    })
}
