//! version: the agent's version and the commit it was built from.

use std::io::Write;

use crate::error::Error;
use crate::verbs::agent::Agent;
use crate::verbs::verb::{Io, Verb};
use crate::wire::grammar::{Args, GrammarError};
use crate::wire::spec::{Grant, Spec};

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Version;

impl Verb for Version {
    const SPEC: Spec = Spec::new("version", "", "").grant(Grant::Anyone);

    fn parse(_: &mut Args) -> Result<Version, GrammarError> {
        Ok(Version)
    }

    fn answer(&self, _: &[Spec], out: &mut dyn Write) -> bool {
        let _ = writeln!(
            out,
            "kelev-agent {} (commit {})",
            env!("CARGO_PKG_VERSION"),
            env!("KELEV_GIT_COMMIT")
        );
        true
    }

    fn run(&self, _: &Agent, io: &mut Io) -> Result<(), Error> {
        self.answer(io.verbs, io.out);
        Ok(())
    }
}
