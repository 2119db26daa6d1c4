//! The command grammar: the only code that reads the words a client sent.
//!
//! A command is ASCII, at most 1024 bytes, words separated by single spaces, each word from
//! `[A-Za-z0-9._=-]`. Nothing is unquoted, expanded or normalised: input that does not fit is
//! refused whole. Everything below this module sees a typed [`Command`], never a wire string.

use std::fmt;

use kelev_core::ProjectName;

pub(crate) const MAX_COMMAND_BYTES: usize = 1024;
pub(crate) const DEFAULT_TAIL: u32 = 200;
pub(crate) const MAX_TAIL: u32 = 10_000;

/// A full commit id: exactly 40 (SHA-1) or 64 (SHA-256) lowercase hex digits. No abbreviations,
/// no revision syntax.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CommitId(String);

impl CommitId {
    pub(crate) fn parse(s: &str) -> Option<CommitId> {
        let hex = s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        (hex && (s.len() == 40 || s.len() == 64)).then(|| CommitId(s.to_owned()))
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CommitId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verb {
    Deploy,
    Clone,
    Rebuild,
    RebuildAll,
    Status,
    Logs,
    Manifest,
    ManifestPut,
    Remove,
    Rollback,
    SecretsPut,
    Secrets,
    SecretsUnset,
    Help,
    Version,
}

impl Verb {
    pub(crate) const ALL: [Verb; 15] = [
        Verb::Deploy,
        Verb::Clone,
        Verb::Rebuild,
        Verb::RebuildAll,
        Verb::Status,
        Verb::Logs,
        Verb::Manifest,
        Verb::ManifestPut,
        Verb::Remove,
        Verb::Rollback,
        Verb::SecretsPut,
        Verb::Secrets,
        Verb::SecretsUnset,
        Verb::Help,
        Verb::Version,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Verb::Deploy => "deploy",
            Verb::Clone => "clone",
            Verb::Rebuild => "rebuild",
            Verb::RebuildAll => "rebuild-all",
            Verb::Status => "status",
            Verb::Logs => "logs",
            Verb::Manifest => "manifest",
            Verb::ManifestPut => "manifest-put",
            Verb::Remove => "remove",
            Verb::Rollback => "rollback",
            Verb::SecretsPut => "secrets-put",
            Verb::Secrets => "secrets",
            Verb::SecretsUnset => "secrets-unset",
            Verb::Help => "help",
            Verb::Version => "version",
        }
    }

    pub(crate) fn from_name(name: &str) -> Option<Verb> {
        Verb::ALL.into_iter().find(|verb| verb.name() == name)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Command {
    Deploy {
        project: ProjectName,
        commit: Option<CommitId>,
        force: bool,
        json: bool,
    },
    Clone {
        project: ProjectName,
        commit: Option<CommitId>,
    },
    Rebuild {
        project: ProjectName,
    },
    RebuildAll,
    Status {
        project: Option<ProjectName>,
        json: bool,
    },
    Logs {
        project: ProjectName,
        tail: u32,
    },
    Manifest,
    ManifestPut,
    Remove {
        project: ProjectName,
    },
    Rollback {
        project: ProjectName,
    },
    SecretsPut {
        project: ProjectName,
        restart: bool,
    },
    Secrets {
        project: ProjectName,
    },
    SecretsUnset {
        project: ProjectName,
        keys: Vec<SecretKey>,
    },
    Help,
    Version,
}

/// The name of a project secret: `[A-Z_][A-Z0-9_]*`, at most 128 bytes.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct SecretKey(String);

impl SecretKey {
    pub(crate) const MAX_LEN: usize = 128;

    pub(crate) fn parse(s: &str) -> Option<SecretKey> {
        let first = s
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_uppercase() || b == b'_');
        let rest = s
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
        (first && rest && s.len() <= Self::MAX_LEN).then(|| SecretKey(s.to_owned()))
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

impl Command {
    pub(crate) fn verb(&self) -> Verb {
        match self {
            Command::Deploy { .. } => Verb::Deploy,
            Command::Clone { .. } => Verb::Clone,
            Command::Rebuild { .. } => Verb::Rebuild,
            Command::RebuildAll => Verb::RebuildAll,
            Command::Status { .. } => Verb::Status,
            Command::Logs { .. } => Verb::Logs,
            Command::Manifest => Verb::Manifest,
            Command::ManifestPut => Verb::ManifestPut,
            Command::Remove { .. } => Verb::Remove,
            Command::Rollback { .. } => Verb::Rollback,
            Command::SecretsPut { .. } => Verb::SecretsPut,
            Command::Secrets { .. } => Verb::Secrets,
            Command::SecretsUnset { .. } => Verb::SecretsUnset,
            Command::Help => Verb::Help,
            Command::Version => Verb::Version,
        }
    }

    pub(crate) fn project(&self) -> Option<&ProjectName> {
        match self {
            Command::Deploy { project, .. }
            | Command::Clone { project, .. }
            | Command::Rebuild { project }
            | Command::Logs { project, .. }
            | Command::Remove { project }
            | Command::Rollback { project }
            | Command::SecretsPut { project, .. }
            | Command::Secrets { project }
            | Command::SecretsUnset { project, .. } => Some(project),
            Command::Status { project, .. } => project.as_ref(),
            _ => None,
        }
    }

    pub(crate) fn commit(&self) -> Option<&CommitId> {
        match self {
            Command::Deploy { commit, .. } | Command::Clone { commit, .. } => commit.as_ref(),
            _ => None,
        }
    }

    /// Parse the raw bytes of `SSH_ORIGINAL_COMMAND`.
    pub(crate) fn parse_line(line: &[u8]) -> Result<Command, GrammarError> {
        if line.is_empty() {
            return Err(GrammarError::Empty);
        }
        if line.len() > MAX_COMMAND_BYTES {
            return Err(GrammarError::TooLong { len: line.len() });
        }
        if let Some(&byte) = line.iter().find(|b| !b.is_ascii()) {
            return Err(GrammarError::NotAscii { byte });
        }
        // ASCII, so this cannot fail.
        let line = std::str::from_utf8(line).map_err(|_| GrammarError::NotAscii { byte: 0 })?;
        let words: Vec<&str> = line.split(' ').collect();
        Command::parse_words(&words)
    }

    /// Parse words given one by one (local use), with the same rules as a line.
    pub(crate) fn parse_words(words: &[&str]) -> Result<Command, GrammarError> {
        if words.iter().map(|w| w.len() + 1).sum::<usize>() > MAX_COMMAND_BYTES + 1 {
            return Err(GrammarError::TooLong {
                len: words.iter().map(|w| w.len() + 1).sum::<usize>() - 1,
            });
        }
        for word in words {
            check_word(word)?;
        }
        let (verb_word, rest) = words.split_first().ok_or(GrammarError::Empty)?;
        let verb = Verb::from_name(verb_word).ok_or_else(|| GrammarError::UnknownVerb {
            verb: verb_word.to_string(),
        })?;
        let mut args = Args::split(verb, rest)?;
        let command = match verb {
            Verb::Deploy => Command::Deploy {
                project: args.project()?,
                commit: args.optional_commit()?,
                force: args.flag("--force"),
                json: args.flag("--json"),
            },
            Verb::Clone => Command::Clone {
                project: args.project()?,
                commit: args.optional_commit()?,
            },
            Verb::Rebuild => Command::Rebuild {
                project: args.project()?,
            },
            Verb::RebuildAll => Command::RebuildAll,
            Verb::Status => Command::Status {
                project: args.optional_project()?,
                json: args.flag("--json"),
            },
            Verb::Logs => Command::Logs {
                project: args.project()?,
                tail: args.tail()?,
            },
            Verb::Manifest => Command::Manifest,
            Verb::ManifestPut => Command::ManifestPut,
            Verb::Remove => Command::Remove {
                project: args.project()?,
            },
            Verb::Rollback => Command::Rollback {
                project: args.project()?,
            },
            Verb::SecretsPut => Command::SecretsPut {
                project: args.project()?,
                restart: args.flag("--restart"),
            },
            Verb::Secrets => Command::Secrets {
                project: args.project()?,
            },
            Verb::SecretsUnset => Command::SecretsUnset {
                project: args.project()?,
                keys: args.secret_keys()?,
            },
            Verb::Help => Command::Help,
            Verb::Version => Command::Version,
        };
        args.finish()?;
        Ok(command)
    }
}

fn check_word(word: &str) -> Result<(), GrammarError> {
    if word.is_empty() {
        return Err(GrammarError::EmptyWord);
    }
    if let Some(byte) = word
        .bytes()
        .find(|b| !(b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'=' | b'-')))
    {
        return Err(GrammarError::BadCharacter { byte });
    }
    Ok(())
}

/// The words after the verb, options taken out by name, positionals in order.
struct Args<'a> {
    verb: Verb,
    positionals: std::collections::VecDeque<&'a str>,
    flags: Vec<&'a str>,
    tail: Option<&'a str>,
}

impl<'a> Args<'a> {
    fn split(verb: Verb, words: &[&'a str]) -> Result<Args<'a>, GrammarError> {
        let allowed: &[&str] = match verb {
            Verb::Deploy => &["--force", "--json"],
            Verb::Status => &["--json"],
            Verb::Logs => &["--tail"],
            Verb::SecretsPut => &["--restart"],
            _ => &[],
        };
        let mut args = Args {
            verb,
            positionals: Default::default(),
            flags: Vec::new(),
            tail: None,
        };
        let mut words = words.iter();
        while let Some(&word) = words.next() {
            if !word.starts_with('-') {
                args.positionals.push_back(word);
                continue;
            }
            if !allowed.contains(&word) {
                return Err(GrammarError::UnknownOption {
                    verb: verb.name(),
                    option: word.to_owned(),
                });
            }
            if args.flags.contains(&word) {
                return Err(GrammarError::RepeatedOption {
                    option: word.to_owned(),
                });
            }
            args.flags.push(word);
            if word == "--tail" {
                let value = words
                    .next()
                    .ok_or(GrammarError::MissingValue { option: "--tail" })?;
                args.tail = Some(value);
            }
        }
        Ok(args)
    }

    fn flag(&self, name: &str) -> bool {
        self.flags.contains(&name)
    }

    fn project(&mut self) -> Result<ProjectName, GrammarError> {
        self.optional_project()?
            .ok_or(GrammarError::MissingProject {
                verb: self.verb.name(),
            })
    }

    fn optional_project(&mut self) -> Result<Option<ProjectName>, GrammarError> {
        self.positionals
            .pop_front()
            .map(|word| {
                ProjectName::parse(word).ok_or_else(|| GrammarError::BadProject {
                    word: word.to_owned(),
                })
            })
            .transpose()
    }

    fn optional_commit(&mut self) -> Result<Option<CommitId>, GrammarError> {
        self.positionals
            .pop_front()
            .map(|word| {
                CommitId::parse(word).ok_or_else(|| GrammarError::BadCommit {
                    word: word.to_owned(),
                })
            })
            .transpose()
    }

    fn tail(&mut self) -> Result<u32, GrammarError> {
        let Some(value) = self.tail else {
            return Ok(DEFAULT_TAIL);
        };
        let digits = !value.is_empty()
            && value.len() <= 5
            && value.bytes().all(|b| b.is_ascii_digit())
            && !value.starts_with('0');
        match value.parse::<u32>() {
            Ok(n) if digits && (1..=MAX_TAIL).contains(&n) => Ok(n),
            _ => Err(GrammarError::BadTail {
                word: value.to_owned(),
            }),
        }
    }

    /// One or more secret names: the rest of the positionals.
    fn secret_keys(&mut self) -> Result<Vec<SecretKey>, GrammarError> {
        let keys = self
            .positionals
            .drain(..)
            .map(|word| {
                SecretKey::parse(word).ok_or_else(|| GrammarError::BadSecretKey {
                    word: word.to_owned(),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        if keys.is_empty() {
            return Err(GrammarError::MissingSecretKey);
        }
        Ok(keys)
    }

    fn finish(self) -> Result<(), GrammarError> {
        match self.positionals.front() {
            Some(extra) => Err(GrammarError::ExtraWord {
                verb: self.verb.name(),
                word: (*extra).to_owned(),
            }),
            None => Ok(()),
        }
    }
}

/// Why a command was refused (exit 64). Messages quote what was sent only once it is known to be
/// printable ASCII from the word alphabet.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum GrammarError {
    #[error("no command given\nhint: try `help`")]
    Empty,
    #[error("command is {len} bytes; at most {MAX_COMMAND_BYTES} are accepted")]
    TooLong { len: usize },
    #[error("command holds the non-ASCII byte 0x{byte:02x}")]
    NotAscii { byte: u8 },
    #[error("command holds an empty word: words are separated by single spaces")]
    EmptyWord,
    #[error("command holds the byte {} that no word may contain", describe(*byte))]
    BadCharacter { byte: u8 },
    #[error("unknown verb `{verb}`\nhint: try `help`")]
    UnknownVerb { verb: String },
    #[error("`{verb}` takes no option `{option}`")]
    UnknownOption { verb: &'static str, option: String },
    #[error("option `{option}` is given twice")]
    RepeatedOption { option: String },
    #[error("option `{option}` needs a value")]
    MissingValue { option: &'static str },
    #[error("`{verb}` needs a project name")]
    MissingProject { verb: &'static str },
    #[error("`{word}` is not a project name (^[a-z0-9][a-z0-9-]{{0,62}}$)")]
    BadProject { word: String },
    #[error("`{word}` is not a full commit id (40 or 64 lowercase hex digits)")]
    BadCommit { word: String },
    #[error("`--tail` takes a whole number from 1 to {MAX_TAIL}, not `{word}`")]
    BadTail { word: String },
    #[error("`{word}` is not a secret name ([A-Z_][A-Z0-9_]*)")]
    BadSecretKey { word: String },
    #[error("`secrets-unset` needs at least one secret name")]
    MissingSecretKey,
    #[error("`{verb}` does not take the extra word `{word}`")]
    ExtraWord { verb: &'static str, word: String },
}

fn describe(byte: u8) -> String {
    if byte.is_ascii_graphic() {
        format!("`{}`", byte as char)
    } else {
        format!("0x{byte:02x}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

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
                Command::Deploy {
                    project: name("fun-n-games"),
                    commit: None,
                    force: false,
                    json: false,
                },
            ),
            (
                format!("deploy fun-n-games {SHA1} --force --json"),
                Command::Deploy {
                    project: name("fun-n-games"),
                    commit: CommitId::parse(SHA1),
                    force: true,
                    json: true,
                },
            ),
            (
                format!("deploy --json a {sha256}"),
                Command::Deploy {
                    project: name("a"),
                    commit: CommitId::parse(&sha256),
                    force: false,
                    json: true,
                },
            ),
            (
                format!("clone a {SHA1}"),
                Command::Clone {
                    project: name("a"),
                    commit: CommitId::parse(SHA1),
                },
            ),
            ("rebuild a".into(), Command::Rebuild { project: name("a") }),
            ("rebuild-all".into(), Command::RebuildAll),
            (
                "status".into(),
                Command::Status {
                    project: None,
                    json: false,
                },
            ),
            (
                "status a --json".into(),
                Command::Status {
                    project: Some(name("a")),
                    json: true,
                },
            ),
            (
                "logs a".into(),
                Command::Logs {
                    project: name("a"),
                    tail: 200,
                },
            ),
            (
                "logs a --tail 10000".into(),
                Command::Logs {
                    project: name("a"),
                    tail: 10000,
                },
            ),
            ("manifest".into(), Command::Manifest),
            ("manifest-put".into(), Command::ManifestPut),
            ("remove a".into(), Command::Remove { project: name("a") }),
            (
                "rollback a".into(),
                Command::Rollback { project: name("a") },
            ),
            ("help".into(), Command::Help),
            ("version".into(), Command::Version),
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
            Ok(Command::Rebuild { project: name("a") })
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
            verb in prop::sample::select(Verb::ALL.iter().map(|v| v.name()).collect::<Vec<_>>()),
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
                prop_assert_eq!(command.verb().name(), verb);
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
}
