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
        self.compose()?.by_name(
            name.as_str(),
            &["down", "--remove-orphans"],
            &self.layout.compose_logs(),
            out,
        )?;
        // Renamed aside first (a name no project can have), then deleted: a run that dies
        // halfway leaves no half project behind under the project's name.
        let dir = self.layout.project(name);
        if dir.exists() {
            let doomed = self
                .layout
                .projects()
                .join(format!(".removing-{name}-{}", std::process::id()));
            std::fs::rename(&dir, &doomed).map_err(Error::io(&dir))?;
            std::fs::remove_dir_all(&doomed).map_err(Error::io(&doomed))?;
        }
        let _ = writeln!(
            out,
            "removed {name}; its data stays in `{}`",
            self.layout.data(name).display()
        );
        Ok(())
    }
}
