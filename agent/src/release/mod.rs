//! A release of a project and what it is made of: the mirror it is fetched from, its compose
//! file and the override written beside it, every Docker and compose call as a value and the
//! one place they run, the shared network, Traefik's API. The steps of a deploy that use them
//! are in `pipeline/`.

pub(crate) mod compose;
pub(crate) mod compose_call;
pub(crate) mod docker;
pub(crate) mod docker_call;
pub(crate) mod git_credential;
pub(crate) mod mirror;
pub(crate) mod network;
pub(crate) mod override_file;
pub(crate) mod persistent;
#[allow(clippy::module_inception)]
pub(crate) mod release;
pub(crate) mod routing;
pub(crate) mod runner;
pub(crate) mod task;
pub(crate) mod traefik;
pub(crate) mod trust;
