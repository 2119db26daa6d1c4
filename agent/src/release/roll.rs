//! The zero-downtime swap of the routed service ([`Engine::roll`]), and the wait, after any
//! start, until Traefik routes to what was started ([`Engine::wait_routed`]).

use std::io::Write;
use std::time::Duration;

use kelev_core::Project;

use crate::error::Error;
use crate::release::network::Network;
use crate::release::release::{Override, Release};
use crate::release::rollout::Engine;
use crate::release::switch::Switch;
use crate::release::traefik::{Routes, Until};

impl Engine<'_> {
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

    /// With `traefik.api` set: wait until Traefik lists the containers `ids` of the routed
    /// service (all of them now running, when `None`) as `until` says.
    pub(super) fn wait_routed(
        &self,
        project: &Project,
        service: &str,
        ids: Option<&[String]>,
        until: Until,
        progress: &mut dyn Write,
    ) -> Result<(), Error> {
        let Some(api) = self.config.traefik_api else {
            return Ok(());
        };
        let ids = match ids {
            Some(ids) => ids.to_vec(),
            None => self.of_service(project, service)?,
        };
        let routes = Routes {
            api,
            docker: self.docker,
            network: &self.config.traefik.network,
            timeout: Duration::from_secs(self.config.traefik.route_timeout_secs),
        };
        routes.wait(&project.name, &ids, project.port, until, progress)
    }

    /// The docker-rollout method: a second container of `service` from the new release next to
    /// the old one; once it is up (healthy, or settled) and Traefik sends it requests, the old
    /// one leaves the service's names, serves what it was sent for the drain, and is stopped;
    /// then the other services are brought up. If the new container never comes up, it is
    /// removed and the old one never stopped serving.
    pub(super) fn roll(
        &self,
        project: &Project,
        release: &Release,
        service: &str,
        progress: &mut dyn Write,
    ) -> Result<(), Error> {
        let old = self.of_service(project, service)?;
        let count = u32::try_from(old.len() + 1).unwrap_or(u32::MAX);
        let started = release
            .scale(self.compose, service, count, progress)
            .and_then(|()| self.wait_until_up(project, &release.commit, progress))
            .and_then(|()| {
                let new: Vec<String> = self
                    .of_service(project, service)?
                    .into_iter()
                    .filter(|id| !old.contains(id))
                    .collect();
                self.wait_routed(project, service, Some(&new), Until::Listed, progress)
            });
        if let Err(error) = started {
            for id in self.of_service(project, service).unwrap_or_default() {
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
            kept &= Network::new(self.docker, network).leave_name(id);
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
            std::thread::sleep(Duration::from_secs(self.config.drain_secs));
        }
        for id in &old {
            self.docker.best_effort(&["stop", "--time", "10", id]);
            self.docker.best_effort(&["rm", "--force", id]);
        }
        release.scale(self.compose, service, 1, progress)?;
        release.up(self.compose, false, false, progress)?;
        self.wait_until_up(project, &release.commit, progress)
    }

    /// With `--force-recreate`, once the routed service is swapped: every other service anew.
    pub(super) fn recreate_others(
        &self,
        switch: &Switch,
        written: &Override,
        routed: &str,
        progress: &mut dyn Write,
    ) -> Result<(), Error> {
        if !switch.recreate_all {
            return Ok(());
        }
        let others: Vec<&str> = written
            .services
            .iter()
            .map(String::as_str)
            .filter(|s| *s != routed)
            .collect();
        switch.release.recreate(self.compose, &others, progress)?;
        let project = switch.release.project;
        self.wait_until_up(project, &switch.release.commit, progress)
    }
}
