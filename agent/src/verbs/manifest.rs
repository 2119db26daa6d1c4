//! manifest: print the installed projects.json as it is on disk, if the agent would use it.

use crate::error::Error;
use crate::verbs::agent::Agent;
use crate::verbs::verb::{Io, Verb};
use crate::wire::grammar::{Args, GrammarError};
use crate::wire::spec::Spec;

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Manifest;

impl Verb for Manifest {
    const SPEC: Spec = Spec::new("manifest", "", "print the installed projects.json");

    fn parse(_: &mut Args) -> Result<Manifest, GrammarError> {
        Ok(Manifest)
    }

    fn run(&self, agent: &Agent, io: &mut Io) -> Result<(), Error> {
        let path = &agent.config.manifest;
        let bytes = std::fs::read(path).map_err(|source| kelev_core::ManifestError::Io {
            path: path.clone(),
            source,
        })?;
        // Only what the agent would use: a manifest installed by hand with a token in a `repo`
        // is refused (the token masked), not shown to every key that may run `manifest`.
        kelev_core::Manifest::parse(&bytes, &kelev_core::ManifestOrigin::File(path.clone()))?;
        let _ = io.out.write_all(&bytes);
        Ok(())
    }
}
