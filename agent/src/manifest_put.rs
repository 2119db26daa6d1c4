//! manifest-put: validate a new projects.json from stdin and install it atomically, or change
//! nothing.

use std::io::{Read, Write};

use kelev_core::{Manifest, ManifestError, MANIFEST_MAX_BYTES};

use crate::agent::Agent;
use crate::error::Error;
use crate::layout::write_atomic;
use crate::lock::Lock;

impl Agent {
    pub(crate) fn manifest_put(
        &self,
        input: &mut dyn Read,
        out: &mut dyn Write,
    ) -> Result<(), Error> {
        let mut bytes = Vec::new();
        input
            .take(MANIFEST_MAX_BYTES as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(Error::io("<stdin>"))?;
        if bytes.len() > MANIFEST_MAX_BYTES {
            return Err(ManifestError::TooLarge {
                max: MANIFEST_MAX_BYTES,
            }
            .into());
        }
        let new = Manifest::parse(&bytes)?;
        let _lock = Lock::acquire(
            &self.layout.manifest_lock(),
            "the manifest",
            &format!("pid {} (manifest-put)", std::process::id()),
            std::time::Duration::from_secs(self.config.lock_timeout_secs),
            out,
        )?;
        // An unreadable old manifest is replaced, not merged: everything counts as added.
        let old = self.manifest().ok();
        write_atomic(&self.config.manifest, &bytes)?;
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
        let _ = writeln!(out, "{}", changes.join("\n"));
        Ok(())
    }
}
