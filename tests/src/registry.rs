//! A real container registry (Debian's `docker-registry`, the Distribution registry) on a held
//! loopback port, with TLS from a CA of its own and htpasswd authentication, as GHCR would
//! require. The engine trusts the CA through `/etc/docker/certs.d/127.0.0.1:<port>/ca.crt`,
//! removed again when the registry is dropped.

use std::path::{Path, PathBuf};

use crate::command::Run;
use crate::port::Port;
use crate::sshd::{loopback_tls, start, Daemon};

/// The user the registry knows, and its password.
pub const REGISTRY_USER: &str = "kelev-ci";
pub const REGISTRY_PASSWORD: &str = "registry-test-password-1";

pub struct Registry {
    dir: tempfile::TempDir,
    daemon: Option<Daemon>,
    port: u16,
    certs_d: PathBuf,
}

impl Registry {
    /// A registry that answers only [`REGISTRY_USER`], over TLS, on a port of its own.
    pub fn start() -> Registry {
        let dir = tempfile::tempdir().unwrap();
        let (ca, cert, key) = loopback_tls(dir.path());
        let htpasswd = dir.path().join("htpasswd");
        let hashed = Run::new("htpasswd")
            .args(["-nbB", REGISTRY_USER, REGISTRY_PASSWORD])
            .run()
            .ok();
        std::fs::write(&htpasswd, hashed.stdout.trim()).unwrap();
        let port = Port::hold();
        let number = port.number();
        let config = serde_json::json!({
            "version": 0.1,
            "log": {"level": "warn"},
            "storage": {
                "filesystem": {"rootdirectory": dir.path().join("data")},
                "delete": {"enabled": true},
            },
            "http": {
                "addr": format!("127.0.0.1:{number}"),
                "tls": {"certificate": cert, "key": key},
            },
            "auth": {"htpasswd": {"realm": "kelev-test", "path": htpasswd}},
        });
        // YAML is a superset of JSON: the registry reads this as its config.yml.
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, config.to_string()).unwrap();
        let certs_d = PathBuf::from(format!("/etc/docker/certs.d/127.0.0.1:{number}"));
        std::fs::create_dir_all(&certs_d).unwrap();
        std::fs::copy(&ca, certs_d.join("ca.crt")).unwrap();
        let daemon = start(
            &[
                "/usr/bin/docker-registry",
                "serve",
                config_path.to_str().unwrap(),
            ],
            &dir.path().join("registry.log"),
            port,
        );
        Registry {
            dir,
            daemon: Some(daemon),
            port: number,
            certs_d,
        }
    }

    /// `127.0.0.1:<port>`, as an image reference starts.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// A Docker client configuration directory logged in to this registry as [`REGISTRY_USER`]
    /// (what CI has after `docker login`), for the test's own pushes.
    pub fn pusher(&self) -> PathBuf {
        let config = self.dir.path().join("pusher");
        std::fs::create_dir_all(&config).unwrap();
        Run::new("docker")
            .arg("--config")
            .arg(&config)
            .args(["login", "--username", REGISTRY_USER, "--password-stdin"])
            .arg(self.host())
            .stdin(REGISTRY_PASSWORD)
            .run()
            .ok();
        config
    }

    /// Build the Dockerfile in `context` as `reference` and push it with `config`'s login;
    /// returns the pushed image's digest (`sha256:...`).
    pub fn build_and_push(&self, config: &Path, context: &Path, reference: &str) -> String {
        Run::new("docker")
            .args(["build", "--quiet", "--tag", reference])
            .arg(context)
            .run()
            .ok();
        let pushed = Run::new("docker")
            .arg("--config")
            .arg(config)
            .args(["push", reference])
            .run()
            .ok();
        let digest = pushed
            .stdout
            .split_whitespace()
            .find(|word| word.starts_with("sha256:"))
            .unwrap_or_else(|| panic!("no digest in the push's output:\n{}", pushed.report()))
            .to_owned();
        // The engine forgets the image: a deploy has to pull it.
        Run::new("docker").args(["rmi", reference]).run().ok();
        digest
    }

    /// Stop the registry: nothing can be pulled from it any more.
    pub fn stop(&mut self) {
        self.daemon = None;
    }
}

impl Drop for Registry {
    /// The registry stopped, its CA no longer trusted, and every image the engine pulled from
    /// it removed (the worlds that ran them are dropped first: declare the registry before).
    fn drop(&mut self) {
        self.daemon = None;
        let _ = std::fs::remove_dir_all(&self.certs_d);
        let listed = Run::new("docker")
            .args(["images", "--format", "{{.Repository}} {{.ID}}"])
            .run();
        let prefix = format!("{}/", self.host());
        for line in listed.stdout.lines() {
            if let Some((repository, id)) = line.split_once(' ') {
                if repository.starts_with(&prefix) {
                    let _ = Run::new("docker").args(["rmi", "--force", id]).run();
                }
            }
        }
    }
}
