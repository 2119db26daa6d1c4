//! rebuild-all: every project of the manifest, one at a time in name order (so locks are taken
//! in name order), past failures, with a summary table.

use kelev_core::DeployResult;

use crate::error::Error;
use crate::host::signals;
use crate::host::table::render;
use crate::verbs::agent::Agent;
use crate::verbs::clone::fetch_to_current;
use crate::verbs::rebuild::rebuild;
use crate::verbs::verb::{Io, Verb};
use crate::wire::grammar::{Args, GrammarError};
use crate::wire::spec::Spec;

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RebuildAll;

impl Verb for RebuildAll {
    const SPEC: Spec = Spec::new(
        "rebuild-all",
        "",
        "rebuild every project; a summary table at the end",
    );

    fn parse(_: &mut Args) -> Result<RebuildAll, GrammarError> {
        Ok(RebuildAll)
    }

    fn run(&self, agent: &Agent, io: &mut Io) -> Result<(), Error> {
        let out = &mut *io.out;
        let manifest = agent.manifest()?;
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
            .filter(|p| agent.may_touch(&p.name))
            .collect();
        for project in &projects {
            let name = &project.name;
            let _ = writeln!(out, "== {name}");
            let result = agent.take(name, "rebuild-all", out).and_then(|held| {
                if agent.layout.checkout(name).is_none() {
                    fetch_to_current(agent, &held, None, out)?;
                }
                rebuild(agent, &held, false, out)
            });
            match result {
                Ok(report) => rows.push([
                    name.to_string(),
                    report.result.as_str().into(),
                    report.commit.short().to_owned(),
                    format!("{:.1}s", report.took.as_secs_f64()),
                ]),
                Err(e) => {
                    failed += 1;
                    let _ = writeln!(out, "error: {e}");
                    rows.push([
                        name.to_string(),
                        DeployResult::Failed.as_str().into(),
                        agent
                            .layout
                            .checkout(name)
                            .map_or("-".into(), |c| c.short().to_owned()),
                        e.to_string().lines().next().unwrap_or("").to_owned(),
                    ]);
                }
            }
            signals::disarm();
            // A project that ran out of time fails alone; SIGTERM or SIGINT stops the run.
            match signals::pending() {
                Some(signals::TIMEOUT) => {
                    signals::take();
                }
                Some(_) => break,
                None => {}
            }
        }
        let _ = out.write_all(render(&rows).as_bytes());
        signals::check()?;
        match failed {
            0 => Ok(()),
            failed => Err(Error::RebuildAll {
                failed,
                total: projects.len(),
            }),
        }
    }
}
