//! End-to-end tests: the real `kelev-agent` behind a real sshd, fetching from real git remotes
//! (file:// and smart HTTP), driving the machine's real Docker engine.
//!
//! They need what `scripts/setup` installs and run only with `--features e2e` (scripts/test
//! turns it on); without it each one is listed as ignored, never skipped silently.

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
mod rehearsal;
mod remove;
mod resilience;
mod restore;
mod rollback;
mod rollout;
mod secrets;
mod stateful;
mod status;
mod terraform;
mod traefik;
mod userdata;

/// The attribute every test here carries.
macro_rules! e2e_test {
    ($(#[$meta:meta])* fn $name:ident() $body:block) => {
        $(#[$meta])*
        #[test]
        #[cfg_attr(
            not(feature = "e2e"),
            ignore = "needs Docker, sshd and lighttpd: run scripts/test (cargo test --features e2e)"
        )]
        fn $name() $body
    };
}
pub(crate) use e2e_test;
