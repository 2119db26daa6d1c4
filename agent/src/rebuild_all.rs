//! rebuild-all: every project of the manifest, one at a time in name order (so locks are taken
//! in name order), past failures, with a summary table.

use std::io::Write;

use crate::agent::Agent;
use crate::error::Error;
use crate::status::render;

impl Agent {
    pub(crate) fn rebuild_all(&self, out: &mut dyn Write) -> Result<(), Error> {
        let manifest = self.manifest()?;
        let mut rows = vec![[
            "PROJECT".to_owned(),
            "RESULT".to_owned(),
            "COMMIT".to_owned(),
            "DETAIL".to_owned(),
        ]];
        let mut failed = 0;
        let projects: Vec<_> = manifest
            .projects
            .iter()
            .filter(|p| self.may_touch(&p.name))
            .collect();
        for project in &projects {
            let _ = writeln!(out, "== {}", project.name);
            let result = self
                .lock(&project.name, "rebuild-all", out)
                .and_then(|_lock| {
                    crate::signals::alarm(self.config.deploy_timeout_secs);
                    if self.layout.checkout(&project.name).is_none() {
                        self.clone_locked(project, None, out)?;
                    }
                    self.rebuild_locked(project, out)
                });
            match result {
                Ok(report) => rows.push([
                    project.name.to_string(),
                    "rebuilt".into(),
                    report.commit.as_str()[..12].to_owned(),
                    format!("{:.1}s", report.took.as_secs_f64()),
                ]),
                Err(e) => {
                    failed += 1;
                    let _ = writeln!(out, "error: {e}");
                    rows.push([
                        project.name.to_string(),
                        "failed".into(),
                        self.layout
                            .checkout(&project.name)
                            .map_or("-".into(), |c| c.as_str()[..12].to_owned()),
                        e.to_string().lines().next().unwrap_or("").to_owned(),
                    ]);
                }
            }
            crate::signals::disarm();
            // A project that ran out of time fails alone; SIGTERM or SIGINT stops the run.
            match crate::signals::pending() {
                Some(crate::signals::TIMEOUT) => {
                    crate::signals::take();
                }
                Some(_) => break,
                None => {}
            }
        }
        let _ = out.write_all(render(&rows).as_bytes());
        crate::signals::check()?;
        match failed {
            0 => Ok(()),
            failed => Err(Error::RebuildAll {
                failed,
                total: projects.len(),
            }),
        }
    }
}
