//! The override the agent writes beside each release: Traefik labels on the routed service, the
//! shared network, the restart policy, images tagged by commit, the project's secrets. A pure
//! function of its inputs, tested as text.

use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use kelev_core::{CommitId, Project};

use crate::host::config::Traefik;
use crate::host::secret_store::Secrets;
use crate::release::docker_call::COMMIT_LABEL;
use crate::release::persistent::PersistentBind;
use crate::release::task;

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
    let mut out_services = Map::new();
    for (service, definition) in services {
        let mut entry = Map::new();
        let mut labels = Map::new();
        let built = definition.get("build").is_some();
        if built || service == routed {
            labels.insert(COMMIT_LABEL.into(), json!(commit.as_str()));
        }
        if task::is_one_shot(definition) {
            labels.insert(task::ONE_SHOT_LABEL.into(), json!("true"));
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
        if task::is_task(definition) {
            // Out of `up`: a task runs only when asked (`compose --profile kelev-task run`).
            entry.insert("profiles".into(), json!([task::PROFILE]));
            // Run once, to its end: never restarted, whatever the compose file says.
            entry.insert("restart".into(), json!("no"));
        }
        if service == routed {
            labels.extend(
                Route::of(project, service, traefik)
                    .labels(traefik)
                    .into_iter()
                    .map(|(k, v)| (k, json!(v))),
            );
            entry.insert("restart".into(), json!("unless-stopped"));
            entry.insert(
                "networks".into(),
                json!({
                    "default": {},
                    (traefik.network.clone()): {"aliases": [alias(project, service)]},
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

/// How Traefik reaches a project's routed service: by its name on the shared network, which
/// the agent hands from the old container to the new one (`Network::leave_name`), so that a
/// zero-downtime swap is Docker's DNS answering differently and no change to Traefik's
/// configuration at all; Traefik's provider throttle and its view of Docker's events are out
/// of the swap.
#[derive(Debug, PartialEq)]
pub(crate) struct Route {
    /// `<project>-<8 hex digits>`, Traefik's router and service both: the digits are of all
    /// the rest, so releases that route alike share the name, and a release that routes
    /// otherwise (other domains, port, rollout) has its own router beside the old one's while
    /// both containers run. One name for both would be a conflict that Traefik settles by
    /// dropping the router, and every domain of the project with it.
    pub(crate) name: String,
    /// `http://<project>.<service>:<port>`: the service's name on the shared network.
    pub(crate) url: String,
    rule: String,
    retry: bool,
}

impl Route {
    pub(crate) fn of(project: &Project, service: &str, traefik: &Traefik) -> Route {
        let rule = project
            .domains
            .iter()
            .map(|d| format!("Host(`{d}`)"))
            .collect::<Vec<_>>()
            .join(" || ");
        let url = format!("http://{}:{}", alias(project, service), project.port);
        let retry = project.rollout == kelev_core::Rollout::ZeroDowntime;
        let mut hasher = Sha256::new();
        for part in [
            rule.as_str(),
            &url,
            &traefik.entrypoints.join(","),
            &traefik.cert_resolver,
            if retry { "retry" } else { "" },
        ] {
            hasher.update(part.as_bytes());
            hasher.update([0]);
        }
        let digest = hasher.finalize();
        let hex: String = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
        Route {
            name: format!("{}-{hex}", project.name),
            url,
            rule,
            retry,
        }
    }

    /// The labels of the routed service that make this route.
    fn labels(&self, traefik: &Traefik) -> Vec<(String, String)> {
        let name = &self.name;
        let router = format!("traefik.http.routers.{name}");
        let mut labels = vec![
            ("traefik.enable".to_owned(), "true".to_owned()),
            ("traefik.docker.network".to_owned(), traefik.network.clone()),
            (format!("{router}.rule"), self.rule.clone()),
            (
                format!("{router}.entrypoints"),
                traefik.entrypoints.join(","),
            ),
            (format!("{router}.tls"), "true".to_owned()),
            (
                format!("{router}.tls.certresolver"),
                traefik.cert_resolver.clone(),
            ),
            (format!("{router}.service"), name.clone()),
            (
                format!("traefik.http.services.{name}.loadbalancer.server.url"),
                self.url.clone(),
            ),
        ];
        if self.retry {
            // A request that finds no one at the name (a connection caught in the swap) is
            // sent again.
            let retry = format!("{name}-retry");
            labels.push((format!("{router}.middlewares"), retry.clone()));
            labels.push((
                format!("traefik.http.middlewares.{retry}.retry.attempts"),
                "3".to_owned(),
            ));
            labels.push((
                format!("traefik.http.middlewares.{retry}.retry.initialinterval"),
                "100ms".to_owned(),
            ));
        }
        labels
    }
}

/// `<project>.<service>` (Dokku's form) on the shared network: every project may call its
/// routed service `web`, so the service name alone says nothing there.
pub(crate) fn alias(project: &Project, service: &str) -> String {
    format!("{}.{service}", project.name)
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
            &kelev_core::ManifestOrigin::Stdin,
        )
        .unwrap();
        let project = &manifest.projects[0];
        let commit = CommitId::parse(&"a".repeat(40)).unwrap();
        let services: Map<String, Value> = serde_json::from_str(
            r#"{"web":{"build":{"context":"."}},"Db_1":{"image":"postgres"},"worker":{"build":{}},
                "migrate":{"build":{},"labels":{"dev.kelev.task":"migrate"}}}"#,
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
        let route = Route::of(project, "web", &Traefik::default());
        let name = &route.name;
        assert_eq!(name.len(), "fun-".len() + 8, "{name}");
        for (label, value) in [
            (
                format!("traefik.http.routers.{name}.rule"),
                "Host(`a.d.dev`) || Host(`b.d.dev`)",
            ),
            (
                format!("traefik.http.routers.{name}.entrypoints"),
                "websecure",
            ),
            (
                format!("traefik.http.routers.{name}.tls.certresolver"),
                "letsencrypt",
            ),
            (format!("traefik.http.routers.{name}.service"), name),
            (
                format!("traefik.http.services.{name}.loadbalancer.server.url"),
                "http://fun.web:8080",
            ),
            ("traefik.docker.network".into(), "web"),
            ("traefik.enable".into(), "true"),
        ] {
            assert_eq!(web["labels"][&label], value, "{label}");
        }
        assert_eq!(web["restart"], "unless-stopped");
        assert!(web["labels"]
            .get(format!("traefik.http.routers.{name}.middlewares"))
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
        // A task is out of `up`, built and run from the commit's image like the others.
        assert_eq!(
            doc["services"]["migrate"]["profiles"],
            json!(["kelev-task"])
        );
        assert_eq!(doc["services"]["migrate"]["restart"], "no");
        assert_eq!(
            doc["services"]["migrate"]["labels"]["dev.kelev.one-shot"],
            "true"
        );
        assert!(web["labels"].get("dev.kelev.one-shot").is_none());
        assert_eq!(
            doc["services"]["migrate"]["image"],
            format!("kelev-fun-migrate:{commit}")
        );
        assert!(doc["services"]["worker"].get("profiles").is_none());
        assert_eq!(web["environment"]["DB_PASSWORD"], "p$$w");
        assert_eq!(
            doc["services"]["Db_1"]["environment"]["DB_PASSWORD"],
            "p$$w"
        );
        assert_eq!(text, render(), "the same inputs, the same bytes");
    }

    #[test]
    fn a_route_is_named_by_how_it_routes() {
        let manifest = |domains: &str, port: u16, rollout: &str| {
            kelev_core::Manifest::parse(
                format!(
                    r#"{{"domain":"d.dev","projects":[{{"name":"fun","repo":"file:///x","domains":{domains},"port":{port},"rollout":"{rollout}"}}]}}"#
                )
                .as_bytes(),
                &kelev_core::ManifestOrigin::Stdin,
            )
            .unwrap()
        };
        let name = |domains: &str, port: u16, rollout: &str| {
            Route::of(
                &manifest(domains, port, rollout).projects[0],
                "web",
                &Traefik::default(),
            )
            .name
        };
        let first = name(r#"["a.d.dev"]"#, 80, "zero-downtime");
        assert!(first.starts_with("fun-"), "{first}");
        assert_eq!(first, name(r#"["a.d.dev"]"#, 80, "zero-downtime"));
        for other in [
            name(r#"["a.d.dev","b.d.dev"]"#, 80, "zero-downtime"),
            name(r#"["a.d.dev"]"#, 8080, "zero-downtime"),
            name(r#"["a.d.dev"]"#, 80, "recreate"),
        ] {
            assert_ne!(first, other);
        }
        let project = &manifest(r#"["a.d.dev"]"#, 80, "zero-downtime").projects[0];
        let labels = Route::of(project, "web", &Traefik::default()).labels(&Traefik::default());
        let retry = format!("{first}-retry");
        assert!(labels.contains(&(format!("traefik.http.routers.{first}.middlewares"), retry)));
    }
}
