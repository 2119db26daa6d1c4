//! From process start to a permitted, typed command: where the words come from, which key is
//! speaking, and whether that key may say them.

use std::os::unix::ffi::OsStrExt;

use crate::agent::Agent;
use crate::audit::Trail;
use crate::command::Command;
use crate::config::Config;
use crate::error::Error;
use crate::Cli;

pub(crate) fn run(cli: &Cli, trail: &mut Trail) -> Result<(), Error> {
    let original = std::env::var_os("SSH_ORIGINAL_COMMAND");
    let remote = original.is_some() || std::env::var_os("SSH_CONNECTION").is_some();
    trail.key = cli.key.clone();
    trail.raw = match &original {
        Some(line) => line.as_bytes().to_vec(),
        None => cli.words.join(" ").into_bytes(),
    };

    // Locally, `help` and `version` answer even on a host without a config.
    if !remote {
        let words: Vec<&str> = cli.words.iter().map(String::as_str).collect();
        if let Ok(command @ (Command::Help | Command::Version)) = Command::parse_words(&words) {
            trail.command = Some(command.clone());
            crate::agent::print_about(&command, &mut std::io::stdout());
            return Ok(());
        }
    }
    let config = Config::load(&cli.config)?;
    trail.log = Some(crate::layout::Layout::new(&config.root).audit_log());
    crate::layout::create_dir(&config.root)?;

    // Over SSH, who is speaking is settled before what they said is read: an unknown key
    // learns nothing, not even whether its command would parse.
    let policy = match remote {
        true => {
            let key = cli.key.as_deref().ok_or_else(|| Error::NotPermitted {
                message: "no key id: the authorized_keys line must run `kelev-agent --key ID`\n\
                          hint: inside an SSH session every run counts as remote; \
                          to run locally use `env -u SSH_CONNECTION kelev-agent ...`"
                    .into(),
            })?;
            let policy = config.keys.get(key).ok_or_else(|| Error::NotPermitted {
                message: format!("key `{}` is not in the agent config", key.escape_default()),
            })?;
            Some(policy.clone())
        }
        false => None,
    };
    if original.is_some() && !cli.words.is_empty() {
        return Err(Error::Usage {
            message: "words on the command line and SSH_ORIGINAL_COMMAND together: the \
                      authorized_keys line must run `kelev-agent --key ID` with no words"
                .into(),
        });
    }
    let command = match &original {
        Some(_) => Command::parse_line(&trail.raw)?,
        None => {
            let words: Vec<&str> = cli.words.iter().map(String::as_str).collect();
            Command::parse_words(&words)?
        }
    };
    trail.command = Some(command.clone());
    if let Some(policy) = &policy {
        policy
            .check(&command)
            .map_err(|message| Error::NotPermitted { message })?;
    }
    Agent::new(config, cli.key.clone(), policy).execute(&command, trail)
}
