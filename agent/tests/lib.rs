//! The agent binary without Docker: invocation, grammar, policy, config and manifest handling,
//! and the audit log. (Everything that needs Docker and sshd is in tests/e2e.)

mod golden;
mod invocation;
mod manifest;

use std::path::PathBuf;

use kelev_e2e::Run;

/// A config and root in a tempdir for sealed runs of `kelev-agent` (through the workspace's
/// harness, [`Run`]): HOME points into the tempdir, nothing else is inherited but PATH.
pub struct Test {
    dir: tempfile::TempDir,
}

pub const MANIFEST: &str = r#"{"domain":"kelev.test","projects":[{"name":"fun-n-games","repo":"file:///nonexistent/fun.git"},{"name":"other","repo":"file:///nonexistent/other.git"}]}"#;

impl Default for Test {
    fn default() -> Test {
        Test::new()
    }
}

impl Test {
    pub fn new() -> Test {
        let test = Test {
            dir: tempfile::tempdir().unwrap(),
        };
        test.config(&serde_json::json!({
            "root": test.root(),
            "keys": {
                "ci": {"verbs": ["*"], "projects": ["*"]},
                "fun-ci": {"verbs": ["deploy", "status"], "projects": ["fun-n-games"]},
            },
            "docker": ["/nonexistent/docker"],
        }));
        std::fs::create_dir_all(test.root()).unwrap();
        std::fs::write(test.manifest_path(), MANIFEST).unwrap();
        test
    }

    pub fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("agent.json")
    }

    pub fn manifest_path(&self) -> PathBuf {
        self.root().join("projects.json")
    }

    pub fn config(&self, value: &serde_json::Value) {
        std::fs::write(self.config_path(), value.to_string()).unwrap();
    }

    /// The agent with `--config` and these words, run locally (no SSH_CONNECTION).
    pub fn args(&self, args: &[&str]) -> Run {
        Run::new(env!("CARGO_BIN_EXE_kelev-agent"))
            .env("HOME", self.dir.path())
            .arg("--config")
            .arg(self.config_path())
            .args(args)
    }

    /// Arrive as sshd would deliver `command` for key `key` (`--key` absent when `None`).
    pub fn ssh(&self, key: Option<&str>, command: &[u8]) -> Run {
        let key: &[&str] = match key {
            Some(key) => &["--key", key],
            None => &[],
        };
        self.args(key)
            .env_bytes("SSH_ORIGINAL_COMMAND", command)
            .env("SSH_CONNECTION", "127.0.0.1 5555 127.0.0.1 22")
    }

    pub fn audit(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(self.root().join("audit.log"))
            .unwrap_or_default()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }
}

/// `agent/tests/golden/<name>`.
pub fn golden(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name)
}
