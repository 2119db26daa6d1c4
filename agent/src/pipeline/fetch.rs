//! Step 1, fetch: the project's mirror brought up to date and the commit to deploy resolved
//! (the one asked for, else the tip of the project's ref). What a killed run left in
//! `releases/` goes first; the lock says nobody is writing it.

use std::io::Write;

use kelev_core::{CommitId, Project};

use crate::error::Error;
use crate::host::layout::Layout;
use crate::host::lock::ProjectLock;
use crate::pipeline::release_dir::remove_partial_releases;
use crate::release::mirror::Mirror;

/// A commit fetched into the project's mirror.
pub(crate) struct Fetched<'p> {
    pub(crate) mirror: Mirror<'p>,
    pub(crate) commit: CommitId,
}

pub(crate) fn fetch<'p>(
    layout: &Layout,
    held: &'p ProjectLock,
    commit: Option<&CommitId>,
    progress: &mut dyn Write,
) -> Result<Fetched<'p>, Error> {
    remove_partial_releases(layout, held);
    let mirror = open_mirror(layout, held.project())?;
    let commit = mirror.resolve(commit, progress)?;
    Ok(Fetched { mirror, commit })
}

/// The project's mirror as it is, fetching nothing (for the content hash of a kept release).
pub(crate) fn open_mirror<'p>(layout: &Layout, project: &'p Project) -> Result<Mirror<'p>, Error> {
    Mirror::open(&layout.mirror(&project.name), project, layout.credentials())
}
