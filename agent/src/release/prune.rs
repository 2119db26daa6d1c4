//! What a project keeps after a successful deploy: the newest `keep_releases` releases that ran,
//! the checkout and the running one (their directories, overrides and images). Everything else
//! of the project goes, and so do its dangling images and the engine's build cache unused for
//! `build_cache_max_age_secs`.

use kelev_core::CommitId;

use crate::host::config::Config;
use crate::host::layout::Layout;
use crate::host::lock::ProjectLock;
use crate::host::state::State;
use crate::release::docker::Docker;

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
        let _ = std::fs::remove_file(layout.override_file(name, &commit));
    }
    let images = docker
        .images(&format!("kelev-{name}-*"))
        .unwrap_or_default();
    for image in images {
        let tag = image.rsplit(':').next().unwrap_or("");
        if CommitId::parse(tag).is_some() && !keep.iter().any(|k| k.as_str() == tag) {
            docker.best_effort(&["rmi", &image]);
        }
    }
    let label = format!("label=com.docker.compose.project={name}");
    docker.best_effort(&["image", "prune", "--force", "--filter", &label]);
    // The build cache is the engine's, shared by every project and not labelled by any: what
    // no build has used for a while goes, whoever made it. BuildKit keeps what a running build
    // uses, and a kept release needs its image, never the cache.
    if config.build_cache_max_age_secs > 0 {
        let until = format!("until={}s", config.build_cache_max_age_secs);
        docker.best_effort(&["builder", "prune", "--force", "--all", "--filter", &until]);
    }
}
