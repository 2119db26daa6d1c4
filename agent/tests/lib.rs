//! The agent binary without Docker: invocation, grammar, policy, config and manifest handling,
//! and the audit log. (Everything that needs Docker and sshd is in tests/e2e.)

mod invocation;
mod manifest;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A sealed run of `kelev-agent` against a config and root in a tempdir.
#[must_use]
pub struct Test {
    dir: tempfile::TempDir,
    env: Vec<(String, Vec<u8>)>,
    args: Vec<String>,
    stdin: Vec<u8>,
}

pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    shown: String,
}

pub const MANIFEST: &str = r#"{"domain":"kelev.test","projects":[{"name":"fun-n-games","repo":"file:///nonexistent/fun.git"},{"name":"other","repo":"file:///nonexistent/other.git"}]}"#;

impl Default for Test {
    fn default() -> Test {
        Test::new()
    }
}

impl Test {
    pub fn new() -> Test {
        let dir = tempfile::tempdir().unwrap();
        let test = Test {
            dir,
            env: Vec::new(),
            args: Vec::new(),
            stdin: Vec::new(),
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
        std::fs::write(test.root().join("projects.json"), MANIFEST).unwrap();
        test
    }

    pub fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("agent.json")
    }

    pub fn config(&self, value: &serde_json::Value) {
        std::fs::write(self.config_path(), value.to_string()).unwrap();
    }

    /// Arrive as sshd would deliver `command` for key `key`.
    pub fn ssh(mut self, key: Option<&str>, command: &[u8]) -> Test {
        self.env
            .push(("SSH_ORIGINAL_COMMAND".into(), command.to_vec()));
        self.env.push((
            "SSH_CONNECTION".into(),
            b"127.0.0.1 5555 127.0.0.1 22".to_vec(),
        ));
        if let Some(key) = key {
            self.args.extend(["--key".into(), key.into()]);
        }
        self
    }

    pub fn args(mut self, args: &[&str]) -> Test {
        self.args.extend(args.iter().map(|s| s.to_string()));
        self
    }

    pub fn env(mut self, key: &str, value: &[u8]) -> Test {
        self.env.push((key.into(), value.to_vec()));
        self
    }

    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Test {
        self.stdin = bytes.into();
        self
    }

    pub fn audit(&self) -> Vec<serde_json::Value> {
        read_audit(&self.root())
    }

    pub fn run(&self) -> Output {
        use std::io::Write;
        use std::os::unix::ffi::OsStrExt;
        let mut command = Command::new(env!("CARGO_BIN_EXE_kelev-agent"));
        command
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("HOME", self.dir.path())
            .arg("--config")
            .arg(self.config_path())
            .args(&self.args);
        for (key, value) in &self.env {
            command.env(key, std::ffi::OsStr::from_bytes(value));
        }
        let shown = format!("{command:?}");
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let input = self.stdin.clone();
        let writer = std::thread::spawn(move || {
            let _ = stdin.write_all(&input);
        });
        let out = child.wait_with_output().unwrap();
        writer.join().unwrap();
        Output {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            shown,
        }
    }
}

pub fn read_audit(root: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(root.join("audit.log"))
        .unwrap_or_default()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

impl Output {
    #[track_caller]
    pub fn expect(self, code: i32, stderr_has: &str) -> Output {
        if self.code != code || !self.stderr.contains(stderr_has) {
            panic!(
                "expected exit {code} and stderr with {stderr_has:?}\ncommand: {}\nstatus: {}\n--- stdout\n{}--- stderr\n{}",
                self.shown, self.code, self.stdout, self.stderr
            );
        }
        self
    }
}
