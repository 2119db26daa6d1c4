//! Waiting for a condition, in one place: poll until it holds or a deadline passes, then fail
//! naming what was awaited (and the last answer, when the check gives one). A test never sleeps
//! to let something happen; it waits for the thing itself.

use std::fmt::Display;
use std::time::{Duration, Instant};

/// How often [`wait_until`] asks.
const EVERY: Duration = Duration::from_millis(50);

/// Poll `check` every 50 ms until it holds, and return what it gave; after `timeout`, panic
/// with `timed out after ...: waiting for <what>`. `check` returns a `bool`, an `Option<T>` (the
/// value when ready) or a `Result<T, E>` (`Err` is "not yet", and the last one is in the panic
/// message).
#[track_caller]
pub fn wait_until<R: Ready>(what: &str, timeout: Duration, check: impl FnMut() -> R) -> R::Value {
    wait_every(what, timeout, EVERY, check)
}

/// [`wait_until`], asking every `every`: for a test that must catch a short moment (a few ms
/// into a deploy) or whose check is costly.
#[track_caller]
pub fn wait_every<R: Ready>(
    what: &str,
    timeout: Duration,
    every: Duration,
    check: impl FnMut() -> R,
) -> R::Value {
    match poll(timeout, every, check) {
        Ok(value) => value,
        Err(Some(last)) => panic!("timed out after {timeout:?} waiting for {what}; last: {last}"),
        Err(None) => panic!("timed out after {timeout:?} waiting for {what}"),
    }
}

/// Ask `check` every `every` until it holds (`Ok` with its value) or `timeout` has passed
/// (`Err` with its last answer): for a caller to whom "never" is an answer, not a failure.
pub fn poll<R: Ready>(
    timeout: Duration,
    every: Duration,
    mut check: impl FnMut() -> R,
) -> Result<R::Value, Option<String>> {
    let deadline = Instant::now() + timeout;
    loop {
        let last = match check().ready() {
            Ok(value) => return Ok(value),
            Err(last) => last,
        };
        if Instant::now() >= deadline {
            return Err(last);
        }
        std::thread::sleep(every);
    }
}

/// The command lines (arguments joined by spaces) of the host's processes that contain
/// `needle`, those in containers included: what a test waits on when only a process shows
/// that something runs.
pub fn processes(needle: &str) -> Vec<String> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .map(|c| {
            String::from_utf8_lossy(&c)
                .trim_end_matches('\0')
                .replace('\0', " ")
        })
        .filter(|c| c.contains(needle))
        .collect()
}

/// What a check of [`wait_until`] may answer.
pub trait Ready {
    type Value;
    /// `Ok` when ready; otherwise what to say if this was the last answer.
    fn ready(self) -> Result<Self::Value, Option<String>>;
}

impl Ready for bool {
    type Value = ();
    fn ready(self) -> Result<(), Option<String>> {
        if self {
            Ok(())
        } else {
            Err(None)
        }
    }
}

impl<T> Ready for Option<T> {
    type Value = T;
    fn ready(self) -> Result<T, Option<String>> {
        self.ok_or(None)
    }
}

impl<T, E: Display> Ready for Result<T, E> {
    type Value = T;
    fn ready(self) -> Result<T, Option<String>> {
        self.map_err(|e| Some(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn returns_the_value_once_ready() {
        let mut n = 0;
        let got = wait_until("n to reach 3", Duration::from_secs(5), || {
            n += 1;
            (n >= 3).then_some(n)
        });
        assert_eq!(got, 3);
    }

    #[test]
    #[should_panic(expected = "waiting for the impossible; last: still 7")]
    fn names_what_was_awaited_and_the_last_answer() {
        wait_every(
            "the impossible",
            Duration::from_millis(30),
            Duration::from_millis(5),
            || Err::<(), _>("still 7"),
        );
    }
}
