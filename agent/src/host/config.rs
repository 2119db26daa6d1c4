//! `agent.json`: where the agent keeps its files, how it reaches Docker, and what each key may do.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::Error;
use crate::wire::policy::KeyPolicy;
use crate::wire::spec::Spec;

pub(crate) const DEFAULT_CONFIG: &str = "/etc/kelev/agent.json";

#[derive(Debug)]
pub(crate) struct Config {
    pub(crate) root: PathBuf,
    pub(crate) manifest: PathBuf,
    /// argv of compose; `None` means: `docker compose` if the plugin answers, else `docker-compose`.
    pub(crate) compose: Option<Vec<String>>,
    pub(crate) docker: Vec<String>,
    pub(crate) keep_releases: usize,
    pub(crate) lock_timeout_secs: u64,
    pub(crate) deploy_timeout_secs: u64,
    /// How long a new release may take to become healthy before it is rolled back.
    pub(crate) health_timeout_secs: u64,
    /// How long containers without a healthcheck must stay running to count as started.
    pub(crate) settle_secs: u64,
    /// How long the old container keeps serving at its address, out of the service's names,
    /// once its zero-downtime successor is up.
    pub(crate) drain_secs: u64,
    /// Docker's build cache unused for this long goes after a successful deploy; 0: never.
    pub(crate) build_cache_max_age_secs: u64,
    pub(crate) traefik: Traefik,
    /// Traefik's API on the host's loopback (`traefik.api`), parsed; `None`: deploys do not
    /// wait for Traefik to route to a new release.
    pub(crate) traefik_api: Option<SocketAddr>,
    pub(crate) keys: BTreeMap<String, KeyPolicy>,
}

#[derive(Debug, Clone, Deserialize, serde::Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub(crate) struct Traefik {
    #[serde(default = "default_network")]
    pub(crate) network: String,
    #[serde(default = "default_entrypoints")]
    pub(crate) entrypoints: Vec<String>,
    #[serde(default = "default_cert_resolver")]
    pub(crate) cert_resolver: String,
    /// How the agent learns that Traefik routes, not how it routes: kept out of the routing
    /// fingerprint (`skip_serializing`), so turning it on redeploys nothing.
    #[serde(default, skip_serializing)]
    pub(crate) api: Option<String>,
    #[serde(default = "default_route_timeout_secs", skip_serializing)]
    pub(crate) route_timeout_secs: u64,
}

impl Default for Traefik {
    fn default() -> Self {
        Traefik {
            network: default_network(),
            entrypoints: default_entrypoints(),
            cert_resolver: default_cert_resolver(),
            api: None,
            route_timeout_secs: default_route_timeout_secs(),
        }
    }
}

fn default_network() -> String {
    "web".into()
}
fn default_entrypoints() -> Vec<String> {
    vec!["websecure".into()]
}
fn default_cert_resolver() -> String {
    "letsencrypt".into()
}
fn default_route_timeout_secs() -> u64 {
    30
}

/// `http://127.0.0.1:8080` (or `localhost`, or `[::1]`, a trailing `/` allowed): the agent
/// speaks plain HTTP to the loopback only, never across a network.
fn loopback_api(url: &str) -> Result<SocketAddr, String> {
    let refused = || format!("`traefik.api` `{url}` is not `http://<loopback address>:<port>`");
    let rest = url.strip_prefix("http://").ok_or_else(refused)?;
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let rest = match rest.strip_prefix("localhost:") {
        Some(port) => format!("127.0.0.1:{port}"),
        None => rest.to_owned(),
    };
    match rest.parse::<SocketAddr>() {
        Ok(addr) if addr.ip().is_loopback() && addr.port() != 0 => Ok(addr),
        _ => Err(refused()),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    root: PathBuf,
    manifest: Option<PathBuf>,
    compose: Option<Vec<String>>,
    docker: Option<Vec<String>>,
    keep_releases: Option<usize>,
    lock_timeout_secs: Option<u64>,
    deploy_timeout_secs: Option<u64>,
    health_timeout_secs: Option<u64>,
    settle_secs: Option<u64>,
    drain_secs: Option<u64>,
    build_cache_max_age_secs: Option<u64>,
    #[serde(default)]
    traefik: Traefik,
    #[serde(default)]
    keys: BTreeMap<String, KeyPolicy>,
}

impl Config {
    /// Read `path`; the keys' verbs must be among `verbs`.
    pub(crate) fn load(path: &Path, verbs: &[Spec]) -> Result<Config, Error> {
        let bytes = std::fs::read(path).map_err(|source| Error::ConfigRead {
            path: path.to_owned(),
            source,
        })?;
        Config::parse(&bytes, verbs).map_err(|problem| Error::Config {
            path: path.to_owned(),
            problem,
        })
    }

    pub(crate) fn parse(bytes: &[u8], verbs: &[Spec]) -> Result<Config, String> {
        let raw: RawConfig = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        if !raw.root.is_absolute() {
            return Err(format!(
                "`root` `{}` must be an absolute path",
                raw.root.display()
            ));
        }
        for (name, argv) in [("compose", &raw.compose), ("docker", &raw.docker)] {
            if argv.as_ref().is_some_and(|argv| argv.is_empty()) {
                return Err(format!("`{name}` must name a program"));
            }
        }
        let keep_releases = raw.keep_releases.unwrap_or(5);
        if keep_releases == 0 {
            return Err("`keep_releases` must be at least 1".into());
        }
        for (key, policy) in &raw.keys {
            policy
                .validate(verbs)
                .map_err(|problem| format!("key `{key}`: {problem}"))?;
        }
        let network_ok = !raw.traefik.network.is_empty()
            && raw
                .traefik
                .network
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if !network_ok {
            return Err("`traefik.network` is not a Docker network name".into());
        }
        let traefik_api = raw.traefik.api.as_deref().map(loopback_api).transpose()?;
        Ok(Config {
            manifest: raw
                .manifest
                .unwrap_or_else(|| raw.root.join("projects.json")),
            root: raw.root,
            compose: raw.compose,
            docker: raw.docker.unwrap_or_else(|| vec!["docker".into()]),
            keep_releases,
            lock_timeout_secs: raw.lock_timeout_secs.unwrap_or(600),
            deploy_timeout_secs: raw.deploy_timeout_secs.unwrap_or(1800),
            health_timeout_secs: raw.health_timeout_secs.unwrap_or(120),
            settle_secs: raw.settle_secs.unwrap_or(3),
            drain_secs: raw.drain_secs.unwrap_or(2),
            build_cache_max_age_secs: raw.build_cache_max_age_secs.unwrap_or(7 * 24 * 3600),
            traefik: raw.traefik,
            traefik_api,
            keys: raw.keys,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let c = Config::parse(br#"{"root":"/srv/kelev"}"#, crate::verbs::VERBS).unwrap();
        assert_eq!(c.manifest, Path::new("/srv/kelev/projects.json"));
        assert_eq!(c.keep_releases, 5);
        assert_eq!(c.lock_timeout_secs, 600);
        assert_eq!(c.deploy_timeout_secs, 1800);
        assert_eq!(c.traefik, Traefik::default());
        assert_eq!(c.docker, ["docker"]);
        assert!(c.compose.is_none());
        assert_eq!(c.build_cache_max_age_secs, 604_800);
        assert_eq!(c.traefik_api, None);
        assert_eq!(c.traefik.route_timeout_secs, 30);
    }

    #[test]
    fn traefik_api_is_a_loopback_address() {
        for (api, addr) in [
            ("http://127.0.0.1:8080", "127.0.0.1:8080"),
            ("http://localhost:8080/", "127.0.0.1:8080"),
            ("http://[::1]:9000", "[::1]:9000"),
        ] {
            let json = format!(r#"{{"root":"/r","traefik":{{"api":"{api}"}}}}"#);
            let c = Config::parse(json.as_bytes(), crate::verbs::VERBS).unwrap();
            assert_eq!(c.traefik_api, Some(addr.parse().unwrap()), "{api}");
            // Not part of the routing fingerprint.
            assert_eq!(
                serde_json::to_value(&c.traefik).unwrap(),
                serde_json::to_value(Traefik::default()).unwrap()
            );
        }
        for api in [
            "https://127.0.0.1:8080",
            "http://10.0.0.1:8080",
            "http://traefik:8080",
            "http://127.0.0.1",
            "http://127.0.0.1:0",
            "http://127.0.0.1:8080/api",
        ] {
            let json = format!(r#"{{"root":"/r","traefik":{{"api":"{api}"}}}}"#);
            let err = Config::parse(json.as_bytes(), crate::verbs::VERBS).expect_err(api);
            assert!(
                err.contains("is not `http://<loopback address>:<port>`"),
                "{api}: {err}"
            );
        }
    }

    #[test]
    fn refusals() {
        for (json, expected) in [
            (r#"{"root":"rel"}"#, "absolute"),
            (r#"{"root":"/r","extra":1}"#, "unknown field `extra`"),
            (r#"{"root":"/r","compose":[]}"#, "`compose` must name"),
            (r#"{"root":"/r","keep_releases":0}"#, "at least 1"),
            (
                r#"{"root":"/r","keys":{"ci":{"verbs":["deploy","sh"],"projects":["*"]}}}"#,
                "key `ci`: `verbs`: unknown verb `sh` (known: deploy, clone, rebuild, rebuild-all, \
                 status, logs, run, manifest, manifest-put, remove, rollback, secrets-put, secrets, \
                 secrets-unset, registry-login, help, version)",
            ),
            (
                r#"{"root":"/r","keys":{"ci":{"verbs":["*"],"projects":["../x"]}}}"#,
                "key `ci`: `projects`: `../x` is not a project name (^[a-z0-9][a-z0-9-]{0,62}$)",
            ),
        ] {
            let err = Config::parse(json.as_bytes(), crate::verbs::VERBS).expect_err(json);
            assert!(err.contains(expected), "{json}: {err}");
        }
    }
}
