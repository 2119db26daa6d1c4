//! What a release's override is made from besides the commit, as `state.json` records it: a
//! change here makes the next deploy a real one, even of the same content, and a port change
//! rules out a zero-downtime swap.

use serde::{Deserialize, Serialize};

use kelev_core::{Project, Rollout};

use crate::host::config::Traefik;
use crate::host::secret_store::Secrets;

/// The manifest entry's routing fields, the Traefik settings that shape the labels, and the
/// digest of the secrets the override was written with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Routing {
    pub(crate) compose_file: Option<String>,
    pub(crate) domains: Vec<String>,
    pub(crate) port: u16,
    pub(crate) rollout: Rollout,
    /// `Secrets::digest` of the secrets the containers got.
    pub(crate) secrets: String,
    pub(crate) service: Option<String>,
    pub(crate) traefik: TraefikRouting,
}

/// The Traefik settings that go into the labels (not `api`, which says how the agent learns
/// that Traefik routes: turning it on redeploys nothing).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TraefikRouting {
    pub(crate) cert_resolver: String,
    pub(crate) entrypoints: Vec<String>,
    pub(crate) network: String,
}

impl Routing {
    /// `secrets` are the ones the override is written with, read once by the caller, so the
    /// record matches what the containers got.
    pub(crate) fn of(traefik: &Traefik, project: &Project, secrets: &Secrets) -> Routing {
        Routing {
            compose_file: project.compose_file.clone(),
            domains: project.domains.clone(),
            port: project.port,
            rollout: project.rollout,
            secrets: secrets.digest(),
            service: project.service.clone(),
            traefik: TraefikRouting {
                cert_resolver: traefik.cert_resolver.clone(),
                entrypoints: traefik.entrypoints.clone(),
                network: traefik.network.clone(),
            },
        }
    }
}

/// The routing a running release was recorded with. Agents before this one wrote it as a JSON
/// string inside the JSON; that form is read too.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "Stored", into = "Stored")]
pub(crate) enum Recorded {
    Routing(Routing),
    /// A record this agent cannot read in full (an older agent's, with other fields): a
    /// deploy is due; its port, if it says one.
    Older {
        port: Option<u16>,
    },
}

impl Recorded {
    /// Whether the release was routed as `now`.
    pub(crate) fn is(&self, now: &Routing) -> bool {
        matches!(self, Recorded::Routing(routing) if routing == now)
    }

    /// Why the routed service cannot be swapped behind its name from the release recorded so
    /// to one of `project` as the manifest has it now: Traefik's route is the service's name at
    /// the project's port, so while both containers run, a new port would reach the old
    /// container and the old port the new one. `None`: it can (a record without the port says
    /// nothing).
    pub(crate) fn swap_blocker(&self, project: &Project) -> Option<String> {
        let port = match self {
            Recorded::Routing(routing) => routing.port,
            Recorded::Older { port } => (*port)?,
        };
        (port != project.port).then(|| format!("its port changes from {port} to {}", project.port))
    }
}

/// How [`Recorded`] is written (`Routing`, an object) and read (an object, or an older
/// agent's string holding one).
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum Stored {
    Routing(Routing),
    Text(String),
    Other(serde_json::Value),
}

impl From<Stored> for Recorded {
    fn from(stored: Stored) -> Recorded {
        let value = match stored {
            Stored::Routing(routing) => return Recorded::Routing(routing),
            Stored::Text(text) => serde_json::from_str(&text).unwrap_or_default(),
            Stored::Other(value) => value,
        };
        match serde_json::from_value::<Routing>(value.clone()) {
            Ok(routing) => Recorded::Routing(routing),
            Err(_) => Recorded::Older {
                port: value["port"].as_u64().and_then(|p| u16::try_from(p).ok()),
            },
        }
    }
}

impl From<Recorded> for Stored {
    fn from(recorded: Recorded) -> Stored {
        match recorded {
            Recorded::Routing(routing) => Stored::Routing(routing),
            Recorded::Older { port } => Stored::Other(serde_json::json!({ "port": port })),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project(port: u16) -> Project {
        let json = format!(
            r#"{{"domain":"d.dev","projects":[{{"name":"fun","repo":"file:///x","port":{port}}}]}}"#
        );
        kelev_core::Manifest::parse(json.as_bytes(), &kelev_core::ManifestOrigin::Stdin)
            .unwrap()
            .projects[0]
            .clone()
    }

    #[test]
    fn a_port_change_cannot_be_swapped() {
        let project = project(8080);
        let now = Routing::of(&Traefik::default(), &project, &Secrets::default());
        assert_eq!(Recorded::Routing(now.clone()).swap_blocker(&project), None);
        let before = Recorded::Routing(Routing { port: 80, ..now });
        assert_eq!(
            before.swap_blocker(&project).as_deref(),
            Some("its port changes from 80 to 8080")
        );
        assert_eq!(Recorded::Older { port: None }.swap_blocker(&project), None);
    }

    /// An agent before this one wrote `routing` as a string, its keys in name order; such a
    /// state reads as the same routing, so the first deploy after an upgrade stays `unchanged`.
    #[test]
    fn an_older_agents_string_reads_as_the_same_routing() {
        let project = project(80);
        let secrets = Secrets::parse(b"A=1").unwrap();
        let now = Routing::of(&Traefik::default(), &project, &secrets);
        let old = format!(
            "{{\"compose_file\":null,\"domains\":[\"fun.d.dev\"],\"port\":80,\"rollout\":\"recreate\",\
             \"secrets\":\"{}\",\"service\":null,\"traefik\":{{\"cert_resolver\":\"letsencrypt\",\
             \"entrypoints\":[\"websecure\"],\"network\":\"web\"}}}}",
            secrets.digest()
        );
        let stored = serde_json::to_string(&old).unwrap();
        let read: Recorded = serde_json::from_str(&stored).unwrap();
        assert!(read.is(&now), "{read:?}");
        // Written back as an object, and read as the same.
        let written = serde_json::to_string(&read).unwrap();
        assert!(written.starts_with("{\"compose_file\":null,\"domains\":[\"fun.d.dev\"]"));
        assert!(serde_json::from_str::<Recorded>(&written).unwrap().is(&now));
        // Another domain since: not the same routing.
        let moved = Routing {
            domains: vec!["other.d.dev".into()],
            ..now.clone()
        };
        assert!(!read.is(&moved));
    }

    #[test]
    fn a_record_with_other_fields_is_older_and_keeps_its_port() {
        let old = r#""{\"domains\":[\"fun.d.dev\"],\"port\":8080,\"service\":null}""#;
        let read: Recorded = serde_json::from_str(old).unwrap();
        assert_eq!(read, Recorded::Older { port: Some(8080) });
        let now = Routing::of(&Traefik::default(), &project(80), &Secrets::default());
        assert!(!read.is(&now));
        assert_eq!(
            read.swap_blocker(&project(80)).as_deref(),
            Some("its port changes from 8080 to 80")
        );
        let garbage: Recorded = serde_json::from_str(r#""""#).unwrap();
        assert_eq!(garbage, Recorded::Older { port: None });
    }
}
