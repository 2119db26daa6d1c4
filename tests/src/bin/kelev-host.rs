//! `kelev-host`: the throwaway host of the e2e suite for the shell scripts. `scripts/demo` and
//! `scripts/bench` set up their sshd, deploy user's agent, agent.json and keys with it, so the
//! three share one implementation (tests/src/host.rs).

use std::path::PathBuf;
use std::process::ExitCode;

use kelev_e2e::{Host, Key, Login};

const USAGE: &str = "\
usage: kelev-host up --dir DIR --agent PATH [--key ID]... [--command-key NAME=COMMAND]...
                     [--git-http REMOTES]
       kelev-host down --dir DIR

up    copies PATH to DIR/bin/kelev-agent, makes DIR/root (the deploy user's), writes
      DIR/agent.json (every --key ID may run every verb on every project), a client key
      DIR/etc/client-<ID> for each --key (forced command: the agent with --key ID) and each
      --command-key (forced command: COMMAND), DIR/etc/known_hosts, and starts sshd on a free
      loopback port; with --git-http also lighttpd + git http-backend over REMOTES. Prints
      `ssh_port=N` (and `git_http_port=N`). The daemons outlive it: their pids are in
      DIR/etc/*.pid.
down  stops the daemons `up` started in DIR.
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("kelev-host: error: {message}\n{USAGE}");
            ExitCode::from(64)
        }
    }
}

fn run(args: &[String]) -> Result<(), String> {
    let (verb, rest) = args.split_first().ok_or("no verb given")?;
    if verb == "-h" || verb == "--help" {
        print!("{USAGE}");
        return Ok(());
    }
    let mut dir = None;
    let mut agent = None;
    let mut keys = Vec::new();
    let mut git_http = None;
    let mut words = rest.iter();
    while let Some(option) = words.next() {
        let mut value = || {
            words
                .next()
                .cloned()
                .ok_or(format!("`{option}` needs a value"))
        };
        match option.as_str() {
            "--dir" => dir = Some(PathBuf::from(value()?)),
            "--agent" => agent = Some(PathBuf::from(value()?)),
            "--key" => keys.push(Key::agent(&value()?)),
            "--command-key" => {
                let value = value()?;
                let (name, command) = value
                    .split_once('=')
                    .ok_or(format!("`--command-key {value}` is not NAME=COMMAND"))?;
                keys.push(Key {
                    name: name.to_owned(),
                    login: Login::Command(command.to_owned()),
                });
            }
            "--git-http" => git_http = Some(PathBuf::from(value()?)),
            "-h" | "--help" => {
                print!("{USAGE}");
                return Ok(());
            }
            _ => return Err(format!("unknown option `{option}`")),
        }
    }
    let dir = dir.ok_or("`--dir` is required")?;
    match verb.as_str() {
        "up" => {
            let agent = agent.ok_or("`up` needs `--agent`")?;
            let host = Host::up(&dir, &agent, &keys);
            if let Some(remotes) = git_http {
                let daemon = kelev_e2e::git_http(&host.etc, &remotes);
                println!("git_http_port={}", daemon.port);
                daemon.detach(&host.etc.join("lighttpd.pid"));
            }
            println!("ssh_port={}", host.detach());
            Ok(())
        }
        "down" => {
            kelev_e2e::stop(&dir.join("etc/sshd.pid"), "sshd");
            kelev_e2e::stop(&dir.join("etc/lighttpd.pid"), "lighttpd");
            Ok(())
        }
        _ => Err(format!("unknown verb `{verb}`")),
    }
}
