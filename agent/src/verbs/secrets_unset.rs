//! secrets-unset: remove secrets from a project; the next deploy or rebuild drops them.

use kelev_core::ProjectName;

use crate::error::Error;
use crate::host::secret_key::SecretKey;
use crate::host::secret_store::Secrets;
use crate::verbs::agent::Agent;
use crate::verbs::verb::{Io, Verb};
use crate::wire::grammar::{Args, GrammarError};
use crate::wire::spec::{Grant, Spec};

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SecretsUnset {
    pub(crate) project: ProjectName,
    pub(crate) keys: Vec<SecretKey>,
}

impl Verb for SecretsUnset {
    const SPEC: Spec =
        Spec::new("secrets-unset", "<project> KEY...", "remove secrets").grant(Grant::Named);

    fn parse(args: &mut Args) -> Result<SecretsUnset, GrammarError> {
        Ok(SecretsUnset {
            project: args.project()?,
            keys: args.secret_keys()?,
        })
    }

    fn project(&self) -> Option<&ProjectName> {
        Some(&self.project)
    }

    fn run(&self, agent: &Agent, io: &mut Io) -> Result<(), Error> {
        let name = &self.project;
        agent.project(name)?;
        let _lock = agent.lock(name, "secrets-unset", io.out)?;
        let mut secrets = Secrets::load(&agent.layout, name)?;
        let removed = secrets.remove(&self.keys);
        secrets.save(&agent.layout, name)?;
        let removed = match removed.is_empty() {
            true => "nothing".to_owned(),
            false => removed.join(", "),
        };
        let _ = writeln!(io.out, "removed from {name}: {removed}");
        Ok(())
    }
}
