//! The command grammar under libFuzzer: whatever the bytes, parsing never panics, and whatever it
//! accepts is at most 1024 bytes of the word alphabet carrying only valid names and commits.
//!
//! Run: `cd agent/fuzz && cargo fuzz run grammar -- -max_total_time=600` (see docs/security.md).

#![no_main]

use kelev_agent::fuzzing::{parse_line, MAX_COMMAND_BYTES};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some((_verb, project, commit, parsed)) = parse_line(data) {
        assert!(data.len() <= MAX_COMMAND_BYTES);
        assert!(data
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b" ._=-".contains(b)));
        if let Some(project) = project {
            assert!(kelev_core::ProjectName::parse(&project).is_some());
        }
        if let Some(commit) = commit {
            assert!(kelev_core::CommitId::parse(&commit).is_some());
        }
        // Parsing is deterministic: the same bytes, the same command.
        assert_eq!(parse_line(data).map(|p| p.3), Some(parsed));
    }
});
