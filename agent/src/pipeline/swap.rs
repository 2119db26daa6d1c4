//! The zero-downtime start of the routed service ([`Pipeline::swap`]): a second container
//! beside the old one, swapped in behind the service's name once up and routed; which old
//! containers to swap with, or why not ([`Pipeline::swap_partners`]).

use std::io::Write;
use std::time::Duration;

use kelev_core::Project;

use crate::error::Error;
use crate::host::state::Running;
use crate::pipeline::switch::Switch;
use crate::pipeline::Pipeline;
use crate::release::compose_call::Recreate;
use crate::release::docker_call::DockerCall;
use crate::release::network::Network;
use crate::release::override_file::alias;
use crate::release::release::{Override, Release};

impl Pipeline<'_> {
    /// The ids of `service`'s containers. By id, not by commit label: a rebuild of the running
    /// commit makes a container with the same label as the one it replaces.
    fn of_service(&self, project: &Project, service: &str) -> Result<Vec<String>, Error> {
        Ok(self
            .docker
            .containers(Some(project.name.as_str()))?
            .into_iter()
            .filter(|c| c.service == service)
            .map(|c| c.id)
            .collect())
    }

    /// For a zero-downtime rollout from what `running` says runs: the routed service's
    /// containers to swap the new release's in beside, or `None`, said why, when a swap would
    /// not be clean: the service cannot run twice, the port changes (each release's route
    /// would reach the other's container), or none of its containers runs (renamed, or gone).
    /// Also `None` when nothing runs yet: there is no old container to keep serving.
    pub(crate) fn swap_partners(
        &self,
        project: &Project,
        written: &Override,
        running: Option<&Running>,
        progress: &mut dyn Write,
    ) -> Result<Option<Vec<String>>, Error> {
        let routed = &written.routed;
        let blocker = match (&written.rolling_blocker, running) {
            (Some(blocker), _) => blocker.clone(),
            (None, None) => return Ok(None),
            (None, Some(running)) => match running.routing.swap_blocker(project) {
                Some(blocker) => blocker,
                None => {
                    let old = self.of_service(project, routed)?;
                    if !old.is_empty() {
                        return Ok(Some(old));
                    }
                    format!("no `{routed}` container runs to swap with")
                }
            },
        };
        let _ = writeln!(
            progress,
            "zero-downtime rollout is off for {}: {blocker}",
            project.name
        );
        Ok(None)
    }

    /// The docker-rollout method: a second container of `service` from the new release next to
    /// the old one, kept out of the service's name on the Traefik network (which Traefik's route
    /// goes to) until it is up (healthy, or settled) and Traefik has its route; then it takes
    /// the name, the old one leaves it, serves what it was sent for the drain, and is stopped;
    /// then the other services are brought up. If the new container never comes up, it is
    /// removed and the old one never stopped serving.
    pub(crate) fn swap(
        &self,
        project: &Project,
        release: &Release,
        service: &str,
        old: &[String],
        progress: &mut dyn Write,
    ) -> Result<(), Error> {
        let count = u32::try_from(old.len() + 1).unwrap_or(u32::MAX);
        let network = Network::new(self.docker, &self.config.traefik.network);
        let started = release
            .scale(self.docker, service, count, false, progress)
            .and_then(|()| {
                // Created, not started: out of the service's name before it runs, and back in
                // only once up, so that Traefik's connections, which go to the name, reach the
                // old container only until then.
                let new: Vec<String> = self
                    .of_service(project, service)?
                    .into_iter()
                    .filter(|id| !old.contains(id))
                    .collect();
                for id in &new {
                    network.hold_out(id)?;
                    self.docker.run(&DockerCall::start(id))?;
                }
                self.wait_until_up(project, &release.commit, progress)?;
                self.wait_routed(project, service, progress)?;
                let name = alias(project, service);
                for id in &new {
                    network.join_name(id, &name)?;
                }
                Ok(())
            });
        if let Err(error) = started {
            for id in self.of_service(project, service).unwrap_or_default() {
                if !old.contains(&id) {
                    self.docker.best_effort(&DockerCall::remove(&id));
                }
            }
            return Err(error);
        }
        // The old one out of the service's names on the Traefik network: from here Docker's DNS
        // answers with the new container only, so every connection Traefik opens from now on
        // reaches it (Traefik's route is that name, `Route`), and the old one keeps serving at
        // its address for the drain what is under way: requests in flight, connections opened
        // a moment ago. Its other networks stay as they are, so that it keeps reaching the
        // project's database and the like until it stops.
        let mut kept = true;
        for id in old {
            kept &= network.leave_name(id);
        }
        let network = &self.config.traefik.network;
        if !kept {
            let _ = writeln!(
                progress,
                "warning: the old `{service}` could not keep its address on `{network}`, a \
                 network created without a subnet (docs/architecture.md); stopping it without \
                 a drain"
            );
        } else if self.config.drain_secs > 0 {
            let _ = writeln!(
                progress,
                "draining the old `{service}` for {}s",
                self.config.drain_secs
            );
            std::thread::sleep(Duration::from_secs(self.config.drain_secs));
        }
        for id in old {
            self.docker.best_effort(&DockerCall::stop(id, 10));
            self.docker.best_effort(&DockerCall::remove(id));
        }
        release.scale(self.docker, service, 1, true, progress)?;
        release.up(self.docker, Recreate::Changed, progress)?;
        self.wait_until_up(project, &release.commit, progress)
    }

    /// With `--force-recreate`, once the routed service is swapped: every other service anew.
    pub(crate) fn recreate_others(
        &self,
        switch: &Switch,
        written: &Override,
        progress: &mut dyn Write,
    ) -> Result<(), Error> {
        let routed = &written.routed;
        if !switch.recreate_all {
            return Ok(());
        }
        let others: Vec<&str> = written
            .services
            .iter()
            .map(String::as_str)
            .filter(|s| *s != routed)
            .collect();
        switch.release.recreate(self.docker, &others, progress)?;
        let project = switch.release.project;
        self.wait_until_up(project, &switch.release.commit, progress)
    }
}
