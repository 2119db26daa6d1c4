//! rollback: back to the release that ran before the current one, from its kept release directory and
//! images, without building. The release rolled back from leaves the history, so a second
//! rollback goes one further back.

use std::time::Instant;

use kelev_core::{DeployResult, ProjectName};

use crate::error::Error;
use crate::host::state::State;
use crate::pipeline::fetch::open_mirror;
use crate::pipeline::record::point_current;
use crate::pipeline::switch::Switch;
use crate::release::release::Release;
use crate::verbs::agent::Agent;
use crate::verbs::report::Report;
use crate::verbs::verb::{Io, Verb};
use crate::wire::grammar::{Args, GrammarError};
use crate::wire::spec::Spec;

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Rollback {
    pub(crate) project: ProjectName,
}

impl Verb for Rollback {
    const SPEC: Spec = Spec::new(
        "rollback",
        "<project>",
        "back to the previous release, without building",
    );

    fn parse(args: &mut Args) -> Result<Rollback, GrammarError> {
        Ok(Rollback {
            project: args.project()?,
        })
    }

    fn project(&self) -> Option<&ProjectName> {
        Some(&self.project)
    }

    fn run(&self, agent: &Agent, io: &mut Io) -> Result<(), Error> {
        let started = Instant::now();
        let name = &self.project;
        let held = agent.take(name, "rollback", io.out)?;
        let project = held.project();
        let mut state = State::load(&agent.layout, name)?;
        let current = state
            .running_commit()
            .cloned()
            .ok_or_else(|| Error::NothingToRollBack {
                project: name.clone(),
            })?;
        let target = state
            .history
            .iter()
            .rev()
            .filter(|c| **c != current)
            .find(|c| agent.layout.release(name, c).is_dir())
            .cloned()
            .ok_or_else(|| Error::NoEarlierRelease {
                project: name.clone(),
            })?;
        io.trail.commit = Some(target.clone());
        let _ = writeln!(io.out, "rolling {name} back from {current} to {target}");
        // Today's routing and secrets, that release's code and images.
        let release = Release::new(&agent.layout, project, &target)?;
        let hash = open_mirror(&agent.layout, project)?.content_hash(&target)?;
        let switch = Switch {
            forget: Some(current),
            ..Switch::kept(&release, hash.clone())
        };
        agent.pipeline().switch(&held, switch, &mut state, io.out)?;
        point_current(&agent.layout, &held, &target)?;
        let report = Report {
            result: DeployResult::RolledBack,
            project: name.clone(),
            commit: target,
            content_hash: hash,
            took: started.elapsed(),
        };
        let _ = writeln!(io.out, "{}", report.line());
        Ok(())
    }
}
