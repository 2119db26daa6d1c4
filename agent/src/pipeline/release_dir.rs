//! Step 2, the release directory: the tree of one commit, written from the project's mirror
//! into a temporary directory and renamed into place, so that `releases/<commit>` is whole or
//! absent.

use kelev_core::CommitId;

use crate::error::Error;
use crate::host::layout::Layout;
use crate::host::lock::ProjectLock;
use crate::host::signals;
use crate::release::mirror::Mirror;

/// Make `releases/<commit>` exist and be complete.
pub(crate) fn make_release_dir(
    layout: &Layout,
    mirror: &Mirror,
    held: &ProjectLock,
    commit: &CommitId,
) -> Result<(), Error> {
    let name = &held.project().name;
    let dir = layout.release(name, commit);
    if dir.is_dir() {
        return Ok(());
    }
    let tmp = layout
        .releases(name)
        .join(format!(".tmp-{commit}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let result = mirror
        .write_tree(commit, &tmp)
        .and_then(|()| signals::check())
        .and_then(|()| std::fs::rename(&tmp, &dir).map_err(Error::io(&dir)));
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    result
}

/// What a run that was killed left behind; the lock says nobody is writing them.
pub(crate) fn remove_partial_releases(layout: &Layout, held: &ProjectLock) {
    for entry in std::fs::read_dir(layout.releases(&held.project().name))
        .into_iter()
        .flatten()
        .flatten()
    {
        if entry.file_name().to_string_lossy().starts_with(".tmp-") {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}
