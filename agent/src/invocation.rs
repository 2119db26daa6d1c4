//! From process start to a permitted, typed command: where the words come from, which key is
//! speaking, whether that key may say them; then the verb runs.

use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use crate::error::Error;
use crate::host::audit::Trail;
use crate::host::config::Config;
use crate::host::layout::{create_root, Layout};
use crate::verbs::{Agent, Command, Io, VERBS};
use crate::wire::policy::Denied;

/// What the process was started with (from `main`'s command line).
pub(crate) struct Invocation {
    pub(crate) config: PathBuf,
    /// The id of the SSH key this runs for, from `authorized_keys`.
    pub(crate) key: Option<String>,
    /// The command's words, when run locally.
    pub(crate) words: Vec<String>,
}

pub(crate) fn run(
    invocation: &Invocation,
    trail: &mut Trail,
    out: &mut dyn std::io::Write,
) -> Result<(), Error> {
    let original = std::env::var_os("SSH_ORIGINAL_COMMAND");
    let remote = original.is_some() || std::env::var_os("SSH_CONNECTION").is_some();
    let words: Vec<&str> = invocation.words.iter().map(String::as_str).collect();
    trail.key = invocation.key.clone();
    trail.raw = match &original {
        Some(line) => line.as_bytes().to_vec(),
        None => words.join(" ").into_bytes(),
    };

    // Locally, `help` and `version` answer even on a host without a config.
    if !remote {
        if let Ok(command) = Command::parse_words(&words) {
            if command.answer(out) {
                note(trail, &command);
                return Ok(());
            }
        }
    }
    let config = Config::load(&invocation.config, VERBS)?;
    run_as_owner(&config.root)?;
    trail.log = Some(Layout::new(&config.root).audit_log());
    create_root(&config.root)?;

    // Over SSH, who is speaking is settled before what they said is read: an unknown key
    // learns nothing, not even whether its command would parse.
    let policy = match remote {
        true => {
            let key = invocation.key.as_deref().ok_or(Denied::NoKeyId)?;
            let policy = config.keys.get(key).ok_or_else(|| Denied::UnknownKey {
                key: key.to_owned(),
            })?;
            Some(policy.clone())
        }
        false => None,
    };
    if original.is_some() && !words.is_empty() {
        return Err(Error::WordsAndOriginalCommand);
    }
    let command = match &original {
        Some(_) => Command::parse_line(&trail.raw)?,
        None => Command::parse_words(&words)?,
    };
    note(trail, &command);
    if let Some(policy) = &policy {
        policy.check(command.spec(), command.project())?;
    }
    if command.answer(out) {
        return Ok(());
    }
    let agent = Agent::new(config, invocation.key.clone(), policy);
    let mut io = Io {
        verbs: VERBS,
        out,
        err: &mut std::io::stderr(),
        input: &mut std::io::stdin().lock(),
        trail,
    };
    command.run(&agent, &mut io)
}

/// Files the agent makes belong to whoever runs it: root-owned lock files, secrets or project
/// directories would lock the deploy user out. So only the owner of `root` may run it (root too,
/// for a root it owns); a `root` not made yet is made by whoever runs first.
fn run_as_owner(root: &std::path::Path) -> Result<(), Error> {
    use std::os::unix::fs::MetadataExt;
    let Ok(meta) = std::fs::metadata(root) else {
        return Ok(());
    };
    let user = nix::unistd::Uid::effective();
    if meta.uid() == user.as_raw() {
        return Ok(());
    }
    let name = |uid: u32| match nix::unistd::User::from_uid(uid.into()) {
        Ok(Some(user)) => user.name,
        _ => format!("uid {uid}"),
    };
    Err(Error::NotOwner {
        root: root.to_owned(),
        owner: name(meta.uid()),
        user: name(user.as_raw()),
    })
}

fn note(trail: &mut Trail, command: &Command) {
    trail.verb = Some(command.spec().name);
    trail.project = command.project().cloned();
    trail.requested = command.commit().cloned();
}
