//! `kelev-agent`: the deploy agent that an SSH forced command runs. See `docs/commands.md`.
//!
//! A command flows top-down through the folders: `wire/` reads its bytes (grammar) and checks
//! the key (policy); `verbs/` holds the verb table and one file per verb; `pipeline/` holds the
//! steps of a deploy in order (fetch, release directory, build, start, gate, record), which the
//! verbs compose; `release/` is what a release is made of and every Docker and compose call;
//! `host/` is the files, locks, state and children underneath.
//! The library exists for the binary (`main.rs`) and the fuzz target (`agent/fuzz`).

mod compose_problem;
mod error;
mod host;
mod invocation;
mod pipeline;
mod release;
mod verbs;
mod wire;

#[cfg(test)]
mod layout_tests;

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use kelev_core::ExitCode;

/// Run one invocation to its end: the command, its audit record, and the exit code to leave
/// with. `error: ...` is printed here, once.
pub fn run(config: PathBuf, key: Option<String>, words: Vec<String>) -> ExitCode {
    host::signals::install();
    let started = Instant::now();
    let mut trail = host::audit::Trail::default();
    let invocation = invocation::Invocation { config, key, words };
    let mut out = kelev_core::CheckedOutput::new(std::io::stdout());
    let result = invocation::run(&invocation, &mut trail, &mut out);
    // What was printed must have arrived: a failed write is the run's error if it had none.
    let written = out
        .finish()
        .map_err(|source| error::Error::Output { source });
    let result = result.and(written);
    let code = match &result {
        Ok(()) => ExitCode::Ok,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "error: {e}");
            e.exit_code()
        }
    };
    trail.finish(result.as_ref().err(), code, started.elapsed());
    code
}

/// `--check-config`: read `config` as every run does and say whether it holds; no root, no audit
/// line, no lock. init.sh asks this of the agent.json it is about to install.
pub fn check_config(config: &std::path::Path) -> ExitCode {
    let checked = host::config::Config::load(config, verbs::VERBS).and_then(|loaded| {
        let keys: Vec<&str> = loaded.keys.keys().map(String::as_str).collect();
        let mut out = kelev_core::CheckedOutput::new(std::io::stdout());
        let _ = writeln!(
            out,
            "{}: valid; keys: {}",
            config.display(),
            keys.join(", ")
        );
        out.finish()
            .map_err(|source| error::Error::Output { source })
    });
    match checked {
        Ok(()) => ExitCode::Ok,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "error: {e}");
            e.exit_code()
        }
    }
}

/// The default `--config`.
pub const DEFAULT_CONFIG: &str = host::config::DEFAULT_CONFIG;

/// For the fuzz target: what the grammar makes of `line`, as plain data.
#[doc(hidden)]
pub mod fuzzing {
    pub const MAX_COMMAND_BYTES: usize = crate::wire::grammar::MAX_COMMAND_BYTES;

    /// The parsed command's verb, project, commit and its debug form (for determinism checks).
    pub fn parse_line(
        line: &[u8],
    ) -> Option<(&'static str, Option<String>, Option<String>, String)> {
        let command = crate::verbs::Command::parse_line(line).ok()?;
        Some((
            command.spec().name,
            command.project().map(ToString::to_string),
            command.commit().map(ToString::to_string),
            format!("{command:?}"),
        ))
    }
}
