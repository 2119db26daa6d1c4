//! What is wrong with a release's compose file: the problem an `Error::ComposeFile` carries
//! (exit 65).

/// What is wrong with a release's compose file, as the agent reads it.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ComposeProblem {
    #[error("no compose file in the repository (looked for {looked_for})")]
    Missing { looked_for: String },
    #[error("`{name}` is not a regular file")]
    NotRegular { name: String },
    #[error("`compose config` refused the compose file: {reason}")]
    Refused { reason: String },
    #[error("cannot read `compose config` output: {reason}")]
    Unreadable { reason: String },
    #[error("the compose file has no service `{service}` (it has: {has})")]
    NoSuchService { service: String, has: String },
    #[error("the compose file has {count} services; set `service` in the manifest to the one to route to")]
    WhichService { count: usize },
    #[error("the routed service `{service}` is declared a task (`dev.kelev.task`)")]
    RoutedTask { service: String },
    #[error("{reason}")]
    BadTask { reason: String },
}
