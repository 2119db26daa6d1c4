//! The command grammar: the only code that reads the words a client sent.
//!
//! A command is ASCII, at most 1024 bytes, words separated by single spaces, each word from
//! `[A-Za-z0-9._=-]`. Nothing is unquoted, expanded or normalised: input that does not fit is
//! refused whole. This module checks the bytes and splits the words; each verb takes its own
//! arguments out of [`Args`] (`verbs/`), and everything below sees a typed command, never a
//! wire string.

use std::collections::VecDeque;

use kelev_core::{CommitId, ProjectName};

use crate::host::secret_key::SecretKey;
pub(crate) use crate::wire::grammar_error::GrammarError;
use crate::wire::spec::Spec;

pub(crate) const MAX_COMMAND_BYTES: usize = 1024;
pub(crate) const DEFAULT_TAIL: u32 = 200;
pub(crate) const MAX_TAIL: u32 = 10_000;

/// The words of the raw bytes of `SSH_ORIGINAL_COMMAND`, checked.
pub(crate) fn words_of_line(line: &[u8]) -> Result<Vec<&str>, GrammarError> {
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
    check_words(&words)?;
    Ok(words)
}

/// Words given one by one (local use) follow the same rules as a line.
pub(crate) fn check_words(words: &[&str]) -> Result<(), GrammarError> {
    let len = words.iter().map(|w| w.len() + 1).sum::<usize>();
    if len > MAX_COMMAND_BYTES + 1 {
        return Err(GrammarError::TooLong { len: len - 1 });
    }
    for word in words {
        check_word(word)?;
    }
    if words.is_empty() {
        return Err(GrammarError::Empty);
    }
    Ok(())
}

/// A word as an error message may show it: a `NAME=value` word (NAME a secret's name) is a
/// secret typed on the command line instead of stdin, so its value is never echoed (nor logged).
pub(crate) fn shown(word: &str) -> String {
    match word.split_once('=') {
        Some((name, _)) if SecretKey::parse(name).is_some() => {
            format!("{name}=<value not shown>")
        }
        _ => word.to_owned(),
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

/// The words after the verb: options taken out by name (only those the verb's spec lists),
/// positionals in order.
pub(crate) struct Args<'a> {
    verb: &'static str,
    positionals: VecDeque<&'a str>,
    flags: Vec<&'a str>,
    values: Vec<(&'a str, &'a str)>,
}

impl<'a> Args<'a> {
    pub(crate) fn split(spec: &'static Spec, words: &[&'a str]) -> Result<Args<'a>, GrammarError> {
        let mut args = Args {
            verb: spec.name,
            positionals: VecDeque::new(),
            flags: Vec::new(),
            values: Vec::new(),
        };
        let mut words = words.iter();
        while let Some(&word) = words.next() {
            if !word.starts_with('-') {
                args.positionals.push_back(word);
                continue;
            }
            let own = ["--config", "--key", "--check-config"];
            if let Some(option) = own.into_iter().find(|o| word.split('=').next() == Some(*o)) {
                return Err(GrammarError::AgentOption {
                    verb: spec.name,
                    option,
                });
            }
            let option = spec
                .option(word)
                .ok_or_else(|| GrammarError::UnknownOption {
                    verb: spec.name,
                    option: shown(word),
                })?;
            if args.flags.contains(&word) {
                return Err(GrammarError::RepeatedOption {
                    option: shown(word),
                });
            }
            args.flags.push(word);
            if option.takes_value {
                let value = words.next().ok_or(GrammarError::MissingValue {
                    option: option.name,
                })?;
                args.values.push((word, value));
            }
        }
        Ok(args)
    }

    pub(crate) fn flag(&self, name: &str) -> bool {
        self.flags.contains(&name)
    }

    pub(crate) fn project(&mut self) -> Result<ProjectName, GrammarError> {
        self.optional_project()?
            .ok_or(GrammarError::MissingProject { verb: self.verb })
    }

    pub(crate) fn optional_project(&mut self) -> Result<Option<ProjectName>, GrammarError> {
        self.positionals
            .pop_front()
            .map(|word| {
                ProjectName::parse(word)
                    .ok_or_else(|| GrammarError::BadProject { word: shown(word) })
            })
            .transpose()
    }

    pub(crate) fn optional_commit(&mut self) -> Result<Option<CommitId>, GrammarError> {
        self.positionals
            .pop_front()
            .map(|word| {
                CommitId::parse(word).ok_or_else(|| GrammarError::BadCommit { word: shown(word) })
            })
            .transpose()
    }

    /// `--tail N`: a whole number from 1 to [`MAX_TAIL`], written plainly.
    pub(crate) fn tail(&mut self) -> Result<u32, GrammarError> {
        let Some(&(_, value)) = self.values.iter().find(|(o, _)| *o == "--tail") else {
            return Ok(DEFAULT_TAIL);
        };
        let digits = !value.is_empty()
            && value.len() <= 5
            && value.bytes().all(|b| b.is_ascii_digit())
            && !value.starts_with('0');
        match value.parse::<u32>() {
            Ok(n) if digits && (1..=MAX_TAIL).contains(&n) => Ok(n),
            _ => Err(GrammarError::BadTail { word: shown(value) }),
        }
    }

    /// A task's name (`release/task.rs`): a word, never a command line.
    pub(crate) fn task(&mut self) -> Result<String, GrammarError> {
        let word = self
            .positionals
            .pop_front()
            .ok_or(GrammarError::MissingTask)?;
        if crate::release::task::valid_name(word) {
            Ok(word.to_owned())
        } else {
            Err(GrammarError::BadTask {
                word: word.to_owned(),
            })
        }
    }

    /// One or more secret names: the rest of the positionals.
    pub(crate) fn secret_keys(&mut self) -> Result<Vec<SecretKey>, GrammarError> {
        let keys = self
            .positionals
            .drain(..)
            .map(|word| {
                SecretKey::parse(word)
                    .ok_or_else(|| GrammarError::BadSecretKey { word: shown(word) })
            })
            .collect::<Result<Vec<_>, _>>()?;
        if keys.is_empty() {
            return Err(GrammarError::MissingSecretKey);
        }
        Ok(keys)
    }

    /// A registry's host as an image reference starts (`ghcr.io`), with `--port N` after a
    /// `:` (`registry.example:5000`): a `:` is not in the word alphabet.
    pub(crate) fn registry(&mut self) -> Result<String, GrammarError> {
        let word = self
            .positionals
            .pop_front()
            .ok_or(GrammarError::MissingRegistry { verb: self.verb })?;
        let host_char = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b".-".contains(&b);
        let starts = word
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric());
        if word.len() > 253 || !starts || !word.bytes().all(host_char) {
            return Err(GrammarError::BadRegistry {
                word: word.to_owned(),
            });
        }
        let Some(&(_, port)) = self.values.iter().find(|(o, _)| *o == "--port") else {
            return Ok(word.to_owned());
        };
        match port.parse::<u16>() {
            Ok(n) if n > 0 && !port.starts_with('0') => Ok(format!("{word}:{n}")),
            _ => Err(GrammarError::BadPort {
                word: port.to_owned(),
            }),
        }
    }

    /// Refuse what is left over.
    pub(crate) fn finish(self) -> Result<(), GrammarError> {
        match self.positionals.front() {
            Some(extra) => Err(GrammarError::ExtraWord {
                verb: self.verb,
                word: shown(extra),
            }),
            None => Ok(()),
        }
    }
}
