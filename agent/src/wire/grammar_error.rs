//! Why the grammar refused a command (exit 64), in words that quote what was sent only once
//! it is known to be printable.

use super::grammar::{MAX_COMMAND_BYTES, MAX_TAIL};

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
    #[error(
        "`{option}` is an option of kelev-agent itself, not of `{verb}`\n\
         hint: put it before the command: `kelev-agent {option} ... {verb} ...`"
    )]
    AgentOption {
        verb: &'static str,
        option: &'static str,
    },
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
    #[error("`run` needs a task name")]
    MissingTask,
    #[error("`{word}` is not a task name ([a-z0-9][a-z0-9-]{{0,62}})")]
    BadTask { word: String },
    #[error("`{word}` is not a secret name ([A-Z_][A-Z0-9_]*)")]
    BadSecretKey { word: String },
    #[error("`secrets-unset` needs at least one secret name")]
    MissingSecretKey,
    #[error("`{verb}` needs a registry host (`ghcr.io`)")]
    MissingRegistry { verb: &'static str },
    #[error("`{word}` is not a registry host ([a-z0-9][a-z0-9.-]*; a port goes in `--port`)")]
    BadRegistry { word: String },
    #[error("`--port` takes a port from 1 to 65535, not `{word}`")]
    BadPort { word: String },
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
