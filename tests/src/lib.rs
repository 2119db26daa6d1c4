//! The test harness of the workspace. [`Run`] runs a real binary in a sealed environment and
//! asserts on its output (the agent's integration tests use it too); [`expected`] reads a golden
//! file. For the end-to-end tests: a throwaway host in a directory. Each [`World`] has its own copy of
//! `kelev-agent`, agent root, git remotes (file:// and smart HTTP through lighttpd +
//! `git http-backend`), and its own sshd on a loopback port whose `authorized_keys` holds the
//! documented `restrict,command=...` lines. Docker is the machine's real engine; every compose
//! project a world creates is named uniquely and taken down when the world is dropped.

mod command;
mod engine;
mod expr;
mod git;
mod host;
mod moto;
mod port;
mod registry;
mod sshd;
mod syslog;
pub mod terraform;
mod traefik;
mod wait;
mod webhook;
mod wipe;
mod world;

pub use command::{assert_golden, expected, Output, Run};
pub use engine::PrivateEngine;
pub use expr::{truthy, Contexts};
pub use git::{dockerfile, healthchecked, Remote};
pub use host::{Host, Key, Login, DEPLOY_USER};
pub use moto::{Image, Moto};
pub use port::Port;
pub use registry::{Registry, REGISTRY_PASSWORD, REGISTRY_USER};
pub use sshd::GIT_HTTP_TOKEN;
pub use sshd::{git_http, start as start_daemon, stop, Daemon};
pub use syslog::SyslogCapture;
pub use traefik::{Proxy, Visit};
pub use wait::{poll, processes, wait_every, wait_until, Ready};
pub use webhook::{Received, WebhookReceiver};
pub use world::{docker, http_get, workspace_binary, World};

/// Full commit ids used where a syntactically valid but absent commit is needed.
pub const ABSENT_COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";
