//! `kelev decide`: whether a deploy job sends its project, and why. The host is the truth: a
//! project is skipped only when the host runs this content hash with its containers up. The
//! `deployed-<name>-<hash>` artifacts are the record of what CI sent; they only tell a new
//! content from one the host lacks.

use std::io::Write;

use crate::error::Error;

/// Why a project was deployed or skipped, as the summary and the notification show it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reason {
    /// `force` was set.
    Forced,
    /// The host runs this content with its containers up.
    HostRunsIt,
    /// CI deployed this content before, but the host does not run it (a rollback, a new or
    /// restored host, a removed project, containers down).
    HostLacksIt,
    /// No deploy of this content is on record.
    NewContent,
}

impl Reason {
    pub(crate) fn decide(hash: &str, running: &str, recorded: u32, force: bool) -> Reason {
        if force {
            Reason::Forced
        } else if hash == running {
            Reason::HostRunsIt
        } else if recorded > 0 {
            Reason::HostLacksIt
        } else {
            Reason::NewContent
        }
    }

    pub(crate) fn deploys(self) -> bool {
        self != Reason::HostRunsIt
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Reason::Forced => "forced",
            Reason::HostRunsIt => "host runs it",
            Reason::HostLacksIt => "host lacks it",
            Reason::NewContent => "new content",
        }
    }
}

/// Print `deploy=true|false` and `reason=...`, lines for `$GITHUB_OUTPUT`.
pub(crate) fn run(
    hash: &str,
    running: &str,
    recorded: u32,
    force: bool,
    out: &mut dyn Write,
) -> Result<i32, Error> {
    check_hash("--hash", hash)?;
    if !running.is_empty() {
        check_hash("--running", running)?;
    }
    let reason = Reason::decide(hash, running, recorded, force);
    let _ = write!(
        out,
        "deploy={}\nreason={}\n",
        reason.deploys(),
        reason.as_str()
    );
    Ok(0)
}

fn check_hash(what: &str, value: &str) -> Result<(), Error> {
    let hex = |b: u8| b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
    if value.len() == 64 && value.bytes().all(hex) {
        return Ok(());
    }
    Err(Error::Data {
        what: what.into(),
        message: format!(
            "`{}` is not a content hash (64 lowercase hex digits)",
            value.escape_default()
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::Reason;

    #[test]
    fn the_host_decides_and_the_record_explains() {
        let (h, other) = ("a".repeat(64), "b".repeat(64));
        for (running, recorded, force, reason) in [
            (h.as_str(), 0, false, Reason::HostRunsIt),
            (h.as_str(), 3, false, Reason::HostRunsIt),
            (h.as_str(), 1, true, Reason::Forced),
            ("", 1, false, Reason::HostLacksIt),
            (other.as_str(), 2, false, Reason::HostLacksIt),
            ("", 0, false, Reason::NewContent),
            (other.as_str(), 0, false, Reason::NewContent),
            ("", 0, true, Reason::Forced),
        ] {
            let got = Reason::decide(&h, running, recorded, force);
            assert_eq!(
                got, reason,
                "running {running:?}, recorded {recorded}, force {force}"
            );
            assert_eq!(got.deploys(), reason != Reason::HostRunsIt);
        }
    }
}
