//! Step 3b, pull: the images of the services that name one and build none, from their
//! registries (`compose pull`), while the old release serves; then each image's digest, which
//! the release records. A project whose CI builds and pushes `registry/app:${KELEV_COMMIT}`
//! deploys that way. The pull runs with the project's own registry logins (`registry-login`)
//! and no other project's. A rollback, or a restart for new secrets, pulls nothing: it runs
//! the images kept from the release's own pull, and reads their digests from the engine.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use kelev_core::CommitId;

use crate::error::Error;
use crate::host::layout::Layout;
use crate::host::signals;
use crate::release::compose_call::PullPolicy;
use crate::release::docker::Docker;
use crate::release::docker_call::DockerCall;
use crate::release::release::{Override, Release};

/// Pull what `written` says the release takes from a registry (nothing to do: no call).
pub(crate) fn pull(
    docker: &Docker,
    layout: &Layout,
    release: &Release,
    written: &Override,
    policy: PullPolicy,
    progress: &mut dyn Write,
) -> Result<(), Error> {
    if written.pulled.is_empty() {
        return Ok(());
    }
    let name = &release.project.name;
    let _ = writeln!(progress, "pulling {name} at {}", release.commit);
    let mut compose = release.compose(true);
    let logins = layout.registry_config(name);
    if logins.join("config.json").is_file() {
        compose = compose.with_env("DOCKER_CONFIG", logins.display().to_string());
    }
    docker.compose(&compose.pull(policy), progress)?;
    signals::check()
}

/// Each pulled service's image as the engine holds it, by digest (`registry/app@sha256:...`);
/// an image that came from no registry (built by hand, say) is left out.
pub(crate) fn digests(docker: &Docker, written: &Override) -> BTreeMap<String, String> {
    if written.pulled.is_empty() {
        return BTreeMap::new();
    }
    let images: Vec<&str> = written.pulled.iter().map(|(_, i)| i.as_str()).collect();
    let Ok(out) = docker.run(&DockerCall::repo_digests(&images)) else {
        return BTreeMap::new();
    };
    let lines = String::from_utf8_lossy(&out.stdout).into_owned();
    written
        .pulled
        .iter()
        .zip(lines.lines())
        .filter_map(|((service, image), line)| {
            let known: Vec<String> = serde_json::from_str(line).ok()?;
            let digest = pick(image, &known)?;
            Some((service.clone(), digest))
        })
        .collect()
}

/// The images a release pulled that carry its commit in their name (`registry/app:<commit>`,
/// from `${KELEV_COMMIT}`), as its cached `compose config` (`normalized`) says: what pruning
/// removes with the release. An image shared with other releases (`redis:7`) stays.
pub(crate) fn tagged_by(normalized: &Path, commit: &CommitId) -> Vec<String> {
    let cached: Option<serde_json::Value> = std::fs::read(normalized)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok());
    let Some(cached) = cached else {
        return Vec::new();
    };
    let services = cached["config"]["services"].as_object().cloned();
    services
        .unwrap_or_default()
        .values()
        .filter(|definition| definition.get("build").is_none())
        .filter_map(|definition| definition.get("image")?.as_str().map(str::to_owned))
        .filter(|image| image.contains(commit.as_str()))
        .collect()
}

/// Of an image's `RepoDigests`, the one of the repository `image` names.
fn pick(image: &str, known: &[String]) -> Option<String> {
    let repository = repository(image);
    known
        .iter()
        .find(|d| d.split_once('@').is_some_and(|(r, _)| r == repository))
        .or(known.first())
        .cloned()
}

/// `registry:5000/app` of `registry:5000/app:tag` or `registry:5000/app@sha256:...`.
fn repository(image: &str) -> &str {
    let image = image.split_once('@').map_or(image, |(r, _)| r);
    match image.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => repo,
        _ => image,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pruning_takes_the_images_tagged_by_the_commit() {
        let dir = tempfile::tempdir().unwrap();
        let commit = CommitId::parse(&"a".repeat(40)).unwrap();
        let cache = dir.path().join("x.config.json");
        let config = serde_json::json!({"compose_file": "c", "config": {"services": {
            "web": {"image": format!("r:1/app:{commit}")},
            "db": {"image": "redis:7"},
            "api": {"build": {"context": "."}, "image": format!("kelev-p-api:{commit}")},
        }}});
        std::fs::write(&cache, config.to_string()).unwrap();
        assert_eq!(tagged_by(&cache, &commit), [format!("r:1/app:{commit}")]);
        assert!(tagged_by(&dir.path().join("absent"), &commit).is_empty());
    }

    #[test]
    fn the_repository_of_an_image() {
        assert_eq!(repository("127.0.0.1:5000/app:abc"), "127.0.0.1:5000/app");
        assert_eq!(repository("127.0.0.1:5000/app"), "127.0.0.1:5000/app");
        assert_eq!(repository("ghcr.io/o/app@sha256:00"), "ghcr.io/o/app");
        assert_eq!(repository("redis"), "redis");
    }

    #[test]
    fn the_digest_of_the_named_repository() {
        let known = [
            "other/app@sha256:11".to_owned(),
            "r:1/app@sha256:22".to_owned(),
        ];
        assert_eq!(pick("r:1/app:abc", &known).unwrap(), "r:1/app@sha256:22");
        assert_eq!(pick("x/y:1", &known).unwrap(), "other/app@sha256:11");
        assert_eq!(pick("x/y:1", &[]), None);
    }
}
