//! Running `docker` and `docker compose`: never through a shell, with a cleared environment,
//! output streamed live to the caller, the tail kept for the error message, and children stopped
//! when we are asked to stop.

use std::io::{Read, Write};
use std::path::Path;
use std::process::ExitStatus;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::error::Error;
use crate::host::signals;

const TAIL_BYTES: usize = 8 * 1024;
/// How often the watcher looks for a stop request to pass on.
const POLL: Duration = Duration::from_millis(10);
/// How often a streamed child's output file and exit are looked at: the lag after its end.
const FOLLOW: Duration = Duration::from_millis(2);
const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The environment every child gets: nothing inherited, a fixed PATH, and HOME from the
/// password database (Docker keeps its client config there; a client could set HOME through
/// sshd's AcceptEnv, the password database it cannot), plus what the caller adds.
pub(crate) fn base_env() -> Vec<(String, String)> {
    let home = nix::unistd::User::from_uid(nix::unistd::getuid())
        .ok()
        .flatten()
        .map(|user| user.dir.display().to_string())
        .unwrap_or_else(|| "/".into());
    vec![
        ("PATH".into(), PATH.into()),
        ("LC_ALL".into(), "C".into()),
        ("HOME".into(), home),
    ]
}

pub(crate) struct Captured {
    pub(crate) status: ExitStatus,
    pub(crate) stdout: Vec<u8>,
    pub(crate) stderr: String,
}

fn expression(argv: &[String], env: &[(String, String)], dir: Option<&Path>) -> duct::Expression {
    let mut expr = duct::cmd(&argv[0], &argv[1..])
        .full_env(env.iter().cloned())
        .stdin_null()
        .unchecked();
    if let Some(dir) = dir {
        expr = expr.dir(dir);
    }
    expr
}

fn spawn_error(argv: &[String]) -> impl FnOnce(std::io::Error) -> Error + '_ {
    // The program alone: its arguments (a whole `--format` template) would bury the cause.
    move |source| Error::Spawn {
        program: argv.first().cloned().unwrap_or_default(),
        source,
    }
}

/// Run to completion and capture both streams (for short queries like `docker inspect`).
pub(crate) fn capture(argv: &[String], env: &[(String, String)]) -> Result<Captured, Error> {
    let output = expression(argv, env, None)
        .stdout_capture()
        .stderr_capture()
        .run()
        .map_err(spawn_error(argv))?;
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    if !output.status.success() {
        unreachable_docker(&stderr)?;
    }
    Ok(Captured {
        status: output.status,
        stdout: output.stdout,
        stderr,
    })
}

pub(crate) struct Streamed {
    pub(crate) status: ExitStatus,
    pub(crate) tail: String,
}

/// Run with stdout and stderr merged and copied to `out` as they come. The child writes to a
/// file in `log_dir` that the agent follows, never to a pipe the agent holds: if the client
/// goes away, or the agent itself dies, the child finishes its step instead of dying on its next
/// write. Write errors on `out` are ignored for the same reason.
pub(crate) fn stream(
    argv: &[String],
    env: &[(String, String)],
    dir: &Path,
    log_dir: &Path,
    out: &mut dyn Write,
) -> Result<Streamed, Error> {
    static SEQUENCE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    signals::check()?;
    std::fs::create_dir_all(log_dir).map_err(Error::io(log_dir))?;
    let log = log_dir.join(format!(
        ".{}.{}.log",
        std::process::id(),
        SEQUENCE.fetch_add(1, Ordering::SeqCst)
    ));
    let file = std::fs::File::create(&log).map_err(Error::io(&log))?;
    let mut follow = std::fs::File::open(&log).map_err(Error::io(&log))?;
    let started = expression(argv, env, Some(dir))
        .stderr_to_stdout()
        .stdout_file(file)
        .start();
    let handle = match started {
        Ok(handle) => Arc::new(handle),
        Err(e) => {
            let _ = std::fs::remove_file(&log);
            return Err(spawn_error(argv)(e));
        }
    };
    let done = Arc::new(AtomicBool::new(false));
    let watcher = {
        let handle = Arc::clone(&handle);
        let done = Arc::clone(&done);
        std::thread::spawn(move || forward_stop(&handle, &done))
    };
    let mut tail: Vec<u8> = Vec::with_capacity(TAIL_BYTES * 2);
    let mut buf = [0u8; 8192];
    let mut copy = |n: usize, buf: &[u8], tail: &mut Vec<u8>| {
        let _ = out.write_all(&buf[..n]).and_then(|()| out.flush());
        tail.extend_from_slice(&buf[..n]);
        if tail.len() > TAIL_BYTES * 2 {
            tail.drain(..tail.len() - TAIL_BYTES);
        }
    };
    let status = loop {
        match follow.read(&mut buf) {
            Ok(n) if n > 0 => {
                copy(n, &buf, &mut tail);
                continue;
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => {}
        }
        match handle.try_wait() {
            Ok(Some(output)) => {
                // The rest it wrote before exiting.
                while let Ok(n) = follow.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    copy(n, &buf, &mut tail);
                }
                break Ok(output.status);
            }
            // Short: this wait is added to every compose step a deploy runs.
            Ok(None) => std::thread::sleep(FOLLOW),
            Err(e) => break Err(e),
        }
    };
    done.store(true, Ordering::SeqCst);
    // Woken rather than waited out: the join then costs nothing after every streamed call.
    watcher.thread().unpark();
    let _ = watcher.join();
    let _ = std::fs::remove_file(&log);
    let status = status.map_err(spawn_error(argv))?;
    signals::check()?;
    if tail.len() > TAIL_BYTES {
        tail.drain(..tail.len() - TAIL_BYTES);
    }
    let tail = String::from_utf8_lossy(&tail).into_owned();
    if !status.success() {
        unreachable_docker(&tail)?;
    }
    Ok(Streamed { status, tail })
}

/// Poll for a stop request and pass it on to the children as SIGTERM; SIGKILL if they linger.
fn forward_stop(handle: &duct::Handle, done: &AtomicBool) {
    let mut asked_at = None;
    while !done.load(Ordering::SeqCst) {
        if signals::pending().is_some() {
            let signal = match asked_at {
                None => Signal::SIGTERM,
                Some(at)
                    if std::time::Instant::now().duration_since(at) > Duration::from_secs(20) =>
                {
                    Signal::SIGKILL
                }
                Some(_) => {
                    std::thread::park_timeout(POLL);
                    continue;
                }
            };
            for pid in handle.pids() {
                let _ = kill(Pid::from_raw(pid as i32), signal);
            }
            asked_at.get_or_insert_with(std::time::Instant::now);
        }
        std::thread::park_timeout(POLL);
    }
}

/// Docker's words for "no engine here"; such a failure is 69, not a failed build.
fn unreachable_docker(output: &str) -> Result<(), Error> {
    const SIGNS: [&str; 4] = [
        "Cannot connect to the Docker daemon",
        "Is the docker daemon running",
        "error during connect",
        "permission denied while trying to connect to the Docker daemon",
    ];
    match output
        .lines()
        .find(|line| SIGNS.iter().any(|sign| line.contains(sign)))
    {
        Some(line) => Err(Error::DockerUnreachable {
            line: line.trim().to_owned(),
        }),
        None => Ok(()),
    }
}

/// An argv as a reader would type it: a word with anything but letters, digits and
/// `-_./=:,@%+` in single quotes.
pub(crate) fn render(argv: &[String]) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./=:,@%+".contains(c);
    argv.iter()
        .map(|word| {
            if !word.is_empty() && word.chars().all(plain) {
                word.clone()
            } else {
                format!("'{}'", word.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

pub(crate) fn describe(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit code {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        _ => "unknown status".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argv_as_typed() {
        let argv: Vec<String> = [
            "docker",
            "ps",
            "--format",
            "{{.ID}}\t{{.State}}",
            "",
            "it's",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(
            render(&argv),
            "docker ps --format '{{.ID}}\t{{.State}}' '' 'it'\\''s'"
        );
    }
}
