//! Signals: SIGTERM and SIGINT abort a deploy cleanly, SIGALRM enforces `deploy_timeout_secs`,
//! and a client that hangs up (SIGHUP, SIGPIPE) does not abort anything.
//!
//! Handlers only record the signal; the code that runs children polls [`pending`] and stops them.

use std::sync::atomic::{AtomicI32, Ordering};

use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};

static RECEIVED: AtomicI32 = AtomicI32::new(0);

extern "C" fn record(signal: nix::libc::c_int) {
    RECEIVED.store(signal, Ordering::SeqCst);
}

pub(crate) fn install() {
    let record = SigAction::new(
        SigHandler::Handler(record),
        SaFlags::empty(),
        SigSet::empty(),
    );
    let ignore = SigAction::new(SigHandler::SigIgn, SaFlags::empty(), SigSet::empty());
    // SAFETY: `record` only stores to an atomic, which is async-signal-safe.
    unsafe {
        for signal in [Signal::SIGTERM, Signal::SIGINT, Signal::SIGALRM] {
            let _ = sigaction(signal, &record);
        }
        for signal in [Signal::SIGHUP, Signal::SIGPIPE] {
            let _ = sigaction(signal, &ignore);
        }
    }
}

/// Arm the deploy timeout.
pub(crate) fn alarm(secs: u64) {
    nix::unistd::alarm::set(secs.clamp(1, u32::MAX as u64) as u32);
}

/// Cancel the deploy timeout.
pub(crate) fn disarm() {
    nix::unistd::alarm::cancel();
}

/// What [`pending`] says when the deploy timeout fired.
pub(crate) const TIMEOUT: &str = "the deploy timeout (deploy_timeout_secs)";

/// The name of the first signal that asked us to stop, if any.
pub(crate) fn pending() -> Option<&'static str> {
    name_of(RECEIVED.load(Ordering::SeqCst))
}

fn name_of(signal: i32) -> Option<&'static str> {
    match signal {
        0 => None,
        n if n == Signal::SIGALRM as i32 => Some(TIMEOUT),
        n if n == Signal::SIGINT as i32 => Some("SIGINT"),
        _ => Some("SIGTERM"),
    }
}

pub(crate) fn check() -> Result<(), crate::error::Error> {
    match pending() {
        Some(signal) => Err(crate::error::Error::Interrupted { signal }),
        None => Ok(()),
    }
}

/// A stop request taken aside while clean-up runs.
#[derive(Clone, Copy)]
pub(crate) struct Taken(i32);

impl Taken {
    pub(crate) fn name(self) -> &'static str {
        name_of(self.0).unwrap_or("SIGTERM")
    }
}

/// Forget a stop request so that clean-up (putting the previous release back) can run children.
pub(crate) fn take() -> Option<Taken> {
    match RECEIVED.swap(0, Ordering::SeqCst) {
        0 => None,
        n => Some(Taken(n)),
    }
}

/// Reinstate a request taken with [`take`], so callers further up stop too.
pub(crate) fn put_back(taken: Taken) {
    let _ = RECEIVED.compare_exchange(0, taken.0, Ordering::SeqCst, Ordering::SeqCst);
}
