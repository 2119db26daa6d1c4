//! `kelev decide`: whether a deploy job sends its project, and why. The host is the truth: a
//! project is skipped only when the host runs this content hash with its containers up. The
//! `deployed-<name>-<hash>` artifacts are the record of what CI sent; they only tell a new
//! content from one the host lacks.

use std::io::Write;

use kelev_core::ContentHash;

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
    /// `running`: what the host runs with its containers up, if anything.
    pub(crate) fn decide(
        hash: &ContentHash,
        running: Option<&ContentHash>,
        recorded: u32,
        force: bool,
    ) -> Reason {
        if force {
            Reason::Forced
        } else if running == Some(hash) {
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

/// Print `deploy=true|false` and `reason=...`, lines for `$GITHUB_OUTPUT`. `running` empty:
/// the host runs nothing of it (the matrix entry's empty `running`).
pub(crate) fn run(
    hash: &str,
    running: &str,
    recorded: u32,
    force: bool,
    out: &mut dyn Write,
) -> Result<i32, Error> {
    let hash = content_hash("--hash", hash)?;
    let running = match running {
        "" => None,
        running => Some(content_hash("--running", running)?),
    };
    let reason = Reason::decide(&hash, running.as_ref(), recorded, force);
    let _ = write!(
        out,
        "deploy={}\nreason={}\n",
        reason.deploys(),
        reason.as_str()
    );
    Ok(0)
}

fn content_hash(what: &str, value: &str) -> Result<ContentHash, Error> {
    ContentHash::parse(value).ok_or_else(|| Error::Data {
        what: what.into(),
        message: format!(
            "`{}` is not a content hash (64 lowercase hex digits)",
            value.escape_default()
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_host_decides_and_the_record_explains() {
        let h = ContentHash::parse(&"a".repeat(64)).unwrap();
        let other = ContentHash::parse(&"b".repeat(64)).unwrap();
        for (running, recorded, force, reason) in [
            (Some(&h), 0, false, Reason::HostRunsIt),
            (Some(&h), 3, false, Reason::HostRunsIt),
            (Some(&h), 1, true, Reason::Forced),
            (None, 1, false, Reason::HostLacksIt),
            (Some(&other), 2, false, Reason::HostLacksIt),
            (None, 0, false, Reason::NewContent),
            (Some(&other), 0, false, Reason::NewContent),
            (None, 0, true, Reason::Forced),
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
