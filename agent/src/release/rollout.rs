//! The one switch from the running release to another, for deploy, rebuild, rollback and a
//! restart for new secrets: write the override, build (while the old release serves), start
//! and pass the health gate, record what runs, and on any failure put the previous release
//! back. How the routed service is replaced is the project's `rollout`: `recreate`, or
//! `zero-downtime` (a second container beside the old one; see [`Engine::roll`]). With
//! `traefik.api` set, a start counts only once Traefik routes to it.

use std::io::Write;
use std::time::Duration;

use kelev_core::{CommitId, Project, Rollout};

use crate::error::{Error, Locked};
use crate::host::config::Config;
use crate::host::layout::Layout;
use crate::host::lock::{Lock, ProjectLock};
use crate::host::secret_store::Secrets;
use crate::host::signals;
use crate::host::state::{Running, State};
use crate::host::timefmt;
use crate::release::compose_call::Up;
use crate::release::docker::Docker;
use crate::release::health::wait_until_up;
use crate::release::network::Network;
use crate::release::override_file::routing;
use crate::release::persistent;
use crate::release::release::{Override, Release};
use crate::release::switch::Switch;

/// What the switch works with.
pub(crate) struct Engine<'a> {
    pub(crate) config: &'a Config,
    pub(crate) layout: &'a Layout,
    pub(crate) docker: &'a Docker,
}

impl Engine<'_> {
    /// Switch `held`'s project to `switch.release`; `state` is what runs now, and what runs
    /// after. On failure the previous release is serving again (or never stopped).
    pub(crate) fn switch(
        &self,
        held: &ProjectLock,
        switch: Switch,
        state: &mut State,
        progress: &mut dyn Write,
    ) -> Result<(), Error> {
        let project = held.project();
        let release = switch.release;
        let secrets = Secrets::load(self.layout, &project.name)?;
        let written = release.write_override(self.docker, &self.config.traefik, &secrets)?;
        persistent::announce(&written.persistent, progress);
        self.ensure_network(false, progress)?;
        // The old containers of the routed service to swap with, for a zero-downtime rollout.
        let rolling = match project.rollout {
            Rollout::ZeroDowntime => {
                self.swap_with(project, &written, state.running.as_ref(), progress)?
            }
            Rollout::Recreate => None,
        };
        if switch.build {
            let _ = writeln!(progress, "building {} at {}", project.name, release.commit);
            // A zero-downtime rollout needs the images before it starts a second container; a
            // recreate builds within its `compose up --build`, one compose run instead of two
            // (compose builds everything before it touches a container).
            if rolling.is_some() {
                release.build(self.docker, progress)?;
                signals::check()?;
            }
        }
        let rolling = rolling.as_deref();
        let started = match self.start(project, &switch, &written, state, rolling, progress) {
            Err(error) if self.network_gone(&error) => {
                let _ = writeln!(
                    progress,
                    "the network `{}` is gone; making it again",
                    self.config.traefik.network
                );
                self.ensure_network(true, progress)?;
                self.start(project, &switch, &written, state, rolling, progress)
            }
            other => other,
        };
        started?;
        let before = state.clone();
        if let Some(forget) = &switch.forget {
            state.history.retain(|c| c != forget);
        }
        let deployed_at = match (&state.running, switch.keep_deployed_at) {
            (Some(running), true) => running.deployed_at.clone(),
            _ => timefmt::now(),
        };
        state.record_running(Running {
            commit: release.commit.clone(),
            content_hash: switch.content_hash,
            deployed_at,
            compose_files: release.compose_files(),
            routing: routing(&self.config.traefik, project, &secrets),
        });
        // If the record cannot be written (a full disk), put back what it still says runs, so
        // that state and containers never disagree.
        let saved = state.save(self.layout, &project.name);
        if saved.is_err() {
            self.restore_previous(project, &before, &release.commit, progress);
        }
        saved
    }

    /// Docker 20.10 lets two creators make two networks of one name; then compose refuses
    /// both. One project at a time checks and creates it. Once it exists a stamp in `locks/`
    /// says so, and later switches skip the check (a `docker` start each); a start that finds
    /// the network gone after all makes it again (`recheck`) and is tried once more.
    fn ensure_network(&self, recheck: bool, progress: &mut dyn Write) -> Result<(), Error> {
        let network = &self.config.traefik.network;
        let stamp = self.layout.locks().join(format!(".network-{network}.made"));
        if !recheck && stamp.is_file() {
            return Ok(());
        }
        let _network = Lock::acquire(
            &self.layout.locks().join(".network.lock"),
            Locked::Network(network.clone()),
            &format!("pid {} (network)", std::process::id()),
            Duration::from_secs(self.config.lock_timeout_secs),
            progress,
        )?;
        Network::new(self.docker, network).ensure()?;
        // Only a shortcut: without the stamp the next switch checks again.
        let _ = crate::host::layout::write_atomic(&stamp, b"");
        Ok(())
    }

    /// Whether compose failed because the shared network is not there (removed by hand while
    /// no container used it, say), as compose or the engine say it: `network web declared as
    /// external, but could not be found`, `Error response from daemon: network web not found`.
    fn network_gone(&self, error: &Error) -> bool {
        let Error::Compose { tail, .. } = error else {
            return false;
        };
        let network = &self.config.traefik.network;
        tail.contains(&format!(
            "network {network} declared as external, but could not be found"
        )) || tail.contains(&format!("network {network} not found"))
    }

    pub(super) fn wait_until_up(
        &self,
        project: &Project,
        commit: &CommitId,
        progress: &mut dyn Write,
    ) -> Result<(), Error> {
        wait_until_up(self.docker, self.config, &project.name, commit, progress)
    }

    /// `compose up` the release, pass the health gate and wait until Traefik routes to it;
    /// on any failure (or a stop request) put the running release back before reporting it.
    /// With `rolling`, the routed service is replaced without a gap.
    fn start(
        &self,
        project: &Project,
        switch: &Switch,
        written: &Override,
        state: &State,
        rolling: Option<&[String]>,
        progress: &mut dyn Write,
    ) -> Result<(), Error> {
        let release = switch.release;
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
            Some(old) => self
                .roll(project, release, &written.routed, old, progress)
                .and_then(|()| self.recreate_others(switch, written, &written.routed, progress)),
            None => release
                .up(
                    self.docker,
                    Up {
                        build: switch.build,
                        recreate_all: switch.recreate_all,
                    },
                    progress,
                )
                .and_then(|()| self.wait_until_up(project, &release.commit, progress)),
        }
        .and_then(|()| self.wait_routed(project, &written.routed, progress));
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

    /// Bring back what `state` says ran before `failed` was tried, if its files are still here.
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
        let commit = &previous.commit;
        if commit == failed || !previous.compose_files.iter().all(|f| f.is_file()) {
            return;
        }
        let _ = writeln!(
            progress,
            "start failed; putting back {} at {commit}",
            project.name
        );
        let restored = Release::from_files(self.layout, project, commit, &previous.compose_files)
            .and_then(|release| {
                let kept = Up {
                    build: false,
                    recreate_all: false,
                };
                release.up(self.docker, kept, progress)?;
                self.wait_until_up(project, commit, progress)
            });
        if let Err(e) = restored {
            let _ = writeln!(progress, "warning: could not put back {commit}: {e}");
        }
    }
}
