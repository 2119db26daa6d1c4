//! Data a project writes beside its code. A writable bind of a directory inside the release directory
//! (`./data:/app/data`) would be a fresh directory in every release, and deleted with the
//! release when it is pruned; so such a bind is pointed at one place per project under the
//! agent's data directory instead, the same for every release, rollback and rebuild, and never
//! pruned. What a read-only bind or a bind of a file shows (`./nginx.conf:/etc/nginx.conf:ro`)
//! keeps coming from the release. docs/commands.md, "Data that survives deploys", has the rule.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::error::Error;

/// One bind that persists.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PersistentBind {
    pub(crate) service: String,
    /// The path in the repository, as the compose file names it (`data`, `var/uploads`).
    pub(crate) relative: PathBuf,
    /// Where it lives on the host: `<root>/data/<project>/<relative>`.
    pub(crate) source: PathBuf,
    /// The compose file's own volume entry, its `source` replaced by [`Self::source`]: compose
    /// merges an override's volumes by their target, so this entry takes the place of that one.
    pub(crate) entry: Value,
}

/// What [`prepare`] found or made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Placed {
    /// It was there from an earlier release.
    Kept,
    /// Made now, with a copy of what the repository has at that path.
    Seeded,
    /// Made now, empty.
    New,
}

/// The binds of `services` (`compose config` JSON) that persist: `type: bind`, not read-only,
/// the source strictly inside `release_dir` (compose makes relative sources absolute against
/// it) and not a file there. `is_file` says whether a path in the release directory is a regular file.
pub(crate) fn persistent_binds(
    services: &Map<String, Value>,
    release_dir: &Path,
    data_dir: &Path,
    is_file: impl Fn(&Path) -> bool,
) -> Vec<PersistentBind> {
    let mut binds = Vec::new();
    for (service, definition) in services {
        let volumes = definition.get("volumes").and_then(Value::as_array);
        for volume in volumes.into_iter().flatten() {
            let is_bind = volume.get("type").and_then(Value::as_str) == Some("bind");
            let read_only = volume.get("read_only").and_then(Value::as_bool) == Some(true);
            let Some(source) = volume.get("source").and_then(Value::as_str) else {
                continue;
            };
            let Ok(relative) = Path::new(source).strip_prefix(release_dir) else {
                continue;
            };
            let inside = relative.components().next().is_some()
                && relative
                    .components()
                    .all(|c| matches!(c, std::path::Component::Normal(_)));
            if !is_bind || read_only || !inside || is_file(Path::new(source)) {
                continue;
            }
            let host = data_dir.join(relative);
            let mut entry = volume.clone();
            entry["source"] = Value::String(host.display().to_string());
            binds.push(PersistentBind {
                service: service.clone(),
                relative: relative.to_owned(),
                source: host,
                entry,
            });
        }
    }
    binds
}

/// Make each bind's place exist. The first time, it starts as a copy of what the repository has
/// at that path (a seed `data/` directory), or empty; after that it is left as it is.
pub(crate) fn prepare(bind: &PersistentBind, release_dir: &Path) -> Result<Placed, Error> {
    if bind.source.is_dir() {
        return Ok(Placed::Kept);
    }
    let seed = release_dir.join(&bind.relative);
    // Copied beside its place and renamed into it: a place is whole or absent.
    let parent = bind.source.parent().unwrap_or(Path::new("/"));
    crate::host::layout::create_dir(parent)?;
    let tmp = parent.join(format!(".seeding-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let placed = match std::fs::symlink_metadata(&seed) {
        Ok(meta) if meta.is_dir() => {
            copy_tree(&seed, &tmp)?;
            Placed::Seeded
        }
        _ => {
            crate::host::layout::create_dir(&tmp)?;
            Placed::New
        }
    };
    std::fs::rename(&tmp, &bind.source).map_err(Error::io(&bind.source))?;
    Ok(placed)
}

/// Say where each bind placed for the first time now lives.
pub(crate) fn announce(placed: &[(PersistentBind, Placed)], progress: &mut dyn Write) {
    for (bind, placed) in placed {
        let how = match placed {
            Placed::Kept => continue,
            Placed::Seeded => "seeded from the repository",
            Placed::New => "new and empty",
        };
        let _ = writeln!(
            progress,
            "`./{}` of `{}` lives in `{}` from now on, for every release ({how})",
            bind.relative.display(),
            bind.service,
            bind.source.display()
        );
    }
}

/// Directories and regular files, with their permission bits; symbolic links and anything else
/// are left out (a link in a repository must not make the agent copy what it points at).
fn copy_tree(from: &Path, to: &Path) -> Result<(), Error> {
    crate::host::layout::create_dir(to)?;
    let mode = std::fs::metadata(from)
        .map_err(Error::io(from))?
        .permissions();
    std::fs::set_permissions(to, mode).map_err(Error::io(to))?;
    for entry in std::fs::read_dir(from).map_err(Error::io(from))? {
        let entry = entry.map_err(Error::io(from))?;
        let kind = entry.file_type().map_err(Error::io(entry.path()))?;
        let dest = to.join(entry.file_name());
        if kind.is_dir() {
            copy_tree(&entry.path(), &dest)?;
        } else if kind.is_file() {
            std::fs::copy(entry.path(), &dest).map_err(Error::io(&dest))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn services(volumes: Value) -> Map<String, Value> {
        serde_json::from_value(serde_json::json!({
            "app": {"build": {"context": "/r/c"}, "volumes": volumes},
            "db": {"image": "postgres", "volumes": [
                {"type": "volume", "source": "pgdata", "target": "/var/lib/postgresql/data"}
            ]},
        }))
        .unwrap()
    }

    #[test]
    fn which_binds_persist() {
        let list = services(serde_json::json!([
            {"type": "bind", "source": "/r/c/data", "target": "/app/data", "bind": {"create_host_path": true}},
            {"type": "bind", "source": "/r/c/var/uploads", "target": "/app/uploads"},
            {"type": "bind", "source": "/r/c/seed", "target": "/seed", "read_only": true},
            {"type": "bind", "source": "/r/c/nginx.conf", "target": "/etc/nginx.conf"},
            {"type": "bind", "source": "/r/c", "target": "/app"},
            {"type": "bind", "source": "/srv/shared", "target": "/shared"},
            {"type": "tmpfs", "target": "/tmp"},
        ]));
        let binds = persistent_binds(&list, Path::new("/r/c"), Path::new("/d/p"), |p| {
            p.ends_with("nginx.conf")
        });
        let got: Vec<(&str, &Path, &Path)> = binds
            .iter()
            .map(|b| (b.service.as_str(), b.relative.as_path(), b.source.as_path()))
            .collect();
        assert_eq!(
            got,
            [
                ("app", Path::new("data"), Path::new("/d/p/data")),
                (
                    "app",
                    Path::new("var/uploads"),
                    Path::new("/d/p/var/uploads")
                ),
            ]
        );
        assert_eq!(binds[0].entry["source"], "/d/p/data");
        assert_eq!(binds[0].entry["target"], "/app/data");
        assert_eq!(binds[0].entry["bind"]["create_host_path"], true);
    }

    #[test]
    fn seeded_once_then_kept() {
        let dir = tempfile::tempdir().unwrap();
        let release = dir.path().join("release");
        std::fs::create_dir_all(release.join("data/sub")).unwrap();
        std::fs::write(release.join("data/sub/seed.txt"), "seed\n").unwrap();
        std::os::unix::fs::symlink("/etc/passwd", release.join("data/link")).unwrap();
        let bind = PersistentBind {
            service: "app".into(),
            relative: "data".into(),
            source: dir.path().join("persist/data"),
            entry: Value::Null,
        };
        assert_eq!(prepare(&bind, &release).unwrap(), Placed::Seeded);
        assert_eq!(
            std::fs::read_to_string(bind.source.join("sub/seed.txt")).unwrap(),
            "seed\n"
        );
        assert!(!bind.source.join("link").exists(), "links are not followed");
        std::fs::write(bind.source.join("written"), "by the app\n").unwrap();
        std::fs::write(release.join("data/sub/seed.txt"), "new seed\n").unwrap();
        assert_eq!(prepare(&bind, &release).unwrap(), Placed::Kept);
        assert_eq!(
            std::fs::read_to_string(bind.source.join("sub/seed.txt")).unwrap(),
            "seed\n"
        );
        assert!(bind.source.join("written").is_file());
        let empty = PersistentBind {
            relative: "cache".into(),
            source: dir.path().join("persist/cache"),
            ..bind
        };
        assert_eq!(prepare(&empty, &release).unwrap(), Placed::New);
        assert!(empty.source.is_dir());
    }
}
