//! The request path as a visitor meets it: Pebble (a test ACME CA), its DNS and the real
//! `bootstrap/traefik` project, all started by `scripts/traefik-up`, and HTTPS requests made with
//! curl, with SNI, verified against Pebble's root as a browser verifies against its store.
//!
//! Traefik publishes the host's ports 80 and 443 and watches every container on the engine, so
//! one [`Proxy`] runs at a time in this process: [`Proxy::start`] waits for the previous one.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::command::Run;
use crate::wait::wait_every;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Pebble + challtestsrv + Traefik, taken down when dropped.
pub struct Proxy {
    dir: PathBuf,
    /// Pebble's root certificate: what the visitor trusts.
    pub root: PathBuf,
    _turn: MutexGuard<'static, ()>,
}

/// One request, tried once.
#[derive(Debug, Default, Clone)]
pub struct Visit {
    /// 0 when no HTTP answer came (refused, reset, TLS failure, timeout).
    pub status: u16,
    pub body: String,
    /// The certificate's subject, issuer, serial number and DNS names (`curl -w '%{certs}'`).
    /// curl has verified the name against the certificate before any of this.
    pub subject: String,
    pub names: Vec<String>,
    pub issuer: String,
    pub serial: String,
    /// The `Location` of a redirect.
    pub location: String,
    /// curl's error message, when it failed.
    pub error: String,
}

fn traefik_up() -> Run {
    Run::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/traefik-up"))
}

impl Proxy {
    /// Start it in a fresh directory (a fresh Pebble, so its orders are this test's alone).
    pub fn start() -> Proxy {
        let turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
        let dir = PathBuf::from(format!("/var/lib/kelev-e2e/traefik-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let out = traefik_up().arg("up").arg(&dir).run().ok();
        let root = PathBuf::from(out.stdout.trim());
        eprintln!(
            "Traefik {} against Docker API {}",
            crate::docker(&["inspect", "-f", "{{.Config.Image}}", "traefik-traefik-1"]).trim(),
            crate::docker(&["version", "--format", "{{.Server.APIVersion}}"]).trim()
        );
        Proxy {
            dir,
            root,
            _turn: turn,
        }
    }

    /// A new Traefik container on the same data directory (Pebble keeps running).
    pub fn restart(&self) {
        traefik_up().arg("restart").arg(&self.dir).run().ok();
    }

    /// init.sh's step again with `acme_staging` set to `staging` (compose recreates Traefik).
    pub fn set_staging(&self, staging: bool) {
        traefik_up()
            .arg("up")
            .arg(&self.dir)
            .env("KELEV_ACME_STAGING", staging.to_string())
            .run()
            .ok();
    }

    /// A file in Traefik's data directory (`acme.json`, `acme-staging.json`).
    pub fn data_file(&self, name: &str) -> PathBuf {
        self.dir.join("host/srv/traefik").join(name)
    }

    /// The orders Pebble has taken for `domain` so far. Other tests on this engine may run
    /// labelled containers that Traefik orders certificates for, so the count is per name:
    /// traefik-up turns authorization reuse off, and every order validates its name once
    /// (a "Pulled a task" log line naming it).
    pub fn orders(&self, domain: &str) -> usize {
        let name = format!("Value:\"{domain}\"");
        std::fs::read_to_string(self.dir.join("pebble.log"))
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains("Pulled a task") && l.contains(&name))
            .count()
    }

    /// `GET https://<domain>/` (or `http://`), one try, 5 s at most, the name resolved to the
    /// host's loopback as challtestsrv resolves it for Pebble.
    pub fn get(&self, scheme: &str, domain: &str) -> Visit {
        get(&self.root, scheme, domain)
    }

    /// Request `domain` until it serves `body` with a certificate for that name, or panic after
    /// `limit`. Returns the time it took and the last visit.
    #[track_caller]
    pub fn wait_for(&self, domain: &str, body: &str, limit: Duration) -> (Duration, Visit) {
        let start = Instant::now();
        // Every 20 ms: the time it took is printed by tests as a figure.
        let visit = wait_every(
            &format!("https://{domain}/ to serve {body:?}"),
            limit,
            Duration::from_millis(20),
            || {
                let visit = self.get("https", domain);
                if visit.status == 200 && visit.body == body {
                    Ok(visit)
                } else {
                    Err(format!("{visit:?}"))
                }
            },
        );
        (start.elapsed(), visit)
    }

    /// The project's services in Traefik's API (on the host's loopback), `<project>-<hex>@docker`
    /// each, with their servers' URLs: what the agent polls after a deploy.
    pub fn services(&self, project: &str) -> Vec<(String, Vec<String>)> {
        let out = Run::new("curl")
            .args(["-fsS", "--max-time", "5"])
            .arg(format!(
                "http://127.0.0.1:8080/api/http/services?search={project}-&per_page=100"
            ))
            .run();
        let Ok(serde_json::Value::Array(services)) = serde_json::from_str(&out.stdout) else {
            return Vec::new();
        };
        services
            .iter()
            .filter_map(|service| {
                let name = service["name"].as_str()?;
                let hex = name
                    .strip_prefix(&format!("{project}-"))?
                    .strip_suffix("@docker")?;
                (hex.len() == 8).then_some(())?;
                let urls = service["loadBalancer"]["servers"]
                    .as_array()?
                    .iter()
                    .filter_map(|s| s["url"].as_str().map(str::to_owned))
                    .collect();
                Some((name.to_owned(), urls))
            })
            .collect()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let out = traefik_up().arg("down").arg(&self.dir).run();
        if out.code != Some(0) {
            eprintln!("{}", out.report());
        }
        if std::env::var_os("KELEV_E2E_KEEP").is_none() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// One curl request as a browser makes it.
fn get(root: &Path, scheme: &str, domain: &str) -> Visit {
    const MARK: &str = "\n--kelev-write-out--\n";
    let port = if scheme == "https" { 443 } else { 80 };
    let out = Run::new("curl")
        .args(["-sS", "--max-time", "5", "--resolve"])
        .arg(format!("{domain}:{port}:127.0.0.1"))
        .arg("--cacert")
        .arg(root)
        .arg("-w")
        .arg(format!(
            "{MARK}%{{http_code}}\n%{{redirect_url}}\n%{{certs}}"
        ))
        .arg(format!("{scheme}://{domain}/"))
        .run();
    let (body, meta) = out.stdout.split_once(MARK).unwrap_or(("", ""));
    let mut lines = meta.lines();
    let status = lines.next().unwrap_or("0").trim().parse().unwrap_or(0);
    let location = lines.next().unwrap_or("").to_owned();
    // The leaf comes first in %{certs}; take each field's first occurrence.
    let field = |name: &str| {
        meta.lines()
            .find_map(|l| l.strip_prefix(name))
            .unwrap_or("")
            .trim()
            .to_owned()
    };
    Visit {
        status,
        body: body.to_owned(),
        subject: field("Subject:"),
        names: meta
            .split(|c: char| c.is_whitespace() || c == ',' || c == ':')
            .collect::<Vec<_>>()
            .windows(2)
            .filter(|w| w[0] == "DNS")
            .map(|w| w[1].to_owned())
            .collect(),
        issuer: field("Issuer:"),
        serial: field("Serial Number:"),
        location,
        error: out.stderr.trim().to_owned(),
    }
}
