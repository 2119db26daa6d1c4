//! The one test harness of the workspace: run a real binary in a sealed environment and assert
//! on its exit status, stdout and stderr, printing command, cwd, status and both outputs on
//! failure. `agent/tests` (the agent without Docker) and `tests/e2e` (through sshd and Docker)
//! both use it.

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The only PATH a command run here sees.
const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// A command to run: build it, then call [`Run::run`]. The environment starts empty but for
/// `PATH` (and whatever [`Run::env`] adds), so nothing of the caller's leaks in.
#[must_use]
pub struct Run {
    command: Command,
    stdin: Vec<u8>,
    shown: String,
    cwd: Option<PathBuf>,
}

impl Run {
    pub fn new(program: impl Into<OsString>) -> Run {
        let program = program.into();
        let mut command = Command::new(&program);
        command.env_clear().env("PATH", PATH);
        Run {
            command,
            stdin: Vec::new(),
            shown: program.to_string_lossy().into_owned(),
            cwd: None,
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
        let value = value.into();
        self.shown = format!("{key}={value:?} {}", self.shown);
        self.command.env(key, value);
        self
    }

    /// Without `key` in the child's environment, whatever this process has.
    pub fn env_remove(mut self, key: &str) -> Run {
        self.shown = format!("-u {key} {}", self.shown);
        self.command.env_remove(key);
        self
    }

    /// [`Run::env`] with a value that need not be UTF-8 (what sshd may hand over).
    pub fn env_bytes(self, key: &str, value: &[u8]) -> Run {
        use std::os::unix::ffi::OsStrExt;
        self.env(key, std::ffi::OsStr::from_bytes(value))
    }

    pub fn dir(mut self, dir: impl AsRef<Path>) -> Run {
        self.command.current_dir(dir.as_ref());
        self.cwd = Some(dir.as_ref().to_owned());
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
        let cwd = self
            .cwd
            .or_else(|| std::env::current_dir().ok())
            .unwrap_or_default();
        Output {
            shown: self.shown,
            cwd,
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

#[derive(Debug)]
pub struct Output {
    pub shown: String,
    pub cwd: PathBuf,
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

    /// Assert that stdout is exactly `expected`.
    #[track_caller]
    pub fn stdout_is(self, expected: &str) -> Output {
        if self.stdout != expected {
            panic!(
                "stdout differs\n--- expected stdout\n{expected}\n{}",
                self.report()
            );
        }
        self
    }

    /// Assert that stderr is exactly `expected`.
    #[track_caller]
    pub fn stderr_is(self, expected: &str) -> Output {
        if self.stderr != expected {
            panic!(
                "stderr differs\n--- expected stderr\n{expected}\n{}",
                self.report()
            );
        }
        self
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
            "command: {}\ncwd: {}\nstatus: {:?}\n--- stdout\n{}\n--- stderr\n{}\n---",
            self.shown,
            self.cwd.display(),
            self.code,
            self.stdout,
            self.stderr
        )
    }
}

/// Assert that `actual` is the golden file `path` with `values` put in (see [`expected`]).
/// With `KELEV_BLESS=1` in the test's environment, write `actual` there instead, each value
/// turned back into its `{name}` (then review the diff).
#[track_caller]
pub fn assert_golden(path: impl AsRef<Path>, values: &[(&str, &str)], actual: &str) {
    let path = path.as_ref();
    if std::env::var_os("KELEV_BLESS").is_some() {
        let mut values = values.to_vec();
        values.sort_by_key(|(_, value)| std::cmp::Reverse(value.len()));
        let mut text = actual.to_owned();
        for (name, value) in values {
            text = text.replace(value, &format!("{{{name}}}"));
        }
        std::fs::write(path, text).unwrap();
        return;
    }
    let golden = expected(path, values);
    if golden != actual {
        panic!(
            "output differs from {} (KELEV_BLESS=1 rewrites it)\n--- expected\n{golden}--- actual\n{actual}---",
            path.display()
        );
    }
}

/// The golden file `path` (tealdeer's `*.expected`) with each `{name}` of `values` put in: the
/// volatile parts of an output (a commit, a time) are filled in by the test, never skipped.
#[track_caller]
pub fn expected(path: impl AsRef<Path>, values: &[(&str, &str)]) -> String {
    let path = path.as_ref();
    let mut text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read golden file {}: {e}", path.display()));
    for (name, value) in values {
        text = text.replace(&format!("{{{name}}}"), value);
    }
    text
}
