//! `kelev plan`: the manifest, validated by the agent's own code, as a GitHub Actions matrix.
//! Given what the host runs, each entry carries the content hash the host runs with its
//! containers up, so each deploy job can decide (`kelev decide`) without asking the host again.

use std::io::Write;
use std::path::Path;

use kelev_core::{ContentHash, Manifest, ManifestError, ManifestOrigin, ProjectName};

use crate::error::Error;
use crate::host_status::HostStatus;

pub(crate) fn run(
    manifest: &Path,
    only: &[String],
    host_status: Option<&Path>,
    out: &mut dyn Write,
) -> Result<i32, Error> {
    let path = manifest;
    let manifest = Manifest::load(path)?;
    let host = host_status.map(HostStatus::load).transpose()?;
    for name in only {
        let known = ProjectName::parse(name).is_some_and(|n| manifest.project(&n).is_some());
        if !known {
            return Err(Error::UnknownProject {
                project: name.clone(),
            });
        }
    }
    let include: Vec<serde_json::Value> = manifest
        .projects
        .iter()
        .filter(|p| only.is_empty() || only.iter().any(|n| n == p.name.as_str()))
        .map(|p| {
            let mut entry =
                serde_json::json!({"name": p.name.as_str(), "repo": p.repo, "ref": p.git_ref});
            if let Some(host) = &host {
                entry["running"] = host
                    .running(p.name.as_str())
                    .map_or("", ContentHash::as_str)
                    .into();
            }
            entry
        })
        .collect();
    if include.is_empty() {
        // GitHub fails a job whose matrix has no entries; the plan job's first `kelev plan`
        // (before `manifest-put`) says why instead, with the host untouched.
        return Err(ManifestError::Refused {
            origin: ManifestOrigin::File(path.to_owned()),
            problem: "lists no projects, and GitHub Actions refuses an empty deploy matrix\n\
                      hint: to take every project down, do it by hand (docs/runbook.md#removing-a-project)"
                .into(),
        }
        .into());
    }
    let _ = writeln!(out, "{}", serde_json::json!({ "include": include }));
    Ok(0)
}
