//! `kelev plan`: the manifest, validated by the agent's own code, as a GitHub Actions matrix.
//! Given what the host runs, each entry carries the content hash the host runs with its
//! containers up, so each deploy job can decide (`kelev decide`) without asking the host again.

use std::io::Write;
use std::path::Path;

use kelev_core::{ContentHash, Manifest, ProjectName};

use crate::error::Error;
use crate::host_status::HostStatus;

pub(crate) fn run(
    manifest: &Path,
    only: &[String],
    host_status: Option<&Path>,
    out: &mut dyn Write,
) -> Result<i32, Error> {
    let manifest = Manifest::load(manifest)?;
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
    let _ = writeln!(out, "{}", serde_json::json!({ "include": include }));
    Ok(0)
}
