//! The shared network Traefik routes through: created once with an explicit subnet, and the
//! zero-downtime trick of taking a container out of the service's names while it keeps its
//! address there.

use std::collections::BTreeMap;

use crate::error::Error;
use crate::release::docker::Docker;
use crate::release::docker_call::DockerCall;

/// One Docker network, by name.
pub(crate) struct Network<'a> {
    docker: &'a Docker,
    name: &'a str,
}

impl<'a> Network<'a> {
    pub(crate) fn new(docker: &'a Docker, name: &'a str) -> Network<'a> {
        Network { docker, name }
    }

    /// Container `id`'s place on this network: `None` when it is not on it, else its address
    /// there, if it has one.
    pub(crate) fn address_of(&self, id: &str) -> Option<Option<String>> {
        let out = self.docker.capture(&DockerCall::networks_of(id)).ok()?;
        let networks: BTreeMap<String, serde_json::Value> =
            serde_json::from_slice(&out.stdout).ok()?;
        let endpoint = networks.get(self.name)?;
        Some(
            endpoint["IPAddress"]
                .as_str()
                .filter(|ip| !ip.is_empty())
                .map(str::to_owned),
        )
    }

    /// Take container `id` out of the names it answers to here (its service, its
    /// aliases) while it keeps serving at its address there: out of the network and straight
    /// back in at the same address, with no aliases. Docker derives the MAC from the address,
    /// so peers' ARP entries stay good, and a connection attempt caught in the tenth of a
    /// second between is retransmitted by TCP a second later and reaches it. Docker hands an
    /// address back only on a network whose subnet was given at creation
    /// ([`Network::ensure`] makes the shared one so); on another, the container comes
    /// back at a new address and this returns false. True also when it is not on this network.
    pub(crate) fn leave_name(&self, id: &str) -> bool {
        let Some(ip) = self.address_of(id) else {
            return true;
        };
        if self.reconnect(id, ip.as_deref(), None).is_ok() {
            return true;
        }
        self.docker
            .best_effort(&DockerCall::network_connect(self.name, id, None, None));
        false
    }

    /// Take container `id`, created and not yet started, out of its names here: out of the
    /// network and back in without aliases. An error when either step fails, so that it never
    /// starts in them unseen.
    pub(crate) fn hold_out(&self, id: &str) -> Result<(), Error> {
        self.reconnect(id, None, None)
    }

    /// Put container `id`, out of its names here ([`Network::leave_name`]), into `alias`: out of
    /// the network and straight back in, with it (Docker has no other way to give a connected
    /// container a name). At its address if it can keep it, else at a new one: nobody reaches
    /// it by address yet.
    pub(crate) fn join_name(&self, id: &str, alias: &str) -> Result<(), Error> {
        let ip = self.address_of(id).flatten();
        self.reconnect(id, ip.as_deref(), Some(alias)).or_else(|_| {
            self.docker
                .run(&DockerCall::network_connect(
                    self.name,
                    id,
                    None,
                    Some(alias),
                ))
                .map(drop)
        })
    }

    /// Out of the network and back in, at `ip` if given, with `alias` or none; an error when
    /// either step fails.
    fn reconnect(&self, id: &str, ip: Option<&str>, alias: Option<&str>) -> Result<(), Error> {
        let network = self.name;
        self.docker
            .run(&DockerCall::network_disconnect(network, id))?;
        self.docker
            .run(&DockerCall::network_connect(network, id, ip, alias))
            .map(drop)
    }

    /// Create the network if it is missing, with its subnet given explicitly (so that
    /// [`Network::leave_name`] can keep an address). The
    /// subnet is the one Docker would pick, read off a throwaway network, so the daemon's
    /// address pools and the networks already there are respected; if that fails, Docker picks.
    pub(crate) fn ensure(&self) -> Result<(), Error> {
        let name = self.name;
        if self
            .docker
            .capture(&DockerCall::network_inspect(name))?
            .status
            .success()
        {
            return Ok(());
        }
        let probe = format!("kelev-subnet-probe-{}", std::process::id());
        let subnet = self
            .docker
            .run(&DockerCall::network_create(&probe, None))
            .and_then(|_| self.docker.run(&DockerCall::network_subnets(&probe)));
        self.docker.best_effort(&DockerCall::network_remove(&probe));
        let subnet = subnet.ok().and_then(|out| {
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            text.split_whitespace().next().map(str::to_owned)
        });
        let mut create = DockerCall::network_create(name, subnet.as_deref());
        let mut out = self.docker.capture(&create)?;
        if !out.status.success() && subnet.is_some() && !out.stderr.contains("already exists") {
            // Someone took that subnet since (another network made meanwhile): let Docker pick.
            create = DockerCall::network_create(name, None);
            out = self.docker.capture(&create)?;
        }
        if out.status.success() {
            self.settle_name(String::from_utf8_lossy(&out.stdout).trim());
            Ok(())
        } else if out.stderr.contains("already exists") {
            Ok(())
        } else {
            Err(self.docker.failed(&create, &out))
        }
    }

    /// Docker's check for a taken network name is not atomic: two first deploys at once can
    /// both create `name`, and compose then refuses to pick one. The oldest of them stays; the
    /// one we made (`ours`) goes if it is not that one. Waits (a few seconds at most) until
    /// the name is unique again, so that our `compose up` does not meet another's duplicate.
    fn settle_name(&self, ours: &str) {
        let name = self.name;
        let stdout = |call: &DockerCall| {
            self.docker
                .run(call)
                .map(|out| String::from_utf8_lossy(&out.stdout).into_owned())
                .unwrap_or_default()
        };
        for _ in 0..50 {
            let ids = stdout(&DockerCall::network_ids(name));
            let ids: Vec<&str> = ids.split_whitespace().collect();
            if ids.len() < 2 {
                return;
            }
            let listed = stdout(&DockerCall::networks_created(&ids));
            let mut created: Vec<(String, &str)> = listed
                .lines()
                .filter_map(|line| {
                    let (when, id) = line.split_once(' ')?;
                    Some((sortable_time(when), id))
                })
                .collect();
            created.sort();
            if created.first().is_some_and(|(_, oldest)| *oldest != ours) {
                self.docker.best_effort(&DockerCall::network_remove(ours));
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
}

/// Docker's RFC 3339 UTC times (`2026-11-27T17:40:40.1662Z`) drop the fraction's trailing
/// zeros; padded to nanoseconds they sort as text.
fn sortable_time(time: &str) -> String {
    let time = time.trim_end_matches('Z');
    let (seconds, fraction) = time.split_once('.').unwrap_or((time, ""));
    format!("{seconds}.{fraction:0<9}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_times_sort() {
        let mut times = [
            "2026-11-27T17:40:40.5Z",
            "2026-11-27T17:40:40.166201848Z",
            "2026-11-27T17:40:40Z",
            "2026-11-27T17:40:40.17Z",
        ]
        .map(sortable_time);
        times.sort();
        assert_eq!(
            times,
            [
                "2026-11-27T17:40:40.000000000",
                "2026-11-27T17:40:40.166201848",
                "2026-11-27T17:40:40.170000000",
                "2026-11-27T17:40:40.500000000",
            ]
        );
    }
}
