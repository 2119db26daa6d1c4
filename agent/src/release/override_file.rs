//! The override the agent writes beside each release: Traefik labels on the routed service, the
//! shared network, the restart policy, images tagged by commit, the project's secrets. A pure
//! function of its inputs, tested as text.

use serde_json::{json, Map, Value};

use kelev_core::{CommitId, Project};

use crate::host::config::{Config, Traefik};
use crate::host::secret_store::Secrets;
use crate::release::docker::COMMIT_LABEL;
use crate::release::persistent::PersistentBind;

/// Everything besides the commit that the override is made from, as recorded in the state:
/// a change here makes the next deploy a real one, even of the same content.
/// `secrets` are the ones the override is written with, read once by the caller, so the
/// record matches what the containers got.
pub(crate) fn routing(config: &Config, project: &Project, secrets: &Secrets) -> String {
    serde_json::json!({
        "domains": project.domains,
        "service": project.service,
        "port": project.port,
        "compose_file": project.compose_file,
        "rollout": project.rollout.name(),
        "traefik": config.traefik,
        "secrets": secrets.digest(),
    })
    .to_string()
}

/// The override, as JSON (which compose reads as YAML). Deterministic: same inputs, same bytes.
///
/// Only what the agent builds and the routed service carry the commit: compose recreates a
/// container only when its configuration changes, so a database from an image that no commit
/// touches keeps running, the same container, across deploys and rollbacks.
pub(crate) fn override_json(
    project: &Project,
    commit: &CommitId,
    services: &Map<String, Value>,
    routed: &str,
    traefik: &Traefik,
    secrets: &Secrets,
    persistent: &[PersistentBind],
) -> String {
    let name = project.name.as_str();
    let rule = project
        .domains
        .iter()
        .map(|d| format!("Host(`{d}`)"))
        .collect::<Vec<_>>()
        .join(" || ");
    let mut out_services = Map::new();
    for (service, definition) in services {
        let mut entry = Map::new();
        let mut labels = Map::new();
        let built = definition.get("build").is_some();
        if built || service == routed {
            labels.insert(COMMIT_LABEL.into(), json!(commit.as_str()));
        }
        if built {
            entry.insert("image".into(), json!(image_name(name, service, commit)));
        }
        let volumes: Vec<&Value> = persistent
            .iter()
            .filter(|b| &b.service == service)
            .map(|b| &b.entry)
            .collect();
        if !volumes.is_empty() {
            entry.insert("volumes".into(), json!(volumes));
        }
        if service == routed {
            let router = format!("traefik.http.routers.{name}");
            for (key, value) in [
                ("traefik.enable".to_owned(), "true".to_owned()),
                ("traefik.docker.network".to_owned(), traefik.network.clone()),
                (format!("{router}.rule"), rule.clone()),
                (
                    format!("{router}.entrypoints"),
                    traefik.entrypoints.join(","),
                ),
                (format!("{router}.tls"), "true".to_owned()),
                (
                    format!("{router}.tls.certresolver"),
                    traefik.cert_resolver.clone(),
                ),
                (format!("{router}.service"), name.to_owned()),
                (
                    format!("traefik.http.services.{name}.loadbalancer.server.port"),
                    project.port.to_string(),
                ),
            ] {
                labels.insert(key, json!(value));
            }
            if project.rollout == kelev_core::Rollout::ZeroDowntime {
                // While the old container leaves, a request that reached it as it went is
                // sent again, to the new one.
                let retry = format!("{name}-retry");
                labels.insert(format!("{router}.middlewares"), json!(retry));
                labels.insert(
                    format!("traefik.http.middlewares.{retry}.retry.attempts"),
                    json!("3"),
                );
                labels.insert(
                    format!("traefik.http.middlewares.{retry}.retry.initialinterval"),
                    json!("100ms"),
                );
            }
            entry.insert("restart".into(), json!("unless-stopped"));
            // `<project>.<service>` (Dokku's form) on the shared network: every project may
            // call its routed service `web`, so the service name alone says nothing there.
            entry.insert(
                "networks".into(),
                json!({
                    "default": {},
                    (traefik.network.clone()): {"aliases": [format!("{name}.{service}")]},
                }),
            );
        }
        entry.insert("labels".into(), Value::Object(labels));
        if !secrets.entries().is_empty() {
            // `$$` is compose's escape for `$`: values arrive as written, never interpolated.
            let environment: Map<String, Value> = secrets
                .entries()
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.replace('$', "$$"))))
                .collect();
            entry.insert("environment".into(), Value::Object(environment));
        }
        out_services.insert(service.clone(), Value::Object(entry));
    }
    let doc = json!({
        "services": out_services,
        "networks": {(traefik.network.clone()): {"external": true, "name": traefik.network}},
    });
    let mut text = serde_json::to_string_pretty(&doc).expect("override serializes");
    text.push('\n');
    text
}

/// `kelev-<project>-<service>:<commit>`: one tag per release, so earlier releases' images
/// survive a new build.
fn image_name(project: &str, service: &str, commit: &CommitId) -> String {
    let service: String = service
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    format!("kelev-{project}-{}:{commit}", service.trim_matches('-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn override_routes_one_service_and_tags_built_images() {
        let manifest = kelev_core::Manifest::parse(
            br#"{"domain":"d.dev","projects":[{"name":"fun","repo":"file:///x","domains":["a.d.dev","b.d.dev"],"service":"web","port":8080}]}"#,
        )
        .unwrap();
        let project = &manifest.projects[0];
        let commit = CommitId::parse(&"a".repeat(40)).unwrap();
        let services: Map<String, Value> = serde_json::from_str(
            r#"{"web":{"build":{"context":"."}},"Db_1":{"image":"postgres"},"worker":{"build":{}}}"#,
        )
        .unwrap();
        let secrets = Secrets::parse(b"DB_PASSWORD=p$w").unwrap();
        let render = || {
            override_json(
                project,
                &commit,
                &services,
                "web",
                &Traefik::default(),
                &secrets,
                &[],
            )
        };
        let text = render();
        let doc: Value = serde_json::from_str(&text).unwrap();
        let web = &doc["services"]["web"];
        for (label, value) in [
            (
                "traefik.http.routers.fun.rule",
                "Host(`a.d.dev`) || Host(`b.d.dev`)",
            ),
            ("traefik.http.routers.fun.entrypoints", "websecure"),
            ("traefik.http.routers.fun.tls.certresolver", "letsencrypt"),
            ("traefik.http.services.fun.loadbalancer.server.port", "8080"),
            ("traefik.docker.network", "web"),
            ("traefik.enable", "true"),
        ] {
            assert_eq!(web["labels"][label], value, "{label}");
        }
        assert_eq!(web["restart"], "unless-stopped");
        assert!(web["labels"]
            .get("traefik.http.routers.fun.middlewares")
            .is_none());
        assert_eq!(web["image"], format!("kelev-fun-web:{commit}"));
        assert_eq!(
            doc["services"]["worker"]["image"],
            format!("kelev-fun-worker:{commit}")
        );
        assert!(doc["services"]["Db_1"].get("image").is_none());
        // What is built, and what is routed, belongs to the commit; an image nobody builds does
        // not, so compose leaves its container running when nothing else about it changed.
        assert_eq!(web["labels"][COMMIT_LABEL], commit.as_str());
        assert_eq!(
            doc["services"]["worker"]["labels"][COMMIT_LABEL],
            commit.as_str()
        );
        assert!(doc["services"]["Db_1"]["labels"]
            .get(COMMIT_LABEL)
            .is_none());
        assert!(doc["services"]["Db_1"]["labels"]
            .get("traefik.enable")
            .is_none());
        assert_eq!(doc["networks"]["web"]["external"], true);
        assert_eq!(web["networks"]["web"]["aliases"], json!(["fun.web"]));
        assert!(doc["services"]["worker"].get("networks").is_none());
        assert_eq!(web["environment"]["DB_PASSWORD"], "p$$w");
        assert_eq!(
            doc["services"]["Db_1"]["environment"]["DB_PASSWORD"],
            "p$$w"
        );
        assert_eq!(text, render(), "the same inputs, the same bytes");
    }
}
