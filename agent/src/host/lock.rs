//! Per-project exclusive locks (flock), so two deploys of one project never overlap. The holder
//! writes who it is into the lock file, so a waiter that gives up can say who holds it.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use nix::fcntl::{Flock, FlockArg};

use crate::error::{Error, Locked};
use crate::host::layout::create_dir;
use crate::host::{signals, timefmt};

/// Held until dropped; the kernel releases it if the process dies.
pub(crate) struct Lock {
    _file: Flock<File>,
}

impl Lock {
    /// Wait up to `timeout` for the lock at `path` on `what`. `holder` is written into the file
    /// for others to read.
    pub(crate) fn acquire(
        path: &Path,
        what: Locked,
        holder: &str,
        timeout: Duration,
        progress: &mut dyn Write,
    ) -> Result<Lock, Error> {
        if let Some(dir) = path.parent() {
            create_dir(dir)?;
        }
        let started = Instant::now();
        let mut told = false;
        let mut file = open(path)?;
        loop {
            match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
                Ok(mut locked) => {
                    let line = format!("{holder} since {}\n", timefmt::now());
                    let _ = locked
                        .set_len(0)
                        .and_then(|()| locked.rewind())
                        .and_then(|()| locked.write_all(line.as_bytes()));
                    return Ok(Lock { _file: locked });
                }
                Err((returned, _errno)) => file = returned,
            }
            let holder = read_holder(&mut file);
            if started.elapsed() >= timeout {
                return Err(Error::LockTimeout {
                    what,
                    holder,
                    waited_secs: timeout.as_secs(),
                });
            }
            if !told {
                let _ = writeln!(progress, "waiting for the lock on {what}, held by {holder}");
                told = true;
            }
            signals::check()?;
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn open(path: &Path) -> Result<File, Error> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(Error::io(path))
}

fn read_holder(file: &mut File) -> String {
    let mut text = String::new();
    let _ = file.rewind().and_then(|()| file.read_to_string(&mut text));
    match text.trim() {
        "" => "another kelev-agent".into(),
        holder => holder.to_owned(),
    }
}

/// A project's lock, held, with the manifest entry it was taken for: what every function that
/// changes a project takes as proof that nobody else is changing it.
pub(crate) struct ProjectLock {
    project: kelev_core::Project,
    _lock: Lock,
}

impl ProjectLock {
    pub(crate) fn new(project: kelev_core::Project, lock: Lock) -> ProjectLock {
        ProjectLock {
            project,
            _lock: lock,
        }
    }

    pub(crate) fn project(&self) -> &kelev_core::Project {
        &self.project
    }
}
