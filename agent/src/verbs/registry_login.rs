//! registry-login: a project's login to a container registry, its user and password (or
//! token) on stdin, one a line; kept in the project's own Docker client configuration
//! (`registry/<project>/config.json`, mode 0600, its directory 0700), which only that
//! project's pulls use. Never printed, never on the command line.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use kelev_core::ProjectName;
use serde_json::{json, Value};

use crate::error::Error;
use crate::host::layout::write_private;
use crate::verbs::agent::Agent;
use crate::verbs::verb::{Io, Verb};
use crate::wire::grammar::{Args, GrammarError};
use crate::wire::spec::{Grant, Opt, Spec};

/// The most `registry-login` reads from stdin.
const MAX_INPUT: usize = 16 * 1024;

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RegistryLogin {
    pub(crate) project: ProjectName,
    pub(crate) registry: String,
}

impl Verb for RegistryLogin {
    const SPEC: Spec = Spec::new(
        "registry-login",
        "<project> <registry> [--port N]",
        "set a registry login from stdin: user, then token",
    )
    .options(&[Opt::valued("--port")])
    .grant(Grant::Named);

    fn parse(args: &mut Args) -> Result<RegistryLogin, GrammarError> {
        Ok(RegistryLogin {
            project: args.project()?,
            registry: args.registry()?,
        })
    }

    fn project(&self) -> Option<&ProjectName> {
        Some(&self.project)
    }

    fn run(&self, agent: &Agent, io: &mut Io) -> Result<(), Error> {
        let name = &self.project;
        agent.project(name)?;
        let invalid = |problem: &str| Error::RegistryLogin {
            project: name.clone(),
            problem: problem.to_owned(),
        };
        let Some(bytes) = io.read_input(MAX_INPUT)? else {
            return Err(invalid(&format!("more than {MAX_INPUT} bytes")));
        };
        let (user, password) = parse(&bytes).map_err(invalid)?;
        let _lock = agent.lock(name, "registry-login", io.out)?;
        let dir = agent.layout.registry_config(name);
        for private in [dir.parent().unwrap_or(&dir), &dir] {
            make_private_dir(private)?;
        }
        let file = dir.join("config.json");
        let mut config: Value = std::fs::read(&file)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .filter(Value::is_object)
            .unwrap_or_else(|| json!({}));
        let auth = base64(format!("{user}:{password}").as_bytes());
        config["auths"][&self.registry] = json!({ "auth": auth });
        write_private(&file, config.to_string().as_bytes())?;
        let _ = writeln!(
            io.out,
            "registry login set for {name} at {}: its pulls use it, no other project's",
            self.registry
        );
        Ok(())
    }
}

/// `user` on the first line, the password or token on the second; errors never quote them.
fn parse(bytes: &[u8]) -> Result<(&str, &str), &'static str> {
    let text = std::str::from_utf8(bytes).map_err(|_| "not UTF-8")?;
    let mut lines = text.lines();
    let user = lines.next().unwrap_or("");
    let password = lines.next().unwrap_or("");
    if lines.any(|l| !l.is_empty()) {
        return Err("expected two lines, the user and the password or token");
    }
    if user.is_empty() || password.is_empty() {
        return Err("expected two lines, the user and the password or token");
    }
    if user.contains(':') {
        return Err("the user holds a `:`");
    }
    if user.chars().chain(password.chars()).any(char::is_control) {
        return Err("the user or password holds a control character");
    }
    Ok((user, password))
}

fn make_private_dir(dir: &Path) -> Result<(), Error> {
    crate::host::layout::create_dir(dir)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(Error::io(dir))
}

/// Standard base64 with padding: how Docker's `config.json` holds `user:password`.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_as_docker_reads_it() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"user:pa$$"), "dXNlcjpwYSQk");
    }

    #[test]
    fn two_lines_user_then_password() {
        assert_eq!(parse(b"ci\ntoken\n"), Ok(("ci", "token")));
        assert_eq!(parse(b"ci\r\ntoken"), Ok(("ci", "token")));
        for bad in [
            &b""[..],
            b"ci\n",
            b"ci\ntoken\nmore\n",
            b"c:i\ntoken\n",
            b"ci\nto\x07ken\n",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }
}
