//! Running a command and asserting on its result, printing everything on failure.

use std::ffi::OsString;
use std::io::Write;
use std::process::{Command, Stdio};

/// A command to run: build it, then call [`Run::run`].
#[must_use]
pub struct Run {
    command: Command,
    stdin: Vec<u8>,
    shown: String,
}

impl Run {
    pub fn new(program: impl Into<OsString>) -> Run {
        let program = program.into();
        let mut command = Command::new(&program);
        command.env_clear().env(
            "PATH",
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        );
        Run {
            command,
            stdin: Vec::new(),
            shown: program.to_string_lossy().into_owned(),
        }
    }

    pub fn arg(mut self, arg: impl Into<OsString>) -> Run {
        let arg = arg.into();
        self.shown.push(' ');
        let shown = format!("{:?}", arg);
        match shown.char_indices().nth(200) {
            Some((cut, _)) => {
                self.shown
                    .push_str(&format!("{}...({} bytes)", &shown[..cut], arg.len()))
            }
            None => self.shown.push_str(&shown),
        }
        self.command.arg(arg);
        self
    }

    pub fn args<I: IntoIterator<Item = S>, S: Into<OsString>>(mut self, args: I) -> Run {
        for arg in args {
            self = self.arg(arg);
        }
        self
    }

    pub fn env(mut self, key: &str, value: impl Into<OsString>) -> Run {
        self.command.env(key, value.into());
        self
    }

    pub fn dir(mut self, dir: impl AsRef<std::path::Path>) -> Run {
        self.command.current_dir(dir);
        self
    }

    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Run {
        self.stdin = bytes.into();
        self
    }

    pub fn spawn(mut self) -> std::process::Child {
        self.command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.shown))
    }

    /// [`Run::run`], but a command still running after `limit` is killed and the test fails
    /// there, instead of hanging the suite. Only the local process is killed: through ssh, the
    /// agent on the other side (which ignores SIGHUP) runs on until its own timeout.
    #[track_caller]
    pub fn run_within(self, limit: std::time::Duration) -> Output {
        let shown = self.shown.clone();
        let (done, wait) = std::sync::mpsc::channel::<()>();
        let (pid_in, pid_out) = std::sync::mpsc::channel::<u32>();
        let watchdog = std::thread::spawn(move || {
            let pid = pid_out.recv().ok()?;
            match wait.recv_timeout(limit) {
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                    let _ = std::process::Command::new("kill")
                        .args(["-KILL", &pid.to_string()])
                        .status();
                    Some(())
                }
                _ => None,
            }
        });
        let output = self.run_reporting(Some(pid_in));
        let _ = done.send(());
        if watchdog.join().ok().flatten().is_some() {
            panic!(
                "still running after {limit:?}, killed: {shown}\n{}",
                output.report()
            );
        }
        output
    }

    pub fn run(self) -> Output {
        self.run_reporting(None)
    }

    fn run_reporting(mut self, pid: Option<std::sync::mpsc::Sender<u32>>) -> Output {
        let mut child = self
            .command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.shown));
        if let Some(pid) = pid {
            let _ = pid.send(child.id());
        }
        let mut stdin = child.stdin.take().expect("piped");
        let input = std::mem::take(&mut self.stdin);
        let writer = std::thread::spawn(move || {
            let _ = stdin.write_all(&input);
        });
        let output = child.wait_with_output().expect("wait");
        let _ = writer.join();
        Output {
            shown: self.shown,
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

#[derive(Debug)]
pub struct Output {
    pub shown: String,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// Assert the exit code; returns self for more checks.
    #[track_caller]
    pub fn code(self, expected: i32) -> Output {
        if self.code != Some(expected) {
            panic!("expected exit {expected}\n{}", self.report());
        }
        self
    }

    #[track_caller]
    pub fn ok(self) -> Output {
        self.code(0)
    }

    #[track_caller]
    pub fn stdout_has(self, needle: &str) -> Output {
        if !self.stdout.contains(needle) {
            panic!("stdout lacks {needle:?}\n{}", self.report());
        }
        self
    }

    #[track_caller]
    pub fn stderr_has(self, needle: &str) -> Output {
        if !self.stderr.contains(needle) {
            panic!("stderr lacks {needle:?}\n{}", self.report());
        }
        self
    }

    #[track_caller]
    pub fn stdout_lacks(self, needle: &str) -> Output {
        if self.stdout.contains(needle) {
            panic!("stdout has {needle:?}\n{}", self.report());
        }
        self
    }

    /// The last line of stdout.
    pub fn last_line(&self) -> &str {
        self.stdout.lines().last().unwrap_or("")
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(self.stdout.trim())
            .unwrap_or_else(|e| panic!("stdout is not JSON: {e}\n{}", self.report()))
    }

    pub fn report(&self) -> String {
        format!(
            "command: {}\nstatus: {:?}\n--- stdout\n{}\n--- stderr\n{}\n---",
            self.shown, self.code, self.stdout, self.stderr
        )
    }
}
