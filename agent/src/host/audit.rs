//! The record of every invocation, refused ones too: one JSON line in `audit.log` and one line to
//! syslog (ident `kelev-agent`). Neither failing stops the agent.

use std::io::Write;
use std::path::Path;

use serde::Serialize;

use kelev_core::{CommitId, ExitCode, ProjectName};

/// What the audit log keeps of a command: at most this many bytes of it.
const MAX_RAW_COMMAND: usize = 2048;

/// What is known about an invocation so far; written once, however it ends.
#[derive(Default)]
pub(crate) struct Trail {
    pub(crate) log: Option<std::path::PathBuf>,
    pub(crate) key: Option<String>,
    pub(crate) raw: Vec<u8>,
    /// Once the command parsed: its verb and project.
    pub(crate) verb: Option<&'static str>,
    pub(crate) project: Option<ProjectName>,
    /// The commit the command named, if any.
    pub(crate) requested: Option<CommitId>,
    /// The commit actually acted on, once resolved.
    pub(crate) commit: Option<CommitId>,
    /// `run`: the task's name, and its exit code once it ended.
    pub(crate) task: Option<String>,
    pub(crate) task_exit_code: Option<i32>,
}

impl Trail {
    pub(crate) fn finish(
        &self,
        error: Option<&crate::error::Error>,
        exit_code: ExitCode,
        took: std::time::Duration,
    ) {
        let record = Record {
            time: crate::host::timefmt::now(),
            key: self.key.as_deref(),
            verb: self.verb,
            project: self.project.as_ref().map(ProjectName::to_string),
            commit: self
                .commit
                .as_ref()
                .or(self.requested.as_ref())
                .map(CommitId::to_string),
            result: error.map_or("ok", |e| e.exit_code().word()),
            exit_code: exit_code.code(),
            duration_ms: took.as_millis(),
            command: escape_command(&self.raw),
            task: self.task.as_deref(),
            task_exit_code: self.task_exit_code,
        };
        write(self.log.as_deref(), &record);
    }
}

#[derive(Serialize)]
pub(crate) struct Record<'a> {
    pub(crate) time: String,
    pub(crate) key: Option<&'a str>,
    pub(crate) verb: Option<&'static str>,
    pub(crate) project: Option<String>,
    pub(crate) commit: Option<String>,
    pub(crate) result: &'a str,
    pub(crate) exit_code: i32,
    pub(crate) duration_ms: u128,
    /// The raw command, bytes outside printable ASCII escaped (`\n`, `\x00`, `\xff`).
    pub(crate) command: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) task: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) task_exit_code: Option<i32>,
}

/// Escape a raw command for the log: printable ASCII stays, everything else is `\xNN`-style, and
/// an oversize command is cut with its full length noted.
pub(crate) fn escape_command(raw: &[u8]) -> String {
    // As the grammar's errors show a word: no value of a `NAME=value` word (a secret typed on
    // the command line) reaches the log.
    let redacted: Vec<Vec<u8>> = raw
        .split(|b| *b == b' ')
        .map(|word| match std::str::from_utf8(word) {
            Ok(word) => crate::wire::grammar::shown(word).into_bytes(),
            Err(_) => word.to_vec(),
        })
        .collect();
    let redacted = redacted.join(&b' ');
    let shown = &redacted[..redacted.len().min(MAX_RAW_COMMAND)];
    let mut escaped = shown.escape_ascii().to_string();
    if raw.len() > MAX_RAW_COMMAND {
        escaped.push_str(&format!("...({} bytes)", raw.len()));
    }
    escaped
}

pub(crate) fn write(log: Option<&Path>, record: &Record) {
    let line = serde_json::to_string(record).expect("audit record serializes");
    if let Some(path) = log {
        let appended = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .and_then(|mut file| file.write_all(format!("{line}\n").as_bytes()));
        if let Err(e) = appended {
            eprintln!(
                "warning: cannot append to audit log `{}`: {e}",
                path.display()
            );
        }
    }
    to_syslog(&line);
}

fn to_syslog(line: &str) {
    let formatter = syslog::Formatter3164 {
        facility: syslog::Facility::LOG_AUTH,
        hostname: None,
        process: "kelev-agent".into(),
        pid: std::process::id(),
    };
    if let Ok(mut logger) = syslog::unix(formatter) {
        let _ = logger.info(line);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_control_and_non_ascii() {
        assert_eq!(
            escape_command(b"deploy a\n\x00\xff"),
            "deploy a\\n\\x00\\xff"
        );
        let long = vec![b'a'; 5000];
        let escaped = escape_command(&long);
        assert!(escaped.ends_with("...(5000 bytes)"));
        assert!(escaped.len() < 2100);
    }
}
