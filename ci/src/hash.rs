//! `kelev hash`: the content hash of a commit, the same function the agent reports in `status`.

use std::io::Write;
use std::path::Path;

use kelev_core::{content_hash, HashIgnore, Manifest, ProjectName};

use crate::error::Error;

pub(crate) fn run(
    repo_path: &Path,
    rev: &str,
    manifest: Option<&Path>,
    project: Option<&str>,
    out: &mut dyn Write,
) -> Result<i32, Error> {
    let ignore = match (manifest, project) {
        (Some(manifest), Some(project)) => hash_ignore(manifest, project)?,
        _ => HashIgnore::none(),
    };
    let repo = git2::Repository::open(repo_path).map_err(|e| Error::Repo {
        path: repo_path.to_owned(),
        message: e.message().to_owned(),
    })?;
    let rev_error = |e: git2::Error| Error::Rev {
        rev: rev.to_owned(),
        message: e.message().to_owned(),
    };
    let commit = repo
        .revparse_single(rev)
        .and_then(|object| object.peel_to_commit())
        .map_err(rev_error)?;
    let hash = content_hash(&repo, commit.id(), &ignore).map_err(rev_error)?;
    let _ = writeln!(out, "{hash}");
    Ok(0)
}

fn hash_ignore(manifest: &Path, project: &str) -> Result<HashIgnore, Error> {
    let manifest = Manifest::load(manifest)?;
    let unknown = || Error::UnknownProject {
        project: project.to_owned(),
    };
    let name = ProjectName::parse(project).ok_or_else(unknown)?;
    Ok(manifest
        .project(&name)
        .ok_or_else(unknown)?
        .hash_ignore
        .clone())
}
