//! Where everything the agent owns lives under `root`.
//!
//! ```text
//! root/
//!   projects.json                  the manifest (unless agent.json says otherwise)
//!   audit.log                      one JSON line per invocation
//!   locks/<name>.lock              per-project flock; holder written inside
//!   data/<name>/                   persistent data, KELEV_DATA_DIR
//!   secrets/<name>.env             runtime secrets (0600), handed to every service
//!   logs/.<pid>.<n>.log            compose output being followed (left only if the agent died)
//!   git-credentials/<name>.token   optional https token (or default.token)
//!   git-credentials/<name>.key     optional ssh deploy key (or default.key)
//!   projects/<name>/
//!     repo.git/                    bare mirror, fetched incrementally
//!     releases/<commit>/           complete release directories (renamed into place when whole)
//!     releases/.tmp-*              release directories in progress, removed on failure or next run
//!     overrides/<commit>.json      the compose override the agent writes
//!     overrides/<commit>.config.json  `compose config` of that release, kept (it never changes)
//!     current -> releases/<commit> the checkout, swapped atomically
//!     state.json                   what is running
//! ```

use std::path::{Path, PathBuf};

use kelev_core::{CommitId, ProjectName};

use crate::error::Error;

#[derive(Debug, Clone)]
pub(crate) struct Layout {
    root: PathBuf,
}

impl Layout {
    pub(crate) fn new(root: &Path) -> Layout {
        Layout {
            root: root.to_owned(),
        }
    }

    pub(crate) fn audit_log(&self) -> PathBuf {
        self.root.join("audit.log")
    }

    pub(crate) fn locks(&self) -> PathBuf {
        self.root.join("locks")
    }

    pub(crate) fn lock(&self, project: &ProjectName) -> PathBuf {
        self.locks().join(format!("{project}.lock"))
    }

    pub(crate) fn manifest_lock(&self) -> PathBuf {
        // Project names cannot start with a dot, so this never collides with one.
        self.locks().join(".manifest.lock")
    }

    pub(crate) fn data(&self, project: &ProjectName) -> PathBuf {
        self.root.join("data").join(project.as_str())
    }

    /// Where compose writes its output while the agent follows it (files removed when done).
    pub(crate) fn compose_logs(&self) -> PathBuf {
        self.root.join("logs")
    }

    /// A project's runtime secrets, `KEY=value` lines, mode 0600.
    pub(crate) fn secrets(&self, project: &ProjectName) -> PathBuf {
        self.root.join("secrets").join(format!("{project}.env"))
    }

    /// A project's registry logins: a Docker client configuration directory (`config.json`,
    /// mode 0600, in a directory of mode 0700) that only that project's pulls use.
    pub(crate) fn registry_config(&self, project: &ProjectName) -> PathBuf {
        self.root.join("registry").join(project.as_str())
    }

    pub(crate) fn credentials(&self) -> PathBuf {
        self.root.join("git-credentials")
    }

    pub(crate) fn projects(&self) -> PathBuf {
        self.root.join("projects")
    }

    pub(crate) fn project(&self, project: &ProjectName) -> PathBuf {
        self.projects().join(project.as_str())
    }

    pub(crate) fn mirror(&self, project: &ProjectName) -> PathBuf {
        self.project(project).join("repo.git")
    }

    pub(crate) fn releases(&self, project: &ProjectName) -> PathBuf {
        self.project(project).join("releases")
    }

    pub(crate) fn release(&self, project: &ProjectName, commit: &CommitId) -> PathBuf {
        self.releases(project).join(commit.as_str())
    }

    pub(crate) fn override_file(&self, project: &ProjectName, commit: &CommitId) -> PathBuf {
        self.project(project)
            .join("overrides")
            .join(format!("{commit}.json"))
    }

    pub(crate) fn current(&self, project: &ProjectName) -> PathBuf {
        self.project(project).join("current")
    }

    pub(crate) fn state(&self, project: &ProjectName) -> PathBuf {
        self.project(project).join("state.json")
    }

    /// The commit `current` points at, if any.
    pub(crate) fn checkout(&self, project: &ProjectName) -> Option<CommitId> {
        let target = std::fs::read_link(self.current(project)).ok()?;
        CommitId::parse(target.file_name()?.to_str()?)
    }

    /// Point `current` at `commit`'s release: a new symlink renamed over the old one, so a reader
    /// sees the old or the new checkout, never neither.
    pub(crate) fn set_checkout(
        &self,
        project: &ProjectName,
        commit: &CommitId,
    ) -> Result<(), Error> {
        let current = self.current(project);
        let tmp = self
            .project(project)
            .join(format!(".current.{}", std::process::id()));
        let _ = std::fs::remove_file(&tmp);
        let target = Path::new("releases").join(commit.as_str());
        std::os::unix::fs::symlink(&target, &tmp).map_err(Error::io(&tmp))?;
        std::fs::rename(&tmp, &current).map_err(Error::io(&current))?;
        sync_dir(&self.project(project));
        Ok(())
    }

    /// Projects that have a directory here, in name order.
    pub(crate) fn known_projects(&self) -> Vec<ProjectName> {
        let mut names: Vec<ProjectName> = std::fs::read_dir(self.projects())
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|entry| ProjectName::parse(entry.file_name().to_str()?))
            .collect();
        names.sort();
        names
    }
}

/// Create `path` and its parents.
pub(crate) fn create_dir(path: &Path) -> Result<(), Error> {
    std::fs::create_dir_all(path).map_err(Error::io(path))
}

/// The agent's root, made 0750 if missing: secrets and releases under it are the deploy
/// user's (and its group's) alone (docs/security.md).
pub(crate) fn create_root(path: &Path) -> Result<(), Error> {
    use std::os::unix::fs::DirBuilderExt;
    if let Some(parent) = path.parent() {
        create_dir(parent)?;
    }
    match std::fs::DirBuilder::new().mode(0o750).create(path) {
        Ok(()) => Ok(()),
        Err(e) if path.is_dir() && e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(Error::io(path)(e)),
    }
}

/// Write `bytes` to `path` so that readers see the old or the new content, never a part.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    write_atomic_mode(path, bytes, 0o644)
}

/// [`write_atomic`] for what only the agent's user may read (secrets, overrides holding them).
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    write_atomic_mode(path, bytes, 0o600)
}

fn write_atomic_mode(path: &Path, bytes: &[u8], mode: u32) -> Result<(), Error> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let dir = path.parent().unwrap_or(Path::new("."));
    create_dir(dir)?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let _ = std::fs::remove_file(&tmp);
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(source) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::Io {
            path: path.to_owned(),
            source,
        });
    }
    sync_dir(dir);
    Ok(())
}

fn sync_dir(dir: &Path) {
    if let Ok(dir) = std::fs::File::open(dir) {
        let _ = dir.sync_all();
    }
}
