//! The exit codes both binaries use (sysexits), so CI can tell "try again" from "fix the input"
//! whichever binary failed. docs/commands.md lists them.

/// What a run's exit status means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitCode {
    Ok = 0,
    /// Ran and failed: a build, a fetch, a start that did not come up.
    Failed = 1,
    /// The command itself is wrong (EX_USAGE).
    Usage = 64,
    /// The input is wrong: manifest, config, state, secrets (EX_DATAERR).
    Data = 65,
    /// Docker or another service is not there (EX_UNAVAILABLE).
    Unavailable = 69,
    /// The output could not be written: a full disk, a closed pipe (EX_IOERR).
    Output = 74,
    /// Busy: a lock is held; the same call may work later (EX_TEMPFAIL).
    TryAgain = 75,
    /// This key may not do that (EX_NOPERM).
    NotPermitted = 77,
}

impl ExitCode {
    pub const fn code(self) -> i32 {
        self as i32
    }

    /// A word for logs and summaries.
    pub const fn word(self) -> &'static str {
        match self {
            ExitCode::Ok => "ok",
            ExitCode::Failed => "failed",
            ExitCode::Usage => "refused",
            ExitCode::Data => "bad-data",
            ExitCode::Unavailable => "unavailable",
            ExitCode::Output => "output-failed",
            ExitCode::TryAgain => "locked",
            ExitCode::NotPermitted => "denied",
        }
    }
}
