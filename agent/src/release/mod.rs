//! A release of a project and the switch to it: the mirror it is fetched into, the checkout,
//! the compose calls (argv built here, run by `host::child`), the override, what Docker says
//! runs, the health gate, the rollout, and pruning what is no longer kept.

pub(crate) mod checkout;
pub(crate) mod compose;
pub(crate) mod compose_call;
pub(crate) mod docker;
pub(crate) mod docker_call;
pub(crate) mod health;
pub(crate) mod mirror;
pub(crate) mod network;
pub(crate) mod override_file;
pub(crate) mod persistent;
pub(crate) mod prune;
#[allow(clippy::module_inception)]
pub(crate) mod release;
pub(crate) mod roll;
pub(crate) mod rollout;
#[cfg(test)]
mod rollout_tests;
pub(crate) mod runner;
pub(crate) mod switch;
pub(crate) mod traefik;
pub(crate) mod trust;
