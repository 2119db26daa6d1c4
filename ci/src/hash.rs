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
    if repo.is_empty().unwrap_or(false) {
        return Err(Error::Rev {
            rev: rev.to_owned(),
            message: format!(
                "`{}` has no commit yet: the content hash is of a commit",
                repo_path.display()
            ),
        });
    }
    if rev == "HEAD" && has_changes(&repo) {
        let _ = writeln!(
            std::io::stderr(),
            "warning: `{}` has uncommitted changes; this is the hash of HEAD, without them",
            repo_path.display()
        );
    }
    let commit = repo
        .revparse_single(rev)
        .and_then(|object| object.peel_to_commit())
        .map_err(rev_error)?;
    let hash = content_hash(&repo, commit.id(), &ignore).map_err(rev_error)?;
    let _ = writeln!(out, "{hash}");
    Ok(0)
}

/// Whether tracked files differ from HEAD (staged or not); untracked files are not counted.
fn has_changes(repo: &git2::Repository) -> bool {
    if repo.is_bare() {
        return false;
    }
    let mut options = git2::StatusOptions::new();
    options.include_untracked(false).include_ignored(false);
    repo.statuses(Some(&mut options))
        .is_ok_and(|statuses| !statuses.is_empty())
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
