//! End-to-end tests: the real `kelev-agent` behind a real sshd, fetching from real git remotes
//! (file:// and smart HTTP), driving the machine's real Docker engine.
//!
//! They need what `scripts/setup` installs and run only with `--features e2e` (scripts/test
//! turns it on); without it each one is listed as ignored, never skipped silently. Every test
//! carries the pair `#[test]` and `#[cfg_attr(not(feature = "e2e"), ignore = "...")]` in plain
//! sight (no macro around it), so that rustfmt and clippy see every body.

mod amis;
mod connections;
mod deploy;
mod https;
mod ingress;
mod logs;
mod manifest;
mod private;
mod probe;
mod rebuild_all;
mod registry;
mod rehearsal;
mod remove;
mod resilience;
mod restore;
mod rollback;
mod rollout;
mod secrets;
mod stateful;
mod status;
mod tasks;
mod terraform;
mod traefik;
mod userdata;
