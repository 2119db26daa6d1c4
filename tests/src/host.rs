//! A throwaway host: the deploy user's copy of `kelev-agent`, its config and root, client keys,
//! and a private sshd on a loopback port whose `authorized_keys` holds the documented
//! `restrict,command=...` lines. The e2e [`World`](crate::World) stands on one, and so do
//! `scripts/demo` and `scripts/bench` (through the `kelev-host` binary): one set-up for all three.
//!
//! ```text
//! <dir>/
//!   bin/kelev-agent      the agent, copied so that the deploy user can run it
//!   agent.json           its config (root and keys)
//!   root/                its root, owned by the deploy user
//!   etc/client-<name>    a client's private key (.pub beside it)
//!   etc/authorized_keys  one line a client key
//!   etc/known_hosts      the one host key the clients trust
//!   etc/sshd_config, etc/host_key, etc/sshd.log
//! ```

use std::path::{Path, PathBuf};

use crate::command::Run;
use crate::sshd::{self, Daemon};

/// The system user scripts/setup creates; sshd logs the keys in as this user.
pub const DEPLOY_USER: &str = "kelev-test";

/// What a client key may run: the agent (with `--key <id>`, or without one), or another forced
/// command (the bench's `/bin/true` baseline).
#[derive(Debug, Clone)]
pub enum Login {
    Agent(Option<String>),
    Command(String),
}

/// One client key: its file name under `etc/` is `client-<name>`.
#[derive(Debug, Clone)]
pub struct Key {
    pub name: String,
    pub login: Login,
}

impl Key {
    /// A key whose forced command is the agent run with `--key <id>`.
    pub fn agent(id: &str) -> Key {
        Key {
            name: id.to_owned(),
            login: Login::Agent(Some(id.to_owned())),
        }
    }
}

pub struct Host {
    pub dir: PathBuf,
    pub etc: PathBuf,
    pub agent: PathBuf,
    pub config: PathBuf,
    pub root: PathBuf,
    known_hosts: PathBuf,
    sshd: Daemon,
}

/// The uid and gid of the deploy user.
pub fn deploy_uid() -> (u32, u32) {
    let id = |flag| {
        Run::new("id")
            .args([flag, DEPLOY_USER])
            .run()
            .ok()
            .stdout
            .trim()
            .parse::<u32>()
            .unwrap()
    };
    (id("-u"), id("-g"))
}

/// Create `path` (and its parents) with mode 0755: the deploy user traverses it.
pub fn mkdir(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(path).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// A new ed25519 key pair at `private` (and `private.pub`); returns the public line.
pub fn keygen(private: &Path, comment: &str) -> String {
    Run::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f"])
        .arg(private)
        .run()
        .ok();
    std::fs::read_to_string(private.with_extension("pub")).unwrap()
}

impl Host {
    /// Set up a host in `dir` (which must not hold one yet) running `agent`, with a client key
    /// for each of `keys`, and start its sshd. agent.json gives every agent key all verbs and
    /// projects until [`Host::write_config`] says otherwise.
    pub fn up(dir: &Path, agent: &Path, keys: &[Key]) -> Host {
        let (etc, bin, root) = (dir.join("etc"), dir.join("bin"), dir.join("root"));
        for d in [dir, &etc, &bin, &root] {
            mkdir(d);
        }
        let (uid, gid) = deploy_uid();
        std::os::unix::fs::chown(&root, Some(uid), Some(gid)).unwrap();
        let copy = bin.join("kelev-agent");
        std::fs::copy(agent, &copy)
            .unwrap_or_else(|e| panic!("cannot copy {}: {e}", agent.display()));
        let config = dir.join("agent.json");

        let mut authorized = String::new();
        for key in keys {
            let public = keygen(&etc.join(format!("client-{}", key.name)), &key.name);
            let command = match &key.login {
                Login::Agent(id) => {
                    let id = id
                        .as_ref()
                        .map(|k| format!(" --key {k}"))
                        .unwrap_or_default();
                    format!("{} --config {}{id}", copy.display(), config.display())
                }
                Login::Command(command) => command.clone(),
            };
            authorized.push_str(&format!("restrict,command=\"{command}\" {public}"));
        }
        std::fs::write(etc.join("authorized_keys"), authorized).unwrap();
        let (sshd, known) = sshd::sshd(&etc, DEPLOY_USER);
        let known_hosts = etc.join("known_hosts");
        std::fs::write(&known_hosts, format!("{known}\n")).unwrap();

        let host = Host {
            dir: dir.to_owned(),
            etc,
            agent: copy,
            config,
            root,
            known_hosts,
            sshd,
        };
        let every = serde_json::json!({"verbs": ["*"], "projects": ["*"]});
        let agent_keys: serde_json::Map<_, _> = keys
            .iter()
            .filter_map(|key| match &key.login {
                Login::Agent(Some(id)) => Some((id.clone(), every.clone())),
                _ => None,
            })
            .collect();
        host.write_config(&serde_json::json!({ "keys": agent_keys }));
        host
    }

    /// Write agent.json: `config` with this host's root.
    pub fn write_config(&self, config: &serde_json::Value) {
        let mut config = config.clone();
        config["root"] = serde_json::json!(self.root);
        std::fs::write(&self.config, serde_json::to_vec_pretty(&config).unwrap()).unwrap();
    }

    pub fn ssh_port(&self) -> u16 {
        self.sshd.port
    }

    /// The private key file of client `name`.
    pub fn client_key(&self, name: &str) -> PathBuf {
        self.etc.join(format!("client-{name}"))
    }

    pub fn known_hosts_file(&self) -> &Path {
        &self.known_hosts
    }

    /// ssh to the deploy user with client key `name` and the options of a CI job, before the
    /// remote command.
    pub fn ssh(&self, name: &str) -> Run {
        Run::new("ssh")
            .args([
                "-q",
                "-T",
                "-o",
                "BatchMode=yes",
                "-o",
                "StrictHostKeyChecking=yes",
            ])
            .arg("-o")
            .arg(format!("UserKnownHostsFile={}", self.known_hosts.display()))
            .args(["-o", "IdentitiesOnly=yes", "-i"])
            .arg(self.client_key(name))
            .args([
                "-p",
                &self.sshd.port.to_string(),
                "-l",
                DEPLOY_USER,
                "127.0.0.1",
            ])
    }

    /// Leave the sshd running when this goes away (`kelev-host up`): its pid is written to
    /// `etc/sshd.pid` for `kelev-host down`.
    pub fn detach(self) -> u16 {
        let port = self.sshd.port;
        self.sshd.detach(&self.etc.join("sshd.pid"));
        port
    }
}
