//! remove: take down a project that left the manifest. Its containers and the agent's files for
//! it go; its data directory and named volumes stay.

use std::io::Write;

use kelev_core::ProjectName;

use crate::agent::Agent;
use crate::error::Error;

impl Agent {
    pub(crate) fn remove(&self, name: &ProjectName, out: &mut dyn Write) -> Result<(), Error> {
        if self.manifest()?.project(name).is_some() {
            return Err(Error::ProjectData {
                project: name.clone(),
                message: "is still in the manifest\nhint: install a manifest without it (`manifest-put`) first".into(),
            });
        }
        let _lock = self.lock(name, "remove", out)?;
        self.compose()?
            .by_name(name.as_str(), &["down", "--remove-orphans"], out)?;
        let dir = self.layout.project(name);
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(Error::io(&dir))?;
        }
        let _ = writeln!(
            out,
            "removed {name}; its data stays in `{}`",
            self.layout.data(name).display()
        );
        Ok(())
    }
}
