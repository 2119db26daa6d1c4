//! One deploy, step by step, each step a function named for what it does, in the order they
//! run (docs/architecture.md, "A deploy"):
//!
//! 1. [`fetch`]: the commit from the project's mirror, resolved;
//! 2. [`release_dir`]: `releases/<commit>`, whole or absent;
//! 3. [`build`]: the release's images, while the old release serves, then [`pull`]: those
//!    it takes from a registry; [`release_tasks`]: the release tasks, from the new images,
//!    before anything starts;
//! 4. [`start`]: the new release up, its containers recreated or, for the routed service,
//!    swapped in beside the old one without a gap ([`swap`]);
//! 5. [`gate`]: up as Docker says (the health gate) and routed by Traefik;
//! 6. [`record`]: `state.json`, the `current` link and pruning.
//!
//! deploy, rebuild, rollback, clone and `secrets-put --restart` are compositions of these
//! steps; [`switch`] is steps 3 to 6 (release tasks on deploy and rebuild only), with the previous release put back on failure.

pub(crate) mod build;
pub(crate) mod fetch;
pub(crate) mod gate;
pub(crate) mod pull;
#[cfg(test)]
mod pull_tests;
pub(crate) mod record;
pub(crate) mod release_dir;
pub(crate) mod release_tasks;
#[cfg(test)]
mod release_tasks_tests;
pub(crate) mod start;
pub(crate) mod swap;
pub(crate) mod switch;
#[cfg(test)]
mod switch_tests;

use crate::host::config::Config;
use crate::host::layout::Layout;
use crate::release::docker::Docker;

/// What the steps that touch Docker work with.
pub(crate) struct Pipeline<'a> {
    pub(crate) config: &'a Config,
    pub(crate) layout: &'a Layout,
    pub(crate) docker: &'a Docker,
}
