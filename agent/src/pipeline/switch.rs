//! The switch from the running release to another, for deploy, rebuild, rollback and a restart
//! for new secrets: the override written, `build` (while the old
//! release serves) and `release_tasks` (deploy and rebuild), `start` and `gate`, the
//! state `record`ed; on any failure the previous release put back.
//! How the routed service is replaced is the project's `rollout`: `recreate`, or
//! `zero-downtime` (a second container beside the old one, `swap`).

use std::io::Write;
use std::time::Duration;

use kelev_core::{CommitId, ContentHash, Project, Rollout};

use crate::error::{Error, Locked};
use crate::host::lock::{Lock, ProjectLock};
use crate::host::secret_store::Secrets;
use crate::host::signals;
use crate::host::state::{Running, State};
use crate::host::timefmt;
use crate::pipeline::build::build;
use crate::pipeline::pull::{digests, pull};
use crate::pipeline::record::record_state;
use crate::pipeline::Pipeline;
use crate::release::compose_call::{PullPolicy, Recreate};
use crate::release::network::Network;
use crate::release::persistent;
use crate::release::release::{Override, Release};
use crate::release::routing::{Recorded, Routing};

/// Whether a switch builds the release's images or runs those kept from its own build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Images {
    /// Deploy, rebuild.
    Build,
    /// Rollback, a restart for new secrets.
    Kept,
}

/// One switch: the release to bring up and how to record it.
pub(crate) struct Switch<'r> {
    pub(crate) release: &'r Release<'r>,
    pub(crate) content_hash: ContentHash,
    pub(crate) images: Images,
    /// A commit that leaves the history once the switch is recorded (what a rollback leaves).
    pub(crate) forget: Option<CommitId>,
    /// Keep the recorded deploy time: a restart for new secrets deploys nothing new.
    pub(crate) keep_deployed_at: bool,
    /// Recreate every container, those whose configuration did not change too.
    pub(crate) recreate_all: bool,
    /// Which registry images a building switch pulls (`deploy --force`: all again).
    pub(crate) pull: PullPolicy,
}

impl<'r> Switch<'r> {
    /// A switch to `release`, its images built first (deploy, rebuild).
    pub(crate) fn building(release: &'r Release<'r>, content_hash: ContentHash) -> Switch<'r> {
        Switch {
            release,
            content_hash,
            images: Images::Build,
            forget: None,
            keep_deployed_at: false,
            recreate_all: false,
            pull: PullPolicy::Missing,
        }
    }

    /// A switch to `release` with the images kept from its build (rollback, restart).
    pub(crate) fn kept(release: &'r Release<'r>, content_hash: ContentHash) -> Switch<'r> {
        Switch {
            images: Images::Kept,
            ..Switch::building(release, content_hash)
        }
    }
}

impl Pipeline<'_> {
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
        // Decided before the build: the old containers of the routed service to swap with.
        let swap_with = match project.rollout {
            Rollout::ZeroDowntime => {
                self.swap_partners(project, &written, state.running.as_ref(), progress)?
            }
            Rollout::Recreate => None,
        };
        if switch.images == Images::Build {
            build(self.docker, release, progress)?;
            pull(
                self.docker,
                self.layout,
                release,
                &written,
                switch.pull,
                progress,
            )?;
            self.release_tasks(release, &written, progress)?;
        }
        let swap_with = swap_with.as_deref();
        let started = match self.start_or_restore(&switch, &written, state, swap_with, progress) {
            Err(error) if self.network_gone(&error) => {
                let _ = writeln!(
                    progress,
                    "the network `{}` is gone; making it again",
                    self.config.traefik.network
                );
                self.ensure_network(true, progress)?;
                self.start_or_restore(&switch, &written, state, swap_with, progress)
            }
            other => other,
        };
        started?;
        let before = state.clone();
        let deployed_at = match (&state.running, switch.keep_deployed_at) {
            (Some(running), true) => running.deployed_at.clone(),
            _ => timefmt::now(),
        };
        let running = Running {
            commit: release.commit.clone(),
            content_hash: switch.content_hash,
            deployed_at,
            compose_files: release.compose_files(),
            routing: Recorded::Routing(Routing::of(&self.config.traefik, project, &secrets)),
            images: digests(self.docker, &written),
        };
        // If the record cannot be written (a full disk), put back what it still says runs, so
        // that state and containers never disagree.
        let recorded = record_state(self.layout, held, state, running, switch.forget.as_ref());
        if recorded.is_err() {
            self.restore_previous(project, &before, &release.commit, progress);
        }
        recorded
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

    /// [`Pipeline::start`] the release and pass the gate; on any failure (or a stop request)
    /// put the running release back before reporting it.
    fn start_or_restore(
        &self,
        switch: &Switch,
        written: &Override,
        state: &State,
        swap_with: Option<&[String]>,
        progress: &mut dyn Write,
    ) -> Result<(), Error> {
        let release = switch.release;
        let result = self.start(switch, written, swap_with, progress);
        if let Err(error) = result {
            let interrupted = signals::take();
            self.restore_previous(release.project, state, &release.commit, progress);
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
                release.up(self.docker, Recreate::Changed, progress)?;
                self.wait_until_up(project, commit, progress)
            });
        if let Err(e) = restored {
            let _ = writeln!(progress, "warning: could not put back {commit}: {e}");
        }
    }
}
