//! Step 6, record: what runs now in `state.json`, the `current` link, and pruning what is no
//! longer kept. A deploy records all three; a rebuild has `current` already; a rollback keeps
//! what it rolled back from on disk (no pruning); a restart for new secrets records the state
//! alone.

use std::path::Path;
use std::time::Duration;

use kelev_core::CommitId;

use crate::error::Error;
use crate::host::config::Config;
use crate::host::layout::Layout;
use crate::host::lock::ProjectLock;
use crate::host::state::{Running, State};
use crate::release::docker::Docker;
use crate::release::docker_call::DockerCall;

/// `running` as what runs now, and `forget` (what a rollback leaves) out of the history;
/// written to `state.json`.
pub(crate) fn record_state(
    layout: &Layout,
    held: &ProjectLock,
    state: &mut State,
    running: Running,
    forget: Option<&CommitId>,
) -> Result<(), Error> {
    if let Some(forget) = forget {
        state.history.retain(|c| c != forget);
    }
    state.record_running(running);
    state.save(layout, &held.project().name)
}

/// Point `current` at `commit`'s release.
pub(crate) fn point_current(
    layout: &Layout,
    held: &ProjectLock,
    commit: &CommitId,
) -> Result<(), Error> {
    layout.set_checkout(&held.project().name, commit)
}

/// What a project keeps after a successful deploy: the newest `keep_releases` releases that
/// ran, the checkout and the running one (their directories, overrides and images). Everything
/// else of the project goes, and so do its dangling images and the engine's build cache unused
/// for `build_cache_max_age_secs`. What costs Docker calls runs only when it can find
/// something: the images when a release directory went, the build cache at most once an hour.
pub(crate) fn prune(
    config: &Config,
    layout: &Layout,
    docker: &Docker,
    held: &ProjectLock,
    state: &State,
) {
    let name = &held.project().name;
    let mut keep: Vec<&CommitId> = state
        .history
        .iter()
        .rev()
        .take(config.keep_releases)
        .collect();
    keep.extend(state.running_commit());
    let checkout = layout.checkout(name);
    keep.extend(checkout.as_ref());
    let mut released = false;
    let mut pulled = Vec::new();
    for entry in std::fs::read_dir(layout.releases(name))
        .into_iter()
        .flatten()
        .flatten()
    {
        let file_name = entry.file_name().to_string_lossy().into_owned();
        let Some(commit) = CommitId::parse(&file_name) else {
            continue;
        };
        if keep.contains(&&commit) {
            continue;
        }
        // Renamed out of the way first: a release directory under its own name is whole, even
        // if this run dies halfway through deleting it.
        let doomed = entry
            .path()
            .with_file_name(format!(".tmp-prune-{commit}-{}", std::process::id()));
        if std::fs::rename(entry.path(), &doomed).is_ok() {
            let _ = std::fs::remove_dir_all(&doomed);
        }
        released = true;
        let override_file = layout.override_file(name, &commit);
        let normalized = override_file.with_extension("config.json");
        pulled.extend(crate::pipeline::pull::tagged_by(&normalized, &commit));
        let _ = std::fs::remove_file(normalized);
        let _ = std::fs::remove_file(override_file);
    }
    // An image outlives its release only until this prune: each is tagged by its commit, and
    // a rebuild of a kept commit makes the same image again.
    if released {
        prune_images(docker, name, &keep);
    }
    for image in &pulled {
        docker.best_effort(&DockerCall::remove_image(image));
    }
    // The build cache is the engine's, shared by every project and not labelled by any: what
    // no build has used for a while goes, whoever made it. BuildKit keeps what a running build
    // uses, and a kept release needs its image, never the cache.
    let max_age = Duration::from_secs(config.build_cache_max_age_secs);
    if !max_age.is_zero() && due(&layout.locks().join(".builder-prune"), max_age) {
        docker.best_effort(&DockerCall::prune_build_cache(
            config.build_cache_max_age_secs,
        ));
    }
}

/// How often the engine's build cache is looked at, at most (and at most `max_age`).
const BUILDER_PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// Whether the stamp at `path` is older than [`BUILDER_PRUNE_EVERY`] or `max_age` (or missing);
/// if so it is touched now, so that one deploy in that time does the work.
fn due(path: &Path, max_age: Duration) -> bool {
    let every = BUILDER_PRUNE_EVERY.min(max_age);
    let fresh = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|at| at.elapsed().ok())
        .is_some_and(|age| age < every);
    !fresh && crate::host::layout::write_atomic(path, b"").is_ok()
}

/// The images of `name` whose commit is not kept, and its dangling ones.
fn prune_images(docker: &Docker, name: &kelev_core::ProjectName, keep: &[&CommitId]) {
    let images = docker
        .images(&format!("kelev-{name}-*"))
        .unwrap_or_default();
    for image in images {
        let tag = image.rsplit(':').next().unwrap_or("");
        if CommitId::parse(tag).is_some() && !keep.iter().any(|k| k.as_str() == tag) {
            docker.best_effort(&DockerCall::remove_image(&image));
        }
    }
    docker.best_effort(&DockerCall::prune_images(name.as_str()));
}
