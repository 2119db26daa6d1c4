//! The grammar as the verbs parse it: accepted lines, refusals, and properties.
use proptest::prelude::*;

use kelev_core::{CommitId, ProjectName};

use super::clone::Clone;
use super::deploy::Deploy;
use super::help::Help;
use super::logs::Logs;
use super::manifest::Manifest;
use super::manifest_put::ManifestPut;
use super::rebuild::Rebuild;
use super::rebuild_all::RebuildAll;
use super::remove::Remove;
use super::rollback::Rollback;
use super::status::Status;
use super::version::Version;
use super::{Command, VERBS};
use crate::wire::grammar::{GrammarError, MAX_COMMAND_BYTES};

const SHA1: &str = "0123456789abcdef0123456789abcdef01234567";

fn parse(line: &str) -> Result<Command, GrammarError> {
    Command::parse_line(line.as_bytes())
}

fn name(s: &str) -> ProjectName {
    ProjectName::parse(s).unwrap()
}

#[test]
fn accepted() {
    let sha256 = "a".repeat(64);
    let cases: Vec<(String, Command)> = vec![
        (
            "deploy fun-n-games".into(),
            Command::Deploy(Deploy {
                project: name("fun-n-games"),
                commit: None,
                force: false,
                json: false,
            }),
        ),
        (
            format!("deploy fun-n-games {SHA1} --force --json"),
            Command::Deploy(Deploy {
                project: name("fun-n-games"),
                commit: CommitId::parse(SHA1),
                force: true,
                json: true,
            }),
        ),
        (
            format!("deploy --json a {sha256}"),
            Command::Deploy(Deploy {
                project: name("a"),
                commit: CommitId::parse(&sha256),
                force: false,
                json: true,
            }),
        ),
        (
            format!("clone a {SHA1}"),
            Command::Clone(Clone {
                project: name("a"),
                commit: CommitId::parse(SHA1),
            }),
        ),
        (
            "rebuild a".into(),
            Command::Rebuild(Rebuild { project: name("a") }),
        ),
        ("rebuild-all".into(), Command::RebuildAll(RebuildAll)),
        (
            "status".into(),
            Command::Status(Status {
                project: None,
                json: false,
            }),
        ),
        (
            "status a --json".into(),
            Command::Status(Status {
                project: Some(name("a")),
                json: true,
            }),
        ),
        (
            "logs a".into(),
            Command::Logs(Logs {
                project: name("a"),
                tail: 200,
            }),
        ),
        (
            "logs a --tail 10000".into(),
            Command::Logs(Logs {
                project: name("a"),
                tail: 10000,
            }),
        ),
        ("manifest".into(), Command::Manifest(Manifest)),
        ("manifest-put".into(), Command::ManifestPut(ManifestPut)),
        (
            "remove a".into(),
            Command::Remove(Remove { project: name("a") }),
        ),
        (
            "rollback a".into(),
            Command::Rollback(Rollback { project: name("a") }),
        ),
        ("help".into(), Command::Help(Help)),
        ("version".into(), Command::Version(Version)),
    ];
    for (line, expected) in cases {
        assert_eq!(parse(&line), Ok(expected), "{line}");
    }
}

#[test]
fn refused() {
    let long = format!("deploy {}", "a".repeat(1100));
    let cases: &[(&str, &str)] = &[
        ("", "no command given"),
        ("deploy  a", "empty word"),
        (" deploy a", "empty word"),
        ("deploy a ", "empty word"),
        ("deploy a;id", "byte `;`"),
        ("deploy a && id", "byte `&`"),
        ("deploy $(id)", "byte `$`"),
        ("deploy `id`", "byte ```"),
        ("deploy a|sh", "byte `|`"),
        ("deploy a*", "byte `*`"),
        ("deploy a\nid", "0x0a"),
        ("deploy a\tb", "0x09"),
        ("deploy ../etc", "byte `/`"),
        ("deploy ..", "not a project name"),
        ("deploy a HEAD~1", "byte `~`"),
        ("deploy a @{u}", "byte `@`"),
        ("deploy a main", "not a full commit id"),
        ("deploy a 0123456", "not a full commit id"),
        (
            "deploy a 0123456789ABCDEF0123456789ABCDEF01234567",
            "not a full commit id",
        ),
        ("deploy --upload-pack=touch", "takes no option"),
        ("deploy -a", "takes no option"),
        ("deploy", "needs a project name"),
        (
            "deploy a 0123456789abcdef0123456789abcdef01234567 b",
            "extra word `b`",
        ),
        ("deploy A", "not a project name"),
        ("deploy a --force --force", "given twice"),
        ("status a b", "extra word"),
        ("rebuild a --force", "takes no option"),
        ("logs a --tail", "needs a value"),
        ("logs a --tail 0", "whole number"),
        ("logs a --tail 10001", "whole number"),
        ("logs a --tail 007", "whole number"),
        ("logs a --tail -5", "whole number"),
        ("git-upload-pack 'repo'", "byte `'`"),
        ("git-upload-pack repo", "unknown verb `git-upload-pack`"),
        ("scp -t /tmp", "byte `/`"),
        ("sh", "unknown verb `sh`"),
        ("Deploy a", "unknown verb `Deploy`"),
        ("help me", "extra word"),
        ("secrets-unset a", "at least one secret name"),
        ("secrets-unset a db_password", "not a secret name"),
        ("secrets-unset a 1X", "not a secret name"),
        ("secrets-unset a A=B", "not a secret name"),
        ("secrets-put a KEY", "extra word"),
        ("secrets a --restart", "takes no option"),
        (&long, "at most 1024"),
    ];
    for (line, expected) in cases {
        let err = parse(line).expect_err(line).to_string();
        assert!(
            err.contains(expected),
            "{line:?}\n  gave: {err}\n  expected: {expected}"
        );
    }
}

#[test]
fn non_ascii_is_refused() {
    // A Cyrillic `а` that looks like a Latin one, and invalid UTF-8.
    assert!(matches!(
        Command::parse_line("deploy \u{430}".as_bytes()),
        Err(GrammarError::NotAscii { byte: 0xd0 })
    ));
    assert!(matches!(
        Command::parse_line(b"deploy \xff\xfe"),
        Err(GrammarError::NotAscii { byte: 0xff })
    ));
}

#[test]
fn words_follow_the_same_rules() {
    assert!(Command::parse_words(&["deploy", "a b"]).is_err());
    assert!(Command::parse_words(&["deploy", ""]).is_err());
    assert!(Command::parse_words(&[]).is_err());
    assert_eq!(
        Command::parse_words(&["rebuild", "a"]),
        Ok(Command::Rebuild(Rebuild { project: name("a") }))
    );
}

proptest! {
    /// Whatever the bytes, parsing never panics, and whatever it accepts is pure word
    /// alphabet: no byte outside `[A-Za-z0-9._=-]` and space ever reaches a Command.
    #[test]
    fn accepted_lines_are_pure_alphabet(line in proptest::collection::vec(any::<u8>(), 0..1200)) {
        if Command::parse_line(&line).is_ok() {
            prop_assert!(line.len() <= MAX_COMMAND_BYTES);
            prop_assert!(line.iter().all(|b| b.is_ascii_alphanumeric() || b" ._=-".contains(b)));
        }
    }

    /// Lines built from the alphabet around real verbs: accepted ones carry only valid names
    /// and commits.
    #[test]
    fn accepted_commands_carry_valid_values(
        verb in prop::sample::select(VERBS.iter().map(|s| s.name).collect::<Vec<_>>()),
        rest in proptest::collection::vec("[a-z0-9._=-]{1,70}", 0..4),
    ) {
        let line = std::iter::once(verb.to_string()).chain(rest).collect::<Vec<_>>().join(" ");
        if let Ok(command) = parse(&line) {
            if let Some(project) = command.project() {
                prop_assert!(ProjectName::parse(project.as_str()).is_some());
            }
            if let Some(commit) = command.commit() {
                prop_assert!(commit.as_str().len() == 40 || commit.as_str().len() == 64);
            }
            prop_assert_eq!(command.spec().name, verb);
        }
    }

    /// Inserting any byte outside the alphabet anywhere in a valid command makes it refused.
    #[test]
    fn one_bad_byte_spoils_the_line(pos in 0usize..40, byte in any::<u8>()) {
        prop_assume!(!(byte.is_ascii_alphanumeric() || b" ._=-".contains(&byte)));
        let mut line = format!("deploy fun-n-games {SHA1}").into_bytes();
        let pos = pos.min(line.len());
        line.insert(pos, byte);
        prop_assert!(Command::parse_line(&line).is_err());
    }
}
