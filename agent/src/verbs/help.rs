//! help: every verb's usage and help line, from the verb table.

use std::io::Write;

use crate::error::Error;
use crate::verbs::agent::Agent;
use crate::verbs::verb::{Io, Verb};
use crate::wire::grammar::{Args, GrammarError};
use crate::wire::spec::{Grant, Spec};

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Help;

impl Verb for Help {
    const SPEC: Spec = Spec::new("help", "", "").grant(Grant::Anyone);

    fn parse(_: &mut Args) -> Result<Help, GrammarError> {
        Ok(Help)
    }

    fn answer(&self, verbs: &[Spec], out: &mut dyn Write) -> bool {
        let _ = out.write_all(text(verbs).as_bytes());
        true
    }

    fn run(&self, _: &Agent, io: &mut Io) -> Result<(), Error> {
        self.answer(io.verbs, io.out);
        Ok(())
    }
}

/// The width of the usage column.
const WIDTH: usize = 48;

pub(crate) fn text(verbs: &[Spec]) -> String {
    let mut text = String::from(
        "kelev-agent: deploys this host's compose projects\n\n\
         usage (over ssh): ssh deploy@HOST <command>\n\ncommands:\n",
    );
    let usage = |spec: &Spec| match spec.usage {
        "" => spec.name.to_owned(),
        usage => format!("{} {usage}", spec.name),
    };
    let mut bare = Vec::new();
    for spec in verbs {
        if spec.about.is_empty() {
            bare.push(spec.name);
            continue;
        }
        let usage = usage(spec);
        if usage.len() > WIDTH {
            // Too long for the column: the help line goes under it.
            text.push_str(&format!("  {usage}\n  {:WIDTH$} {}\n", "", spec.about));
        } else {
            text.push_str(&format!("  {usage:<WIDTH$} {}\n", spec.about));
        }
    }
    text.push_str(&format!("  {}\n", bare.join(", ")));
    text.push_str(
        "\na commit is a full 40- or 64-digit lowercase hex id; exit codes: 0 ok, 1 failed, \
         64 bad command,\n65 bad data, 69 docker unreachable, 74 output failed, 75 locked, 77 not permitted\n",
    );
    text
}
