//! Step 4, start: the new release up, then the `gate`. With
//! `recreate`, compose recreates every container whose configuration changed; with a
//! zero-downtime rollout and containers to swap with, the routed service is swapped in beside
//! the old one (`swap`) and the other services follow.

use std::io::Write;

use crate::error::Error;
use crate::pipeline::switch::Switch;
use crate::pipeline::Pipeline;
use crate::release::compose_call::Recreate;
use crate::release::release::Override;

impl Pipeline<'_> {
    /// Start `switch.release`, replacing what runs, and wait until it is up and routed. With
    /// `swap_with` (the routed service's old containers), without a gap.
    pub(crate) fn start(
        &self,
        switch: &Switch,
        written: &Override,
        swap_with: Option<&[String]>,
        progress: &mut dyn Write,
    ) -> Result<(), Error> {
        let release = switch.release;
        let project = release.project;
        let how = if swap_with.is_some() {
            "zero-downtime"
        } else {
            "recreate"
        };
        let _ = writeln!(
            progress,
            "starting {} at {} ({how})",
            project.name, release.commit
        );
        let recreate = if switch.recreate_all {
            Recreate::All
        } else {
            Recreate::Changed
        };
        match swap_with {
            Some(old) => self
                .swap(project, release, &written.routed, old, progress)
                .and_then(|()| self.recreate_others(switch, written, progress)),
            None => release
                .up(self.docker, recreate, progress)
                .and_then(|()| self.wait_until_up(project, &release.commit, progress)),
        }
        .and_then(|()| self.wait_routed(project, &written.routed, progress))
    }
}
