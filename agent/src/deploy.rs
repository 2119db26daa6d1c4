//! deploy, clone and rebuild: fetch a commit into a complete release, build it while the old one
//! serves, start it, and only then record it as running and point `current` at it.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use kelev_core::{ContentHash, Project, ProjectName, Rollout};

use crate::agent::Agent;
use crate::audit::Trail;
use crate::command::CommitId;
use crate::compose::Release;
use crate::error::Error;
use crate::mirror::Mirror;
use crate::secrets::Secrets;
use crate::state::{Running, State};
use crate::{signals, timefmt};

/// How a deploy or rebuild ended, for the summary line or the JSON object.
pub(crate) struct Report {
    pub(crate) result: &'static str,
    pub(crate) project: ProjectName,
    pub(crate) commit: CommitId,
    pub(crate) content_hash: ContentHash,
    pub(crate) took: Duration,
}

impl Report {
    pub(crate) fn line(&self) -> String {
        format!(
            "{} {} at {} (content {}) in {:.1}s",
            self.result,
            self.project,
            self.commit,
            &self.content_hash.as_str()[..12],
            self.took.as_secs_f64()
        )
    }

    pub(crate) fn json(&self) -> String {
        serde_json::json!({
            "project": self.project.as_str(),
            "commit": self.commit.as_str(),
            "content_hash": self.content_hash.as_str(),
            "result": self.result,
            "duration_ms": self.took.as_millis() as u64,
        })
        .to_string()
    }
}

impl Agent {
    pub(crate) fn deploy(
        &self,
        name: &ProjectName,
        commit: Option<&CommitId>,
        force: bool,
        progress: &mut dyn Write,
        trail: &mut Trail,
    ) -> Result<Report, Error> {
        let started = Instant::now();
        let (project, _lock) = self.take(name, "deploy", progress)?;
        let project = &project;
        self.remove_partial_releases(name);
        let mirror = self.mirror(project)?;
        let commit = mirror.resolve(commit, progress)?;
        trail.commit = Some(commit.to_string());
        let hash = mirror.content_hash(&commit)?;
        let mut state = State::load(&self.layout, name)?;
        let report = |result| Report {
            result,
            project: name.clone(),
            commit: commit.clone(),
            content_hash: hash.clone(),
            took: started.elapsed(),
        };
        if !force && self.is_unchanged(project, &state, &hash)? {
            return Ok(report("unchanged"));
        }
        self.ensure_release(&mirror, name, &commit)?;
        let release = Release::new(&self.layout, project, &commit)?;
        self.bring_up(project, &release, &hash, &mut state, progress)?;
        self.layout.set_checkout(name, &commit)?;
        self.prune(name, &state);
        Ok(report("deployed"))
    }

    pub(crate) fn clone_project(
        &self,
        name: &ProjectName,
        commit: Option<&CommitId>,
        progress: &mut dyn Write,
        trail: &mut Trail,
    ) -> Result<CommitId, Error> {
        let (project, _lock) = self.take(name, "clone", progress)?;
        let commit = self.clone_locked(&project, commit, progress)?;
        trail.commit = Some(commit.to_string());
        Ok(commit)
    }

    /// clone, with the project's lock already held.
    pub(crate) fn clone_locked(
        &self,
        project: &Project,
        commit: Option<&CommitId>,
        progress: &mut dyn Write,
    ) -> Result<CommitId, Error> {
        self.remove_partial_releases(&project.name);
        let mirror = self.mirror(project)?;
        let commit = mirror.resolve(commit, progress)?;
        self.ensure_release(&mirror, &project.name, &commit)?;
        self.layout.set_checkout(&project.name, &commit)?;
        Ok(commit)
    }

    pub(crate) fn rebuild(
        &self,
        name: &ProjectName,
        progress: &mut dyn Write,
        trail: &mut Trail,
    ) -> Result<Report, Error> {
        let (project, _lock) = self.take(name, "rebuild", progress)?;
        if let Some(commit) = self.layout.checkout(name) {
            trail.commit = Some(commit.to_string());
        }
        self.rebuild_locked(&project, progress)
    }

    /// rebuild, with the project's lock already held.
    pub(crate) fn rebuild_locked(
        &self,
        project: &Project,
        progress: &mut dyn Write,
    ) -> Result<Report, Error> {
        let started = Instant::now();
        let name = &project.name;
        let commit = self
            .layout
            .checkout(name)
            .ok_or_else(|| Error::ProjectData {
                project: name.clone(),
                message: format!(
                    "has no checkout yet\nhint: run `clone {name}` or `deploy {name}` first"
                ),
            })?;
        let hash = self.mirror(project)?.content_hash(&commit)?;
        let mut state = State::load(&self.layout, name)?;
        let release = Release::new(&self.layout, project, &commit)?;
        self.bring_up(project, &release, &hash, &mut state, progress)?;
        self.prune(name, &state);
        Ok(Report {
            result: "rebuilt",
            project: name.clone(),
            commit,
            content_hash: hash,
            took: started.elapsed(),
        })
    }

    pub(crate) fn mirror<'p>(&self, project: &'p Project) -> Result<Mirror<'p>, Error> {
        Mirror::open(
            &self.layout.mirror(&project.name),
            project,
            self.layout.credentials(),
        )
    }

    /// Same content, same routing, and Docker says every container of that release is up.
    fn is_unchanged(
        &self,
        project: &Project,
        state: &State,
        hash: &ContentHash,
    ) -> Result<bool, Error> {
        let Some(running) = &state.running else {
            return Ok(false);
        };
        let secrets = Secrets::load(&self.layout, &project.name)?;
        if running.content_hash != hash.as_str()
            || running.routing != self.routing(project, &secrets)
        {
            return Ok(false);
        }
        let containers = self.docker.containers(Some(project.name.as_str()))?;
        Ok(!containers.is_empty()
            && containers
                .iter()
                .all(|c| c.is_up() && c.commit.as_deref() == Some(running.commit.as_str())))
    }

    /// Everything besides the commit that the override is made from.
    /// `secrets` are the ones the override is written with, read once by the caller, so the
    /// record matches what the containers got.
    pub(crate) fn routing(&self, project: &Project, secrets: &Secrets) -> String {
        serde_json::json!({
            "domains": project.domains,
            "service": project.service,
            "port": project.port,
            "compose_file": project.compose_file,
            "rollout": project.rollout.name(),
            "traefik": self.config.traefik,
            "secrets": secrets.digest(),
        })
        .to_string()
    }

    /// Make `releases/<commit>` exist and be complete: check out into a temporary directory and
    /// rename it into place, so a release directory is never half-written.
    fn ensure_release(
        &self,
        mirror: &Mirror,
        name: &ProjectName,
        commit: &CommitId,
    ) -> Result<(), Error> {
        let dir = self.layout.release(name, commit);
        if dir.is_dir() {
            return Ok(());
        }
        let tmp = self
            .layout
            .releases(name)
            .join(format!(".tmp-{commit}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        let result = mirror
            .checkout(commit, &tmp)
            .and_then(|()| signals::check())
            .and_then(|()| std::fs::rename(&tmp, &dir).map_err(Error::io(&dir)));
        if result.is_err() {
            let _ = std::fs::remove_dir_all(&tmp);
        }
        result
    }

    /// Left behind by a run that was killed; we hold the lock, so nobody is writing them.
    fn remove_partial_releases(&self, name: &ProjectName) {
        for entry in std::fs::read_dir(self.layout.releases(name))
            .into_iter()
            .flatten()
            .flatten()
        {
            if entry.file_name().to_string_lossy().starts_with(".tmp-") {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }

    /// Build while the old release serves; start; record. If starting fails, put the previous
    /// release back before reporting the failure.
    fn bring_up(
        &self,
        project: &Project,
        release: &Release,
        hash: &ContentHash,
        state: &mut State,
        progress: &mut dyn Write,
    ) -> Result<(), Error> {
        let compose = self.compose()?;
        let secrets = Secrets::load(&self.layout, &project.name)?;
        let written = release.write_override(compose, &self.config.traefik, &secrets)?;
        {
            // Docker 20.10 lets two creators make two networks of one name; then compose
            // refuses both. One project at a time checks and creates it.
            let _network = crate::lock::Lock::acquire(
                &self.layout.locks().join(".network.lock"),
                "the Traefik network",
                &format!("pid {} (network)", std::process::id()),
                std::time::Duration::from_secs(self.config.lock_timeout_secs),
                progress,
            )?;
            self.docker.ensure_network(&self.config.traefik.network)?;
        }
        let _ = writeln!(progress, "building {} at {}", project.name, release.commit);
        release.build(compose, progress)?;
        signals::check()?;
        let rolling = match (project.rollout, &written.rolling_blocker) {
            (Rollout::ZeroDowntime, Some(blocker)) => {
                let _ = writeln!(
                    progress,
                    "zero-downtime rollout is off for {}: {blocker}",
                    project.name
                );
                None
            }
            // Nothing runs yet: there is no old container to keep serving.
            (Rollout::ZeroDowntime, None) if state.running.is_some() => {
                Some(written.routed.as_str())
            }
            _ => None,
        };
        self.start(project, release, state, rolling, progress)?;
        let before = state.clone();
        state.record_running(Running {
            commit: release.commit.to_string(),
            content_hash: hash.to_string(),
            deployed_at: timefmt::now(),
            compose_files: release.compose_files(),
            routing: self.routing(project, &secrets),
        });
        self.save_or_restore(project, state, &before, &release.commit, progress)
    }

    /// Record what now runs; if that cannot be written (a full disk), put back what the record
    /// still says runs, so state and containers never disagree.
    pub(crate) fn save_or_restore(
        &self,
        project: &Project,
        state: &State,
        before: &State,
        started: &CommitId,
        progress: &mut dyn Write,
    ) -> Result<(), Error> {
        let saved = state.save(&self.layout, &project.name);
        if saved.is_err() {
            self.restore_previous(project, before, started, progress);
        }
        saved
    }

    /// `compose up` the release and pass the health gate; on any failure (or a stop request)
    /// put the running release back before reporting it. With `rolling`, the routed service is
    /// replaced without a gap (see [`Agent::roll`]).
    pub(crate) fn start(
        &self,
        project: &Project,
        release: &Release,
        state: &State,
        rolling: Option<&str>,
        progress: &mut dyn Write,
    ) -> Result<(), Error> {
        let how = if rolling.is_some() {
            "zero-downtime"
        } else {
            "recreate"
        };
        let _ = writeln!(
            progress,
            "starting {} at {} ({how})",
            project.name, release.commit
        );
        let result = match rolling {
            Some(service) => self.roll(project, release, service, progress),
            None => self
                .compose()
                .and_then(|compose| release.up(compose, progress))
                .and_then(|()| self.wait_until_up(&project.name, &release.commit, progress)),
        };
        if let Err(error) = result {
            let interrupted = signals::take();
            self.restore_previous(project, state, &release.commit, progress);
            return Err(match interrupted {
                Some(taken) => {
                    signals::put_back(taken);
                    Error::Interrupted {
                        signal: taken.name(),
                    }
                }
                None => error,
            });
        }
        Ok(())
    }

    /// Recreate the running release's containers so they see the project's current secrets.
    pub(crate) fn restart_with_secrets(
        &self,
        project: &Project,
        progress: &mut dyn Write,
    ) -> Result<(), Error> {
        let mut state = State::load(&self.layout, &project.name)?;
        let Some(running) = state.running.clone() else {
            let _ = writeln!(
                progress,
                "nothing runs for {}; the first deploy hands them over",
                project.name
            );
            return Ok(());
        };
        let commit = CommitId::parse(&running.commit).ok_or_else(|| Error::State {
            project: project.name.clone(),
            path: self.layout.state(&project.name),
            message: "`running.commit` is not a commit id".into(),
        })?;
        let release = Release::new(&self.layout, project, &commit)?;
        let secrets = Secrets::load(&self.layout, &project.name)?;
        release.write_override(self.compose()?, &self.config.traefik, &secrets)?;
        self.start(project, &release, &state, None, progress)?;
        // Same release, new environment: if this record fails, the old routing in it only
        // makes the next deploy a real one.
        state.record_running(Running {
            routing: self.routing(project, &secrets),
            compose_files: release.compose_files(),
            ..running
        });
        state.save(&self.layout, &project.name)
    }

    /// The docker-rollout method: a second container of `service` from the new release next to
    /// the old one; once it is up (healthy, or settled), the old one leaves the service's names,
    /// serves what it was sent for the drain, and is stopped; then the other services are
    /// brought up. If the new container never comes up, it is removed and the old one never
    /// stopped serving.
    fn roll(
        &self,
        project: &Project,
        release: &Release,
        service: &str,
        progress: &mut dyn Write,
    ) -> Result<(), Error> {
        let compose = self.compose()?;
        let name = project.name.as_str();
        // By id, not by commit label: a rebuild of the running commit makes a container with
        // the same label as the one it replaces.
        let of_service = || -> Result<Vec<String>, Error> {
            Ok(self
                .docker
                .containers(Some(name))?
                .into_iter()
                .filter(|c| c.service == service)
                .map(|c| c.id)
                .collect())
        };
        let old = of_service()?;
        let count = u32::try_from(old.len() + 1).unwrap_or(u32::MAX);
        let started = release
            .scale(compose, service, count, progress)
            .and_then(|()| self.wait_until_up(&project.name, &release.commit, progress));
        if let Err(error) = started {
            for id in of_service().unwrap_or_default() {
                if !old.contains(&id) {
                    self.docker.best_effort(&["rm", "--force", &id]);
                }
            }
            return Err(error);
        }
        // Out of the service's names on the Traefik network first: from here Docker's DNS
        // answers with the new container only, and the old one keeps serving at its address
        // for the drain, to whoever resolved it a moment ago (and to Traefik, until the stop
        // below tells it). Its other networks stay as they are, so that it keeps reaching the
        // project's database and the like until it stops.
        let network = &self.config.traefik.network;
        let mut kept = true;
        for id in &old {
            kept &= self.docker.leave_name(id, network);
        }
        if !kept {
            let _ = writeln!(
                progress,
                "warning: the old `{service}` could not keep its address on `{network}`, a \
                 network created without a subnet (docs/architecture.md); stopping it without \
                 a drain"
            );
        } else if !old.is_empty() && self.config.drain_secs > 0 {
            let _ = writeln!(
                progress,
                "draining the old `{service}` for {}s",
                self.config.drain_secs
            );
            std::thread::sleep(std::time::Duration::from_secs(self.config.drain_secs));
        }
        for id in &old {
            self.docker.best_effort(&["stop", "--time", "10", id]);
            self.docker.best_effort(&["rm", "--force", id]);
        }
        release.scale(compose, service, 1, progress)?;
        release.up(compose, progress)?;
        self.wait_until_up(&project.name, &release.commit, progress)
    }

    fn restore_previous(
        &self,
        project: &Project,
        state: &State,
        failed: &CommitId,
        progress: &mut dyn Write,
    ) {
        let Some(previous) = &state.running else {
            return;
        };
        let Some(commit) = CommitId::parse(&previous.commit) else {
            return;
        };
        if &commit == failed
            || !previous
                .compose_files
                .iter()
                .all(|f| Path::new(f).is_file())
        {
            return;
        }
        let _ = writeln!(
            progress,
            "start failed; putting back {} at {commit}",
            project.name
        );
        let restored = self.compose().and_then(|compose| {
            let release =
                Release::from_files(&self.layout, project, &commit, &previous.compose_files)?;
            release.up(compose, progress)?;
            self.wait_until_up(&project.name, &commit, progress)
        });
        if let Err(e) = restored {
            let _ = writeln!(progress, "warning: could not put back {commit}: {e}");
        }
    }

    /// Keep the newest `keep_releases` releases that ran, plus the checkout and the running one:
    /// their directories, overrides and images. Everything else of the project goes, and so do
    /// its dangling images and the engine's build cache unused for `build_cache_max_age_secs`.
    pub(crate) fn prune(&self, name: &ProjectName, state: &State) {
        let keep_n = self.config.keep_releases;
        let mut keep: Vec<String> = state.history.iter().rev().take(keep_n).cloned().collect();
        keep.extend(state.running.as_ref().map(|r| r.commit.clone()));
        keep.extend(self.layout.checkout(name).map(|c| c.to_string()));
        for entry in std::fs::read_dir(self.layout.releases(name))
            .into_iter()
            .flatten()
            .flatten()
        {
            let file_name = entry.file_name().to_string_lossy().into_owned();
            if let Some(commit) = CommitId::parse(&file_name) {
                if !keep.contains(&file_name) {
                    // Renamed out of the way first: a release directory under its own name is
                    // whole, even if this run dies halfway through deleting it.
                    let doomed = entry
                        .path()
                        .with_file_name(format!(".tmp-prune-{commit}-{}", std::process::id()));
                    if std::fs::rename(entry.path(), &doomed).is_ok() {
                        let _ = std::fs::remove_dir_all(&doomed);
                    }
                    let _ = std::fs::remove_file(self.layout.override_file(name, &commit));
                }
            }
        }
        let images = self
            .docker
            .images(&format!("kelev-{name}-*"))
            .unwrap_or_default();
        for image in images {
            let tag = image.rsplit(':').next().unwrap_or("");
            if CommitId::parse(tag).is_some() && !keep.iter().any(|k| k == tag) {
                self.docker.best_effort(&["rmi", &image]);
            }
        }
        let label = format!("label=com.docker.compose.project={name}");
        self.docker
            .best_effort(&["image", "prune", "--force", "--filter", &label]);
        // The build cache is the engine's, shared by every project and not labelled by any:
        // what no build has used for a while goes, whoever made it. BuildKit keeps what a
        // running build uses, and a kept release needs its image, never the cache.
        if self.config.build_cache_max_age_secs > 0 {
            let until = format!("until={}s", self.config.build_cache_max_age_secs);
            self.docker
                .best_effort(&["builder", "prune", "--force", "--all", "--filter", &until]);
        }
    }
}
