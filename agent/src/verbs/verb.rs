//! What a verb is to the table: how it reads its words and what it does.

use std::io::{Read, Write};

use kelev_core::{CommitId, ProjectName};

use crate::error::Error;
use crate::host::audit::Trail;
use crate::verbs::agent::Agent;
use crate::wire::grammar::{Args, GrammarError};
use crate::wire::spec::Spec;

/// A verb: how it reads its words and what it does. Its [`Spec`] is its line in the table.
pub(crate) trait Verb: Sized {
    /// Its line in the table: name, usage, help line, options, who may run it.
    const SPEC: Spec;

    /// Take this verb's arguments out of `args` (what is left over is refused after).
    fn parse(args: &mut Args) -> Result<Self, GrammarError>;

    /// The project it names, if any: the key policy checks it before anything runs.
    fn project(&self) -> Option<&ProjectName> {
        None
    }

    /// The commit it names, if any (for the audit trail until one is resolved).
    fn commit(&self) -> Option<&CommitId> {
        None
    }

    /// Answer without a host (no config, no Docker): `help` and `version` do.
    fn answer(&self, _verbs: &[Spec], _out: &mut dyn Write) -> bool {
        false
    }

    fn run(&self, agent: &Agent, io: &mut Io) -> Result<(), Error>;
}

/// A verb's streams, the invocation's audit trail, and the verb table.
pub(crate) struct Io<'a> {
    pub(crate) verbs: &'a [Spec],
    pub(crate) out: &'a mut dyn Write,
    pub(crate) err: &'a mut dyn Write,
    pub(crate) input: &'a mut dyn Read,
    pub(crate) trail: &'a mut Trail,
}

impl Io<'_> {
    /// All of stdin, if it holds at most `max` bytes (`None` if more).
    pub(crate) fn read_input(&mut self, max: usize) -> Result<Option<Vec<u8>>, Error> {
        let mut bytes = Vec::new();
        (&mut *self.input)
            .take(max as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(Error::io("<stdin>"))?;
        Ok((bytes.len() <= max).then_some(bytes))
    }
}

/// [`Verb`] without its constructor, so that a `Command` can hand out its verb.
pub(super) trait VerbObject {
    fn project(&self) -> Option<&ProjectName>;
    fn commit(&self) -> Option<&CommitId>;
    fn answer(&self, verbs: &[Spec], out: &mut dyn Write) -> bool;
    fn run(&self, agent: &Agent, io: &mut Io) -> Result<(), Error>;
}

impl<V: Verb> VerbObject for V {
    fn project(&self) -> Option<&ProjectName> {
        Verb::project(self)
    }
    fn commit(&self) -> Option<&CommitId> {
        Verb::commit(self)
    }
    fn answer(&self, verbs: &[Spec], out: &mut dyn Write) -> bool {
        Verb::answer(self, verbs, out)
    }
    fn run(&self, agent: &Agent, io: &mut Io) -> Result<(), Error> {
        Verb::run(self, agent, io)
    }
}
