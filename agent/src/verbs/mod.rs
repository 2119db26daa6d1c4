//! The verb table: every verb a client may send, declared once. Each verb is a type in its own
//! file with its [`Spec`] (name, usage, help line, options, who may run it), how it takes its
//! words (`parse`) and what it does (`run`); the grammar, `help`, the key policy and the docs
//! test read [`VERBS`]; [`Command`] is a parsed, typed command. Adding a verb: its file, and its
//! name in the table below.

mod agent;
mod report;
mod verb;

mod clone;
mod deploy;
mod help;
mod logs;
mod manifest;
mod manifest_put;
mod rebuild;
mod rebuild_all;
mod registry_login;
mod remove;
mod rollback;
mod run;
mod secrets;
mod secrets_put;
mod secrets_unset;
mod status;
mod version;

use std::io::Write;

use kelev_core::{CommitId, ProjectName};

use crate::error::Error;
use crate::wire::grammar::{self, Args, GrammarError};
use crate::wire::spec::Spec;

pub(crate) use agent::Agent;
pub(crate) use verb::Io;
use verb::{Verb, VerbObject};

use clone::Clone;
use deploy::Deploy;
use help::Help;
use logs::Logs;
use manifest::Manifest;
use manifest_put::ManifestPut;
use rebuild::Rebuild;
use rebuild_all::RebuildAll;
use registry_login::RegistryLogin;
use remove::Remove;
use rollback::Rollback;
use run::Run;
use secrets::Secrets;
use secrets_put::SecretsPut;
use secrets_unset::SecretsUnset;
use status::Status;
use version::Version;

/// The table: each verb's type, in the order `help` lists them; the `Command` variant of the
/// same name, and [`VERBS`], each verb's [`Verb::SPEC`] in that order, derive from it.
macro_rules! verbs {
    ($($variant:ident),* $(,)?) => {
        /// A command as the grammar parsed it: one variant per verb.
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub(crate) enum Command {
            $($variant($variant),)*
        }

        /// Every verb, in the order `help` lists them.
        pub(crate) const VERBS: &[Spec] = &[$(<$variant as Verb>::SPEC,)*];

        impl Command {
            fn parse_verb(name: &str, words: &[&str]) -> Option<Result<Command, GrammarError>> {
                $(
                    if name == <$variant as Verb>::SPEC.name {
                        return Some(parse_with::<$variant>(words).map(Command::$variant));
                    }
                )*
                None
            }

            pub(crate) fn spec(&self) -> &'static Spec {
                match self {
                    $(Command::$variant(_) => &<$variant as Verb>::SPEC,)*
                }
            }

            fn verb(&self) -> &dyn VerbObject {
                match self {
                    $(Command::$variant(verb) => verb,)*
                }
            }
        }
    };
}

verbs!(
    Deploy,
    Clone,
    Rebuild,
    RebuildAll,
    Status,
    Logs,
    Run,
    Manifest,
    ManifestPut,
    Remove,
    Rollback,
    SecretsPut,
    Secrets,
    SecretsUnset,
    RegistryLogin,
    Help,
    Version,
);

fn parse_with<V: Verb>(words: &[&str]) -> Result<V, GrammarError> {
    let mut args = Args::split(&V::SPEC, words)?;
    let verb = V::parse(&mut args)?;
    args.finish()?;
    Ok(verb)
}

impl Command {
    /// Parse the raw bytes of `SSH_ORIGINAL_COMMAND`.
    pub(crate) fn parse_line(line: &[u8]) -> Result<Command, GrammarError> {
        Command::parse_checked(&grammar::words_of_line(line)?)
    }

    /// Parse words given one by one (local use), with the same rules as a line.
    pub(crate) fn parse_words(words: &[&str]) -> Result<Command, GrammarError> {
        grammar::check_words(words)?;
        Command::parse_checked(words)
    }

    pub(crate) fn project(&self) -> Option<&ProjectName> {
        self.verb().project()
    }

    pub(crate) fn commit(&self) -> Option<&CommitId> {
        self.verb().commit()
    }

    pub(crate) fn answer(&self, out: &mut dyn Write) -> bool {
        self.verb().answer(VERBS, out)
    }

    pub(crate) fn run(&self, agent: &Agent, io: &mut Io) -> Result<(), Error> {
        self.verb().run(agent, io)
    }

    fn parse_checked(words: &[&str]) -> Result<Command, GrammarError> {
        let (verb, rest) = words.split_first().ok_or(GrammarError::Empty)?;
        Command::parse_verb(verb, rest).unwrap_or_else(|| {
            Err(GrammarError::UnknownVerb {
                verb: grammar::shown(verb),
            })
        })
    }
}

#[cfg(test)]
mod parse_tests;
#[cfg(test)]
mod policy_tests;
