//! Each project's bare mirror of its repository, fetched with libgit2: no shell, no hooks, no
//! user or system git config, and the URL only ever from the manifest.

use std::io::Write;
use std::path::{Path, PathBuf};

use git2::{
    build::CheckoutBuilder, AutotagOption, FetchOptions, FetchPrune, Oid, RemoteCallbacks,
    Repository,
};

use kelev_core::{content_hash, CommitId, ContentHash, Project};

use crate::error::Error;
use crate::host::signals;
use crate::release::git_credential::credential;
use crate::release::trust;

#[derive(Clone, Copy)]
enum Depth {
    Tips,
    Full,
}

pub(crate) struct Mirror<'a> {
    repo: Repository,
    project: &'a Project,
    credentials: PathBuf,
}

/// Keep libgit2 away from `~/.gitconfig` and `/etc/gitconfig` (`url.*.insteadOf`, proxies,
/// credential helpers): only the manifest decides what is fetched from where. Done once, at the
/// first repository opened: starting libgit2 sets up OpenSSL, which `status`, `version` and the
/// refusals need not pay, with the CA certificates [`trust`] says.
fn isolate_from_git_config() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(isolate_now);
}

fn isolate_now() {
    use git2::ConfigLevel;
    trust::trust_system_directory();
    for level in [
        ConfigLevel::System,
        ConfigLevel::XDG,
        ConfigLevel::Global,
        ConfigLevel::ProgramData,
    ] {
        // SAFETY: called once at start-up, before any other thread uses libgit2.
        let _ = unsafe { git2::opts::set_search_path(level, "") };
    }
    // The owner check (`safe.directory`) guards against a repository's config making git run
    // programs (hooks, fsmonitor). libgit2 runs none, and a file:// remote owned by another user
    // (say root's repository on the host) is a legitimate source.
    // SAFETY: as above.
    let _ = unsafe { git2::opts::set_verify_owner_validation(false) };
}

impl<'a> Mirror<'a> {
    pub(crate) fn open(
        path: &Path,
        project: &'a Project,
        credentials: PathBuf,
    ) -> Result<Mirror<'a>, Error> {
        isolate_from_git_config();
        let repo = match Repository::open_bare(path) {
            Ok(repo) => repo,
            Err(_) => {
                let _ = std::fs::remove_dir_all(path);
                Repository::init_bare(path).map_err(git_error(project, "init"))?
            }
        };
        Ok(Mirror {
            repo,
            project,
            credentials,
        })
    }

    /// The commit to deploy: `commit` if given (fetched only if not already here), else the tip
    /// of the project's `ref`, fetched fresh.
    pub(crate) fn resolve(
        &self,
        commit: Option<&CommitId>,
        progress: &mut dyn Write,
    ) -> Result<CommitId, Error> {
        if let Some(commit) = commit {
            let oid = Oid::from_str(commit.as_str()).map_err(git_error(self.project, "parse"))?;
            if self.has_commit(oid) {
                return Ok(commit.clone());
            }
            self.say_fetching(progress);
            // The cheapest first: the tips only, then the object itself (servers that allow
            // it), then the whole history. A remote that cannot be fetched shallowly gets the
            // whole history at once.
            if self.shallow_capable() {
                self.try_shallow(&[], progress)?;
                if !self.has_commit(oid) {
                    self.try_shallow(&[commit.as_str()], progress)?;
                }
            }
            if !self.has_commit(oid) {
                self.fetch(&[], Depth::Full)?;
            }
            if !self.has_commit(oid) {
                return Err(Error::CommitMissing {
                    project: self.project.name.clone(),
                    commit: commit.clone(),
                    repo: self.project.repo.clone(),
                });
            }
            return Ok(commit.clone());
        }
        self.say_fetching(progress);
        if !(self.shallow_capable() && self.try_shallow(&[], progress)?) {
            self.fetch(&[], Depth::Full)?;
        }
        let git_ref = &self.project.git_ref;
        let oid = [
            format!("refs/heads/{git_ref}"),
            format!("refs/tags/{git_ref}"),
        ]
        .iter()
        .find_map(|name| {
            let reference = self.repo.find_reference(name).ok()?;
            Some(reference.peel_to_commit().ok()?.id())
        })
        .ok_or_else(|| Error::RefMissing {
            project: self.project.name.clone(),
            repo: self.project.repo.clone(),
            git_ref: git_ref.clone(),
        })?;
        Ok(CommitId::parse(&oid.to_string()).expect("libgit2 gives full lowercase ids"))
    }

    /// libgit2's local transport (file://) refuses depths: it copies objects anyway.
    fn shallow_capable(&self) -> bool {
        !self.project.repo.starts_with("file://")
    }

    fn has_commit(&self, oid: Oid) -> bool {
        self.repo.find_commit(oid).is_ok()
    }

    /// One line per resolve, whatever the fallbacks below it take.
    fn say_fetching(&self, progress: &mut dyn Write) {
        let _ = writeln!(
            progress,
            "fetching {} from {}",
            self.project.name, self.project.repo
        );
    }

    /// A shallow fetch, and whether it went through. One that failed is not the end (more
    /// comes next), but its reason is said, not dropped; an interruption ends the resolve.
    fn try_shallow(&self, wanted: &[&str], progress: &mut dyn Write) -> Result<bool, Error> {
        match self.fetch(wanted, Depth::Tips) {
            Ok(()) => Ok(true),
            Err(error @ Error::Interrupted { .. }) => Err(error),
            Err(error) => {
                let _ = writeln!(progress, "shallow fetch failed ({error}); trying further");
                Ok(false)
            }
        }
    }

    /// Fetch all branches and tags (or just `wanted` object ids) into the mirror: only their
    /// tips' commits (a deploy needs one tree, not the history), or everything.
    fn fetch(&self, wanted: &[&str], depth: Depth) -> Result<(), Error> {
        signals::check()?;
        let mut remote = self
            .repo
            .remote_anonymous(&self.project.repo)
            .map_err(git_error(self.project, "fetch"))?;
        let mut callbacks = RemoteCallbacks::new();
        let mut attempts = 0;
        let credentials = &self.credentials;
        let name = self.project.name.as_str();
        callbacks.credentials(move |_url, username, allowed| {
            attempts += 1;
            if attempts > 3 {
                return Err(git2::Error::from_str("credentials were refused"));
            }
            credential(credentials, name, username, allowed)
        });
        // Returning false aborts the transfer when we are asked to stop.
        callbacks.transfer_progress(|_| signals::pending().is_none());
        let mut options = FetchOptions::new();
        options
            .remote_callbacks(callbacks)
            .download_tags(AutotagOption::None)
            .prune(FetchPrune::On)
            .depth(match depth {
                Depth::Tips => 1,
                // GIT_FETCH_DEPTH_UNSHALLOW: what a shallow mirror lacks; 0: everything.
                Depth::Full if self.repo.is_shallow() => i32::MAX,
                Depth::Full => 0,
            });
        let refspecs: Vec<&str> = if wanted.is_empty() {
            vec!["+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"]
        } else {
            wanted.to_vec()
        };
        let result = remote.fetch(&refspecs, Some(&mut options), None);
        signals::check()?;
        result.map_err(git_error(self.project, "fetch"))
    }

    pub(crate) fn content_hash(&self, commit: &CommitId) -> Result<ContentHash, Error> {
        let oid = Oid::from_str(commit.as_str()).map_err(git_error(self.project, "parse"))?;
        content_hash(&self.repo, oid, &self.project.hash_ignore)
            .map_err(git_error(self.project, "read"))
    }

    /// Write the tree of `commit` into `dest`, a new directory.
    pub(crate) fn write_tree(&self, commit: &CommitId, dest: &Path) -> Result<(), Error> {
        let oid = Oid::from_str(commit.as_str()).map_err(git_error(self.project, "parse"))?;
        let tree = self
            .repo
            .find_commit(oid)
            .and_then(|c| c.tree())
            .map_err(git_error(self.project, "checkout"))?;
        std::fs::create_dir_all(dest).map_err(Error::io(dest))?;
        let mut builder = CheckoutBuilder::new();
        builder
            .target_dir(dest)
            .force()
            .recreate_missing(true)
            .update_index(false)
            .disable_filters(false);
        self.repo
            .checkout_tree(tree.as_object(), Some(&mut builder))
            .map_err(git_error(self.project, "checkout"))
    }
}

fn git_error<'p>(
    project: &'p Project,
    action: &'static str,
) -> impl FnOnce(git2::Error) -> Error + 'p {
    move |e| Error::Git {
        project: project.name.clone(),
        action,
        message: e.message().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A remote that refuses every connection: the `fetching` line comes once, the shallow
    /// fetch's reason is said rather than dropped, and the resolve fails with the last error.
    #[test]
    fn a_failed_shallow_fetch_is_said_once_with_its_reason() {
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = closed.local_addr().unwrap().port();
        drop(closed);
        let repo = format!("http://127.0.0.1:{port}/x.git");
        let manifest = kelev_core::Manifest::parse(
            format!(r#"{{"domain":"d.dev","projects":[{{"name":"p","repo":"{repo}"}}]}}"#)
                .as_bytes(),
            &kelev_core::ManifestOrigin::Stdin,
        )
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mirror = Mirror::open(
            &dir.path().join("mirror"),
            &manifest.projects[0],
            dir.path().join("credentials"),
        )
        .unwrap();
        let mut progress = Vec::new();
        let error = mirror.resolve(None, &mut progress).unwrap_err();
        let progress = String::from_utf8(progress).unwrap();
        let lines: Vec<&str> = progress.lines().collect();
        assert_eq!(lines.len(), 2, "{progress}");
        assert_eq!(lines[0], format!("fetching p from {repo}"));
        assert!(
            lines[1].starts_with("shallow fetch failed (")
                && lines[1].ends_with("); trying further"),
            "{progress}"
        );
        assert!(error.to_string().contains("fetch"), "{error}");
    }
}
