//! logs: the last lines every container of a project printed, through `compose logs`.

use kelev_core::ProjectName;

use crate::error::Error;
use crate::release::compose_call::ComposeProject;
use crate::verbs::agent::Agent;
use crate::verbs::verb::{Io, Verb};
use crate::wire::grammar::{Args, GrammarError};
use crate::wire::spec::{Opt, Spec};

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Logs {
    pub(crate) project: ProjectName,
    pub(crate) tail: u32,
}

impl Verb for Logs {
    const SPEC: Spec = Spec::new(
        "logs",
        "<project> [--tail N]",
        "the last N lines (default 200, at most 10000)",
    )
    .options(&[Opt::valued("--tail")]);

    fn parse(args: &mut Args) -> Result<Logs, GrammarError> {
        Ok(Logs {
            project: args.project()?,
            tail: args.tail()?,
        })
    }

    fn project(&self) -> Option<&ProjectName> {
        Some(&self.project)
    }

    fn run(&self, agent: &Agent, io: &mut Io) -> Result<(), Error> {
        agent.known_project(&self.project)?;
        let logs = ComposeProject::by_name(&self.project).logs(self.tail);
        agent.docker.compose(&logs, io.out)
    }
}
