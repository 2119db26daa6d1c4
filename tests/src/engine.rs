//! A Docker engine of a test's own: its own dockerd, socket, data and exec roots and default
//! bridge, so that stopping it, or giving it another logging driver, disturbs nothing else on
//! the machine. Point a world's agent at it with [`PrivateEngine::agent_config`].

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::command::Run;
use crate::wait::wait_until;

pub struct PrivateEngine {
    dir: PathBuf,
    pub socket: String,
    /// Its own default bridge: a dockerd told `--bridge=none` deletes the host's docker0,
    /// which the machine's engine needs for every build step.
    bridge: String,
    /// More dockerd arguments (`--config-file`), and its environment.
    args: Vec<String>,
    env: Vec<(String, String)>,
    child: Option<Child>,
}

impl PrivateEngine {
    pub fn start(dir: &Path) -> PrivateEngine {
        PrivateEngine::start_with(dir, &[], &[])
    }

    /// With more dockerd arguments and environment variables (for instance a `--config-file`
    /// and the credentials its log driver uses).
    pub fn start_with(dir: &Path, args: &[String], env: &[(&str, &str)]) -> PrivateEngine {
        std::fs::create_dir_all(dir).unwrap();
        // Distinct for each engine of this run (tests start one each), and likely distinct
        // from another run's.
        static STARTED: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let k = STARTED.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let n = (std::process::id() * 2 + k) % 250 + 1;
        let bridge = format!("kelevt{n}");
        let _ = Run::new("ip").args(["link", "del", &bridge]).run();
        Run::new("ip")
            .args(["link", "add", &bridge, "type", "bridge"])
            .run()
            .ok();
        Run::new("ip")
            .args(["addr", "add", &format!("10.214.{n}.1/24"), "dev", &bridge])
            .run()
            .ok();
        Run::new("ip")
            .args(["link", "set", &bridge, "up"])
            .run()
            .ok();
        let mut engine = PrivateEngine {
            dir: dir.to_owned(),
            socket: format!("unix://{}", dir.join("docker.sock").display()),
            bridge,
            args: args.to_vec(),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            child: None,
        };
        engine.up();
        engine
    }

    pub fn docker(&self) -> Run {
        Run::new("docker").args(["-H", &self.socket])
    }

    /// agent.json's `docker` and `compose` for this engine.
    pub fn agent_config(&self) -> serde_json::Value {
        serde_json::json!({
            "docker": ["docker", "-H", self.socket],
            "compose": ["docker", "-H", self.socket, "compose"],
        })
    }

    pub fn up(&mut self) {
        let d = &self.dir;
        let log = std::fs::File::create(d.join("dockerd.log")).unwrap();
        let child = Command::new("dockerd")
            .arg("--data-root")
            .arg(d.join("data"))
            .arg("--exec-root")
            .arg(d.join("exec"))
            .arg("--pidfile")
            .arg(d.join("docker.pid"))
            .args(["-H", &self.socket, "--iptables=false", "--ip-masq=false"])
            .arg(format!("--bridge={}", self.bridge))
            .args(&self.args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("dockerd");
        self.child = Some(child);
        wait_until(
            "the private dockerd to answer `docker info`",
            Duration::from_secs(60),
            || match self.docker().arg("info").run().code {
                Some(0) => Ok(()),
                _ => Err(std::fs::read_to_string(d.join("dockerd.log")).unwrap_or_default()),
            },
        );
    }

    /// What dockerd printed so far (its own warnings, a log driver's errors).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("dockerd.log")).unwrap_or_default()
    }

    /// Stop the engine the way a crash or `systemctl stop` would: SIGTERM, wait.
    pub fn down(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let _ = child.wait();
        }
    }
}

impl Drop for PrivateEngine {
    fn drop(&mut self) {
        if self.child.is_some() {
            let ids = self.docker().args(["ps", "-aq"]).run().stdout;
            for id in ids.split_whitespace() {
                let _ = self.docker().args(["rm", "-f", id]).run();
            }
            // A network's bridge outlives the engine that made it: left behind, the bridges
            // of every run use up the address pools the next engines pick from.
            let _ = self.docker().args(["network", "prune", "--force"]).run();
        }
        self.down();
        let _ = Run::new("ip").args(["link", "del", &self.bridge]).run();
    }
}
