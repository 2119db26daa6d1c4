//! secrets-put: set a project's runtime secrets from `KEY=value` lines on stdin; with
//! `--restart`, switch the running release to them at once.

use std::io::Write;

use kelev_core::ProjectName;

use crate::error::Error;
use crate::host::lock::ProjectLock;
use crate::host::secret_store::{Secrets, MAX_INPUT, MAX_KEYS};
use crate::host::state::State;
use crate::pipeline::switch::Switch;
use crate::release::release::Release;
use crate::verbs::agent::Agent;
use crate::verbs::verb::{Io, Verb};
use crate::wire::grammar::{Args, GrammarError};
use crate::wire::spec::{Grant, Opt, Spec};

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SecretsPut {
    pub(crate) project: ProjectName,
    pub(crate) restart: bool,
}

impl Verb for SecretsPut {
    const SPEC: Spec = Spec::new(
        "secrets-put",
        "<project> [--restart]",
        "set runtime secrets from KEY=value lines on stdin",
    )
    .options(&[Opt::flag("--restart")])
    .grant(Grant::Named);

    fn parse(args: &mut Args) -> Result<SecretsPut, GrammarError> {
        Ok(SecretsPut {
            project: args.project()?,
            restart: args.flag("--restart"),
        })
    }

    fn project(&self) -> Option<&ProjectName> {
        Some(&self.project)
    }

    fn run(&self, agent: &Agent, io: &mut Io) -> Result<(), Error> {
        let name = &self.project;
        agent.project(name)?;
        let invalid = |problem: String| Error::SecretsInput {
            project: name.clone(),
            problem,
        };
        let Some(bytes) = io.read_input(MAX_INPUT)? else {
            return Err(invalid(format!("more than {MAX_INPUT} bytes")));
        };
        let new = Secrets::parse(&bytes).map_err(invalid)?;
        if new.entries().is_empty() {
            return Err(invalid(
                "no `KEY=value` line\nhint: `secrets-put` reads the secrets from stdin, one `KEY=value` a line".into(),
            ));
        }
        let held = agent.take(name, "secrets-put", io.out)?;
        let mut secrets = Secrets::load(&agent.layout, name)?;
        let changed = secrets.merge(new);
        if secrets.entries().len() > MAX_KEYS {
            return Err(invalid(format!("more than {MAX_KEYS} keys in all")));
        }
        secrets.save(&agent.layout, name)?;
        if changed.is_empty() {
            let _ = writeln!(
                io.out,
                "no change for {name}: every value was already stored"
            );
            return Ok(());
        }
        let _ = writeln!(io.out, "set for {name}: {}", changed.join(", "));
        if self.restart {
            restart(agent, &held, io.out)
        } else {
            let _ = writeln!(
                io.out,
                "the next deploy or rebuild of {name} hands them to its containers"
            );
            Ok(())
        }
    }
}

/// Switch to the running release again, so its containers see the project's current secrets.
fn restart(agent: &Agent, held: &ProjectLock, progress: &mut dyn Write) -> Result<(), Error> {
    let project = held.project();
    let mut state = State::load(&agent.layout, &project.name)?;
    let Some(running) = state.running.clone() else {
        let _ = writeln!(
            progress,
            "nothing runs for {}; the first deploy hands them over",
            project.name
        );
        return Ok(());
    };
    let release = Release::new(&agent.layout, project, &running.commit)?;
    let switch = Switch {
        keep_deployed_at: true,
        ..Switch::kept(&release, running.content_hash)
    };
    agent.pipeline().switch(held, switch, &mut state, progress)
}
