//! `docker compose` for one release: the project's own compose file plus the override the agent
//! writes (Traefik labels, the shared network, restart policy, images tagged by commit).

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};

use kelev_core::Project;

use crate::child;
use crate::command::CommitId;
use crate::config::{Config, Traefik};
use crate::docker::COMMIT_LABEL;
use crate::error::Error;
use crate::layout::Layout;
use crate::secrets::Secrets;

const DEFAULT_FILES: [&str; 4] = [
    "compose.yaml",
    "compose.yml",
    "docker-compose.yaml",
    "docker-compose.yml",
];

/// The compose program, resolved once per invocation.
pub(crate) struct Compose {
    argv: Vec<String>,
}

/// Where the Docker CLI looks for plugins after `~/.docker/cli-plugins` (docker/cli,
/// `cli-plugins/manager`).
const PLUGIN_DIRS: [&str; 4] = [
    "/usr/local/lib/docker/cli-plugins",
    "/usr/local/libexec/docker/cli-plugins",
    "/usr/lib/docker/cli-plugins",
    "/usr/libexec/docker/cli-plugins",
];

impl Compose {
    /// `compose` from agent.json, else `docker compose` if the plugin is installed where the
    /// Docker CLI looks for it (or, when it is not there, answers `version`), else
    /// `docker-compose`. The look costs a few `stat`s; the `version` probe a Go start-up.
    pub(crate) fn resolve(config: &Config) -> Result<Compose, Error> {
        if let Some(argv) = &config.compose {
            return Ok(Compose { argv: argv.clone() });
        }
        let mut plugin = config.docker.clone();
        plugin.push("compose".into());
        let env = child::base_env();
        let home = env
            .iter()
            .find(|(k, _)| k == "HOME")
            .map(|(_, v)| Path::new(v).join(".docker/cli-plugins"));
        let installed = home
            .into_iter()
            .chain(PLUGIN_DIRS.iter().map(PathBuf::from))
            .any(|dir| dir.join("docker-compose").is_file());
        if installed {
            return Ok(Compose { argv: plugin });
        }
        let mut probe = plugin.clone();
        probe.push("version".into());
        let answers = child::capture(&probe, &env).is_ok_and(|out| out.status.success());
        Ok(Compose {
            argv: if answers {
                plugin
            } else {
                vec!["docker-compose".into()]
            },
        })
    }

    fn argv(
        &self,
        project: &str,
        files: &[&Path],
        dir: Option<&Path>,
        args: &[&str],
    ) -> Vec<String> {
        let mut argv = self.argv.clone();
        argv.extend(["-p".into(), project.into()]);
        if let Some(dir) = dir {
            argv.extend(["--project-directory".into(), dir.display().to_string()]);
        }
        for file in files {
            argv.extend(["-f".into(), file.display().to_string()]);
        }
        argv.extend(args.iter().map(|s| s.to_string()));
        argv
    }

    /// Run a compose subcommand on a project by name alone (logs, down).
    pub(crate) fn by_name(
        &self,
        project: &str,
        args: &[&str],
        log_dir: &Path,
        out: &mut dyn Write,
    ) -> Result<(), Error> {
        let argv = self.argv(project, &[], None, args);
        let env = child::base_env();
        let result = child::stream(&argv, &env, Path::new("/"), log_dir, out)?;
        check(project, args, result)
    }
}

fn check(project: &str, args: &[&str], result: child::Streamed) -> Result<(), Error> {
    if result.status.success() {
        return Ok(());
    }
    Err(Error::Compose {
        project: kelev_core::ProjectName::parse(project).expect("project names are checked"),
        command: format!("compose {}", args.join(" ")),
        status: child::describe(result.status),
        tail: result.tail,
    })
}

/// What the agent learned while writing a release's override.
pub(crate) struct Override {
    /// The service Traefik routes to.
    pub(crate) routed: String,
    /// Why the routed service cannot run twice at once (zero-downtime rollout), if it cannot.
    pub(crate) rolling_blocker: Option<String>,
}

/// One release of one project, ready for compose.
pub(crate) struct Release<'a> {
    pub(crate) project: &'a Project,
    pub(crate) commit: CommitId,
    pub(crate) dir: PathBuf,
    pub(crate) compose_file: PathBuf,
    pub(crate) override_file: PathBuf,
    log_dir: PathBuf,
    env: Vec<(String, String)>,
}

impl<'a> Release<'a> {
    pub(crate) fn new(
        layout: &Layout,
        project: &'a Project,
        commit: &CommitId,
    ) -> Result<Release<'a>, Error> {
        let dir = layout.release(&project.name, commit);
        let compose_file = find_compose_file(project, &dir)?;
        let data = layout.data(&project.name);
        crate::layout::create_dir(&data)?;
        let mut env = child::base_env();
        env.extend([
            ("KELEV_PROJECT".into(), project.name.to_string()),
            ("KELEV_COMMIT".into(), commit.to_string()),
            ("KELEV_DATA_DIR".into(), data.display().to_string()),
        ]);
        Ok(Release {
            project,
            commit: commit.clone(),
            override_file: layout.override_file(&project.name, commit),
            log_dir: layout.compose_logs(),
            dir,
            compose_file,
            env,
        })
    }

    /// A release brought up before, from the files recorded in its state.
    pub(crate) fn from_files(
        layout: &Layout,
        project: &'a Project,
        commit: &CommitId,
        files: &[String],
    ) -> Result<Release<'a>, Error> {
        let mut release = Release::new(layout, project, commit)?;
        if let [compose_file, override_file] = files {
            release.compose_file = compose_file.into();
            release.override_file = override_file.into();
        }
        Ok(release)
    }

    pub(crate) fn compose_files(&self) -> Vec<String> {
        vec![
            self.compose_file.display().to_string(),
            self.override_file.display().to_string(),
        ]
    }

    fn argv(&self, compose: &Compose, with_override: bool, args: &[&str]) -> Vec<String> {
        let files: Vec<&Path> = if with_override {
            vec![&self.compose_file, &self.override_file]
        } else {
            vec![&self.compose_file]
        };
        compose.argv(self.project.name.as_str(), &files, Some(&self.dir), args)
    }

    /// Compute the override for this release from the project's normalized compose config and
    /// write it next to (not inside) the checkout.
    pub(crate) fn write_override(
        &self,
        compose: &Compose,
        traefik: &Traefik,
        secrets: &Secrets,
    ) -> Result<Override, Error> {
        let argv = self.argv(compose, false, &["config", "--format", "json"]);
        let out = child::capture(&argv, &self.env)?;
        if !out.status.success() {
            return Err(self.data_error(format!(
                "`compose config` refused the compose file: {}",
                out.stderr.lines().last().unwrap_or("").trim()
            )));
        }
        let config: Value = serde_json::from_slice(&out.stdout)
            .map_err(|e| self.data_error(format!("cannot read `compose config` output: {e}")))?;
        let services = config
            .get("services")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let routed = self.routed_service(&services)?;
        let text = override_json(
            self.project,
            &self.commit,
            &services,
            &routed,
            traefik,
            secrets,
        );
        // It may hold the project's secrets.
        crate::layout::write_private(&self.override_file, text.as_bytes())?;
        let definition = &services[&routed];
        let blocker = if definition
            .get("ports")
            .and_then(Value::as_array)
            .is_some_and(|p| !p.is_empty())
        {
            Some("it publishes `ports`")
        } else if definition.get("container_name").is_some() {
            Some("it sets `container_name`")
        } else {
            None
        };
        Ok(Override {
            rolling_blocker: blocker.map(|b| format!("`{routed}` cannot run twice at once: {b}")),
            routed,
        })
    }

    fn routed_service(&self, services: &Map<String, Value>) -> Result<String, Error> {
        match &self.project.service {
            Some(service) if services.contains_key(service) => Ok(service.clone()),
            Some(service) => Err(self.data_error(format!(
                "the compose file has no service `{service}` (it has: {})",
                services.keys().cloned().collect::<Vec<_>>().join(", ")
            ))),
            None if services.len() == 1 => Ok(services.keys().next().cloned().unwrap_or_default()),
            None => Err(self.data_error(format!(
                "the compose file has {} services; set `service` in the manifest to the one to route to",
                services.len()
            ))),
        }
    }

    fn data_error(&self, message: String) -> Error {
        Error::ProjectData {
            project: self.project.name.clone(),
            message,
        }
    }

    pub(crate) fn build(&self, compose: &Compose, out: &mut dyn Write) -> Result<(), Error> {
        self.stream(compose, &["build"], out)
    }

    pub(crate) fn up(&self, compose: &Compose, out: &mut dyn Write) -> Result<(), Error> {
        self.stream(
            compose,
            &["up", "-d", "--no-build", "--remove-orphans"],
            out,
        )
    }

    /// Run `count` containers of `service` from this release, keeping the ones that run (of
    /// whatever release): the first step of a zero-downtime rollout, and its last.
    pub(crate) fn scale(
        &self,
        compose: &Compose,
        service: &str,
        count: u32,
        out: &mut dyn Write,
    ) -> Result<(), Error> {
        let scale = format!("{service}={count}");
        let args = [
            "up",
            "-d",
            "--no-build",
            "--no-deps",
            "--no-recreate",
            "--scale",
            &scale,
            service,
        ];
        self.stream(compose, &args, out)
    }

    fn stream(&self, compose: &Compose, args: &[&str], out: &mut dyn Write) -> Result<(), Error> {
        let argv = self.argv(compose, true, args);
        let result = child::stream(&argv, &self.env, &self.dir, &self.log_dir, out)?;
        check(self.project.name.as_str(), args, result)
    }
}

fn find_compose_file(project: &Project, dir: &Path) -> Result<PathBuf, Error> {
    let candidates: Vec<&str> = match &project.compose_file {
        Some(file) => vec![file.as_str()],
        None => DEFAULT_FILES.to_vec(),
    };
    for name in &candidates {
        let path = dir.join(name);
        match std::fs::symlink_metadata(&path) {
            Ok(meta) if meta.is_file() => return Ok(path),
            Ok(_) => {
                return Err(Error::ProjectData {
                    project: project.name.clone(),
                    message: format!("`{name}` is not a regular file"),
                })
            }
            Err(_) => continue,
        }
    }
    Err(Error::ProjectData {
        project: project.name.clone(),
        message: format!(
            "no compose file in the repository (looked for {})",
            candidates.join(", ")
        ),
    })
}

/// The override, as JSON (which compose reads as YAML). Deterministic: same inputs, same bytes.
pub(crate) fn override_json(
    project: &Project,
    commit: &CommitId,
    services: &Map<String, Value>,
    routed: &str,
    traefik: &Traefik,
    secrets: &Secrets,
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
        labels.insert(COMMIT_LABEL.into(), json!(commit.as_str()));
        if definition.get("build").is_some() {
            entry.insert("image".into(), json!(image_name(name, service, commit)));
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
        let text = override_json(
            project,
            &commit,
            &services,
            "web",
            &Traefik::default(),
            &secrets,
        );
        let doc: Value = serde_json::from_str(&text).unwrap();
        let web = &doc["services"]["web"];
        assert_eq!(
            web["labels"]["traefik.http.routers.fun.rule"],
            "Host(`a.d.dev`) || Host(`b.d.dev`)"
        );
        assert_eq!(
            web["labels"]["traefik.http.routers.fun.entrypoints"],
            "websecure"
        );
        assert_eq!(
            web["labels"]["traefik.http.routers.fun.tls.certresolver"],
            "letsencrypt"
        );
        assert_eq!(
            web["labels"]["traefik.http.services.fun.loadbalancer.server.port"],
            "8080"
        );
        assert_eq!(web["labels"]["traefik.docker.network"], "web");
        assert_eq!(web["labels"]["traefik.enable"], "true");
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
        assert_eq!(
            text,
            override_json(
                project,
                &commit,
                &services,
                "web",
                &Traefik::default(),
                &secrets
            )
        );
    }
}
