//! What one switch brings up, and how it is recorded: the release, whether it is built first,
//! and what the state keeps of it.

use kelev_core::CommitId;

use crate::release::release::Release;

/// One switch: the release to bring up and how to record it.
pub(crate) struct Switch<'r> {
    pub(crate) release: &'r Release<'r>,
    pub(crate) content_hash: String,
    /// Build its images first (deploy, rebuild); a rollback or a restart runs the kept ones.
    pub(crate) build: bool,
    /// A commit that leaves the history once the switch is recorded (what a rollback leaves).
    pub(crate) forget: Option<CommitId>,
    /// Keep the recorded deploy time: a restart for new secrets deploys nothing new.
    pub(crate) keep_deployed_at: bool,
    /// Recreate every container, those whose configuration did not change too.
    pub(crate) recreate_all: bool,
}

impl<'r> Switch<'r> {
    /// A switch to a release built now (deploy, rebuild).
    pub(crate) fn build(release: &'r Release<'r>, content_hash: String) -> Switch<'r> {
        Switch {
            release,
            content_hash,
            build: true,
            forget: None,
            keep_deployed_at: false,
            recreate_all: false,
        }
    }

    /// A switch to a release whose images are kept (rollback, restart).
    pub(crate) fn kept(release: &'r Release<'r>, content_hash: String) -> Switch<'r> {
        Switch {
            build: false,
            ..Switch::build(release, content_hash)
        }
    }
}
