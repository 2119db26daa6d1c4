//! The verb table: every verb a client may send, declared once, with its [`Spec`] (name, usage,
//! help line, options, who may run it). The grammar, `help`, the key policy and the docs test
//! read [`VERBS`]; [`Command`] is a parsed, typed command. Each verb is a type in its own file:
//! how it takes its words (`parse`) and what it does (`run`). Adding a verb: its file, and its
//! entry in the table below.

mod agent;
mod report;
mod verb;

use std::io::Write;

use kelev_core::{CommitId, ProjectName};

use crate::error::Error;
use crate::wire::grammar::{self, Args, GrammarError};
use crate::wire::spec::{Grant, Opt, Spec};

pub(crate) use agent::Agent;
pub(crate) use verb::Io;
use verb::{Verb, VerbObject};

/// `Type in module: spec,` for each verb: the `Command` variant, the file, the table entry.
macro_rules! verbs {
    ($($variant:ident in $module:ident: $spec:expr,)*) => {
        $(mod $module;)*

        /// A command as the grammar parsed it: one variant per verb.
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub(crate) enum Command {
            $($variant($module::$variant),)*
        }

        /// Every verb, in the order `help` lists them.
        pub(crate) const VERBS: &[Spec] = &[$($spec,)*];

        impl Command {
            fn parse_verb(name: &str, words: &[&str]) -> Option<Result<Command, GrammarError>> {
                let mut specs = VERBS.iter();
                $(
                    let spec = specs.next().expect("one spec per verb");
                    if name == spec.name {
                        return Some(parse_with::<$module::$variant>(spec, words).map(Command::$variant));
                    }
                )*
                None
            }

            pub(crate) fn spec(&self) -> &'static Spec {
                let mut specs = VERBS.iter();
                $(
                    let spec = specs.next().expect("one spec per verb");
                    if let Command::$variant(_) = self {
                        return spec;
                    }
                )*
                unreachable!("every variant has a spec")
            }

            fn verb(&self) -> &dyn VerbObject {
                match self {
                    $(Command::$variant(verb) => verb,)*
                }
            }
        }
    };
}

verbs! {
    Deploy in deploy: Spec::new("deploy", "<project> [<commit>] [--force] [--json]",
        "fetch, build and start; `unchanged` if already running")
        .options(&[Opt::flag("--force"), Opt::flag("--json")]),
    Clone in clone: Spec::new("clone", "<project> [<commit>]",
        "fetch and check out, without building"),
    Rebuild in rebuild: Spec::new("rebuild", "<project>", "build and (re)start the checkout"),
    RebuildAll in rebuild_all: Spec::new("rebuild-all", "",
        "rebuild every project; a summary table at the end"),
    Status in status: Spec::new("status", "[<project>] [--json]", "what runs, from Docker itself")
        .options(&[Opt::flag("--json")]),
    Logs in logs: Spec::new("logs", "<project> [--tail N]",
        "the last N lines (default 200, at most 10000)")
        .options(&[Opt::valued("--tail")]),
    Manifest in manifest: Spec::new("manifest", "", "print the installed projects.json"),
    ManifestPut in manifest_put: Spec::new("manifest-put", "", "install projects.json from stdin")
        .for_all_projects(),
    Remove in remove: Spec::new("remove", "<project>",
        "take down a project no longer in the manifest"),
    Rollback in rollback: Spec::new("rollback", "<project>",
        "back to the previous release, without building"),
    SecretsPut in secrets_put: Spec::new("secrets-put", "<project> [--restart]",
        "set runtime secrets from KEY=value lines on stdin")
        .options(&[Opt::flag("--restart")])
        .grant(Grant::Named),
    Secrets in secrets: Spec::new("secrets", "<project>",
        "list secret keys with a digest of each value")
        .grant(Grant::Named),
    SecretsUnset in secrets_unset: Spec::new("secrets-unset", "<project> KEY...", "remove secrets")
        .grant(Grant::Named),
    Help in help: Spec::new("help", "", "").grant(Grant::Anyone),
    Version in version: Spec::new("version", "", "").grant(Grant::Anyone),
}

fn parse_with<V: Verb>(spec: &'static Spec, words: &[&str]) -> Result<V, GrammarError> {
    let mut args = Args::split(spec, words)?;
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
                verb: verb.to_string(),
            })
        })
    }
}

#[cfg(test)]
mod parse_tests;
#[cfg(test)]
mod policy_tests;
