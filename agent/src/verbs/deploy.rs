//! deploy: the whole pipeline. Fetch a commit, make its release directory, build it while the
//! old one serves, start it and pass the gate, then record it (state, `current`, pruning).
//! `unchanged` when that content already runs.

use std::io::Write;
use std::time::Instant;

use kelev_core::{CommitId, ContentHash, DeployReport, DeployResult, Project, ProjectName};

use crate::error::Error;
use crate::host::secret_store::Secrets;
use crate::host::state::State;
use crate::pipeline::fetch::fetch;
use crate::pipeline::record::{point_current, prune};
use crate::pipeline::release_dir::make_release_dir;
use crate::pipeline::switch::Switch;
use crate::release::compose_call::PullPolicy;
use crate::release::release::Release;
use crate::release::routing::Routing;
use crate::verbs::agent::Agent;
use crate::verbs::report::Report;
use crate::verbs::verb::{Io, Verb};
use crate::wire::grammar::{Args, GrammarError};
use crate::wire::spec::{Opt, Spec};

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Deploy {
    pub(crate) project: ProjectName,
    pub(crate) commit: Option<CommitId>,
    pub(crate) force: bool,
    pub(crate) json: bool,
    /// Recreate every container, unchanged services too (implies `force`).
    pub(crate) recreate_all: bool,
}

impl Verb for Deploy {
    const SPEC: Spec = Spec::new(
        "deploy",
        "<project> [<commit>] [--force] [--force-recreate] [--json]",
        "fetch, build and start; `unchanged` if already running",
    )
    .options(&[
        Opt::flag("--force"),
        Opt::flag("--json"),
        Opt::flag("--force-recreate"),
    ]);

    fn parse(args: &mut Args) -> Result<Deploy, GrammarError> {
        Ok(Deploy {
            project: args.project()?,
            commit: args.optional_commit()?,
            force: args.flag("--force") || args.flag("--force-recreate"),
            json: args.flag("--json"),
            recreate_all: args.flag("--force-recreate"),
        })
    }

    fn project(&self) -> Option<&ProjectName> {
        Some(&self.project)
    }

    fn commit(&self) -> Option<&CommitId> {
        self.commit.as_ref()
    }

    fn run(&self, agent: &Agent, io: &mut Io) -> Result<(), Error> {
        let progress: &mut dyn Write = if self.json {
            &mut *io.err
        } else {
            &mut *io.out
        };
        match (
            self.deploy(agent, progress, &mut io.trail.commit),
            self.json,
        ) {
            (Ok(report), true) => {
                let _ = writeln!(io.out, "{}", report.json());
                Ok(())
            }
            (Ok(report), false) => {
                let _ = writeln!(io.out, "{}", report.line());
                Ok(())
            }
            (Err(e), true) => {
                let failure = DeployReport {
                    commit: io.trail.commit.clone(),
                    content_hash: None,
                    duration_ms: None,
                    error: Some(e.to_string().lines().next().unwrap_or("").to_owned()),
                    exit_code: Some(e.exit_code().code()),
                    project: self.project.to_string(),
                    result: DeployResult::Failed,
                };
                let json = serde_json::to_string(&failure).expect("a report serializes");
                let _ = writeln!(io.out, "{json}");
                Err(e)
            }
            (Err(e), false) => Err(e),
        }
    }
}

impl Deploy {
    fn deploy(
        &self,
        agent: &Agent,
        progress: &mut dyn Write,
        resolved: &mut Option<CommitId>,
    ) -> Result<Report, Error> {
        let started = Instant::now();
        let held = agent.take(&self.project, "deploy", progress)?;
        let project = held.project();
        let fetched = fetch(&agent.layout, &held, self.commit.as_ref(), progress)?;
        let (mirror, commit) = (&fetched.mirror, &fetched.commit);
        *resolved = Some(commit.clone());
        let hash = mirror.content_hash(commit)?;
        let mut state = State::load(&agent.layout, &project.name)?;
        let report = |result| Report {
            result,
            project: project.name.clone(),
            commit: commit.clone(),
            content_hash: hash.clone(),
            took: started.elapsed(),
        };
        if !self.force && is_unchanged(agent, project, &state, &hash)? {
            return Ok(report(DeployResult::Unchanged));
        }
        make_release_dir(&agent.layout, mirror, &held, commit)?;
        let release = Release::new(&agent.layout, project, commit)?;
        let switch = Switch {
            recreate_all: self.recreate_all,
            pull: if self.force {
                PullPolicy::Always
            } else {
                PullPolicy::Missing
            },
            ..Switch::building(&release, hash.clone())
        };
        agent
            .pipeline()
            .switch(&held, switch, &mut state, progress)?;
        point_current(&agent.layout, &held, commit)?;
        prune(&agent.config, &agent.layout, &agent.docker, &held, &state);
        Ok(report(DeployResult::Deployed))
    }
}

/// Same content, same routing, and Docker says every container of that release is up.
fn is_unchanged(
    agent: &Agent,
    project: &Project,
    state: &State,
    hash: &ContentHash,
) -> Result<bool, Error> {
    let Some(running) = &state.running else {
        return Ok(false);
    };
    let secrets = Secrets::load(&agent.layout, &project.name)?;
    if running.content_hash != *hash
        || !running
            .routing
            .is(&Routing::of(&agent.config.traefik, project, &secrets))
    {
        return Ok(false);
    }
    let containers = agent.docker.containers(Some(project.name.as_str()))?;
    Ok(!containers.is_empty()
        && containers
            .iter()
            .all(|c| c.is_up() && c.serves(&running.commit)))
}
