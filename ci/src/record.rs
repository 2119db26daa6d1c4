//! `kelev record`: the close of a deploy job. From what `kelev decide` said and the agent's
//! `deploy --json` report (kelev-core's `DeployReport`), write the job's result file for the
//! summary and, when the agent took the content, the `deployed-<name>-<hash>` marker.

use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use kelev_core::{DeployReport, DeployResult};

use crate::error::Error;

/// One deploy job's `results/<name>.json`: written by `kelev record`, read by `kelev summary`.
/// An empty string where the job had nothing to say (its step failed or never ran).
#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct JobResult {
    pub(crate) name: String,
    pub(crate) result: DeployResult,
    #[serde(default)]
    pub(crate) reason: String,
    #[serde(default)]
    pub(crate) commit: String,
    #[serde(default)]
    pub(crate) hash: String,
}

/// The job's result. `decision`: `kelev decide`'s `deploy` output, None if decide did not
/// succeed; `report`: the agent's report, None if no deploy ran or it printed none.
pub(crate) fn result(decision: Option<bool>, report: Option<&DeployReport>) -> DeployResult {
    match (decision, report) {
        (None, _) => DeployResult::Failed,
        (Some(false), _) => DeployResult::Unchanged,
        (Some(true), Some(report)) => report.result,
        (Some(true), None) => DeployResult::Failed,
    }
}

/// What `record` is given: the steps' outputs as the workflow hands them on.
pub(crate) struct Job<'a> {
    pub(crate) name: &'a str,
    pub(crate) commit: &'a str,
    pub(crate) hash: &'a str,
    /// `kelev decide`'s `deploy=` (`true`, `false`; empty: decide did not succeed).
    pub(crate) deploy: &'a str,
    pub(crate) reason: &'a str,
}

pub(crate) fn run(
    job: &Job,
    report: &Path,
    results: &Path,
    marker: &Path,
    out: &mut dyn Write,
) -> Result<i32, Error> {
    let decision = match job.deploy {
        "" => None,
        "true" => Some(true),
        "false" => Some(false),
        other => {
            return Err(Error::Data {
                what: "--deploy".into(),
                message: format!("`{}` is not true, false or empty", other.escape_default()),
            })
        }
    };
    // No report: the deploy step was skipped, or ssh or the agent died before printing it.
    let report = match decision {
        Some(true) => read_report(report),
        _ => None,
    };
    let result = result(decision, report.as_ref());
    let file = JobResult {
        name: job.name.to_owned(),
        result,
        reason: job.reason.to_owned(),
        commit: job.commit.to_owned(),
        hash: job.hash.to_owned(),
    };
    write_json(&results.join(format!("{}.json", job.name)), &file)?;
    // The agent took this content (deployed it, or found it running): CI's record of it.
    if report.is_some() && matches!(result, DeployResult::Deployed | DeployResult::Unchanged) {
        let deployed =
            serde_json::json!({"name": job.name, "commit": job.commit, "hash": job.hash});
        write_json(&marker.join("deployed.json"), &deployed)?;
    }
    let _ = writeln!(out, "{} {result}", job.name);
    Ok(0)
}

fn read_report(path: &Path) -> Option<DeployReport> {
    let text = std::fs::read_to_string(path).ok()?;
    match serde_json::from_str(text.trim()) {
        Ok(report) => Some(report),
        Err(e) => {
            eprintln!("`{}` is not a deploy report: {e}", path.display());
            None
        }
    }
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), Error> {
    let io = |e: std::io::Error| Error::data_at(path, e.to_string());
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let json = serde_json::to_string(value).expect("a result serializes");
    std::fs::write(path, format!("{json}\n")).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(result: DeployResult) -> DeployReport {
        DeployReport {
            commit: None,
            content_hash: None,
            duration_ms: None,
            error: None,
            exit_code: None,
            project: "p".into(),
            result,
        }
    }

    #[test]
    fn the_decision_and_the_agents_verdict_make_the_result() {
        use DeployResult::*;
        for (decision, reported, expected) in [
            (None, None, Failed),
            (None, Some(Deployed), Failed),
            (Some(false), None, Unchanged),
            (Some(true), None, Failed),
            (Some(true), Some(Deployed), Deployed),
            (Some(true), Some(Unchanged), Unchanged),
            (Some(true), Some(Failed), Failed),
        ] {
            let reported = reported.map(report);
            assert_eq!(
                result(decision, reported.as_ref()),
                expected,
                "{decision:?} {reported:?}"
            );
        }
    }
}
