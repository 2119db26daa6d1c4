//! `kelev plan`: the manifest, validated by the agent's own code, as a GitHub Actions matrix.

use std::io::Write;
use std::path::Path;

use kelev_core::{Manifest, ProjectName};

use crate::error::Error;

pub(crate) fn run(manifest: &Path, only: &[String], out: &mut dyn Write) -> Result<i32, Error> {
    let manifest = Manifest::load(manifest)?;
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
        .map(|p| serde_json::json!({"name": p.name.as_str(), "repo": p.repo, "ref": p.git_ref}))
        .collect();
    let _ = writeln!(out, "{}", serde_json::json!({ "include": include }));
    Ok(0)
}
