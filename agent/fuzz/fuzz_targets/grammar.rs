//! The command grammar under libFuzzer: whatever the bytes, parsing never panics, and whatever it
//! accepts is at most 1024 bytes of the word alphabet carrying only valid names and commits.
//!
//! Run: `cd agent/fuzz && cargo fuzz run grammar -- -max_total_time=600` (see docs/security.md).

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../src/command.rs"]
#[allow(dead_code)]
mod command;

fuzz_target!(|data: &[u8]| {
    if let Ok(parsed) = command::Command::parse_line(data) {
        assert!(data.len() <= command::MAX_COMMAND_BYTES);
        assert!(data
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b" ._=-".contains(b)));
        if let Some(project) = parsed.project() {
            assert!(kelev_core::ProjectName::parse(project.as_str()).is_some());
        }
        if let Some(commit) = parsed.commit() {
            assert!(matches!(commit.as_str().len(), 40 | 64));
        }
        // Parsing is deterministic: the same bytes, the same command.
        assert_eq!(command::Command::parse_line(data).ok(), Some(parsed));
    }
});
