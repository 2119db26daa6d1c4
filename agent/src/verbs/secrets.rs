//! secrets: list a project's secret keys, each with a digest of its value (never the value).

use kelev_core::ProjectName;

use crate::error::Error;
use crate::host::secret_store::{self, fingerprint};
use crate::verbs::agent::Agent;
use crate::verbs::verb::{Io, Verb};
use crate::wire::grammar::{Args, GrammarError};
use crate::wire::spec::{Grant, Spec};

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Secrets {
    pub(crate) project: ProjectName,
}

impl Verb for Secrets {
    const SPEC: Spec = Spec::new(
        "secrets",
        "<project>",
        "list secret keys with a digest of each value",
    )
    .grant(Grant::Named);

    fn parse(args: &mut Args) -> Result<Secrets, GrammarError> {
        Ok(Secrets {
            project: args.project()?,
        })
    }

    fn project(&self) -> Option<&ProjectName> {
        Some(&self.project)
    }

    fn run(&self, agent: &Agent, io: &mut Io) -> Result<(), Error> {
        agent.project(&self.project)?;
        let secrets = secret_store::Secrets::load(&agent.layout, &self.project)?;
        for (key, value) in secrets.entries() {
            let _ = writeln!(io.out, "{key} {}", fingerprint(value));
        }
        Ok(())
    }
}
