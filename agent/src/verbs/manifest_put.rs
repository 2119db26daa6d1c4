//! manifest-put: validate a new projects.json from stdin and install it atomically, or change
//! nothing.

use std::io::Read;
use std::time::Duration;

use kelev_core::{Manifest, ManifestOrigin, MANIFEST_MAX_BYTES};

use crate::error::{Error, Locked};
use crate::host::layout::write_atomic;
use crate::host::lock::Lock;
use crate::verbs::agent::Agent;
use crate::verbs::verb::{Io, Verb};
use crate::wire::grammar::{Args, GrammarError};
use crate::wire::spec::Spec;

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ManifestPut;

impl Verb for ManifestPut {
    const SPEC: Spec =
        Spec::new("manifest-put", "", "install projects.json from stdin").for_all_projects();

    fn parse(_: &mut Args) -> Result<ManifestPut, GrammarError> {
        Ok(ManifestPut)
    }

    fn run(&self, agent: &Agent, io: &mut Io) -> Result<(), Error> {
        let mut bytes = Vec::new();
        (&mut *io.input)
            .take(MANIFEST_MAX_BYTES as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(Error::io("<stdin>"))?;
        let new = Manifest::parse(&bytes, &ManifestOrigin::Stdin)?;
        let _lock = Lock::acquire(
            &agent.layout.manifest_lock(),
            Locked::Manifest,
            &agent.holder("manifest-put"),
            Duration::from_secs(agent.config.lock_timeout_secs),
            io.out,
        )?;
        // An unreadable old manifest is replaced, not merged: everything counts as added.
        let old = agent.manifest().ok();
        write_atomic(&agent.config.manifest, &bytes)?;
        let before = |name| old.as_ref().and_then(|m: &Manifest| m.project(name));
        let added = new.projects.iter().filter(|p| before(&p.name).is_none());
        let changed = new
            .projects
            .iter()
            .filter(|p| before(&p.name).is_some_and(|b| b != *p));
        let mut changes: Vec<String> = added
            .map(|p| format!("added {}", p.name))
            .chain(changed.map(|p| format!("changed {}", p.name)))
            .collect();
        for project in old.iter().flat_map(|m| &m.projects) {
            if new.project(&project.name).is_none() {
                changes.push(format!("removed {}", project.name));
            }
        }
        if changes.is_empty() {
            changes.push("unchanged".into());
        }
        let _ = writeln!(io.out, "{}", changes.join("\n"));
        Ok(())
    }
}
