//! A real sshd on a loopback port, and a real web server for smart HTTP, each a child process
//! killed when dropped.

use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::command::Run;
use crate::port::Port;
use crate::wait::wait_until;

pub struct Daemon {
    child: Child,
    pub port: u16,
    /// Held as long as the daemon runs (see [`Port`]).
    _held: Port,
}

impl Daemon {
    /// Leave the daemon running past this process (`kelev-host up`); its pid goes to `pidfile`.
    pub fn detach(self, pidfile: &Path) {
        std::fs::write(pidfile, format!("{}\n", self.child.id())).unwrap();
        std::mem::forget(self);
    }
}

/// Stop the daemon `pidfile` names, only while that pid is still a `name` (a reused pid is left
/// alone), and remove the pid file; `kelev-host down`.
pub fn stop(pidfile: &Path, name: &str) {
    let Ok(pid) = std::fs::read_to_string(pidfile) else {
        return;
    };
    let _ = std::fs::remove_file(pidfile);
    let pid = pid.trim();
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
    if pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) || comm.trim() != name {
        return;
    }
    if Run::new("kill").arg(pid).run().code != Some(0) {
        return;
    }
    wait_until(
        &format!("{name} (pid {pid}) to exit after SIGTERM"),
        Duration::from_secs(10),
        || !Path::new(&format!("/proc/{pid}")).exists(),
    );
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `argv` as a daemon listening on `port` (its output in `log`), once it accepts connections.
pub fn start(argv: &[&str], log: &Path, port: Port) -> Daemon {
    let log_file = std::fs::File::create(log).unwrap();
    let mut child = Command::new(argv[0])
        .args(&argv[1..])
        .stdin(Stdio::null())
        .stdout(log_file.try_clone().unwrap())
        .stderr(log_file)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", argv[0]));
    let number = port.number();
    wait_until(
        &format!("{} to listen on port {number}", argv[0]),
        Duration::from_secs(10),
        || {
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "{} exited ({status}) before listening:\n{}",
                    argv[0],
                    std::fs::read_to_string(log).unwrap_or_default()
                );
            }
            TcpStream::connect(("127.0.0.1", number)).is_ok()
        },
    );
    Daemon {
        child,
        port: number,
        _held: port,
    }
}

/// sshd with the settings docs/security.md prescribes for the deploy user; its files in `etc`
/// are `host_key`, `authorized_keys` (which the caller writes), `sshd_config` and `sshd.log`.
pub fn sshd(etc: &Path, user: &str) -> (Daemon, String) {
    sshd_with_files(etc, user, "")
}

/// The same sshd, its files' names starting with `prefix`: a second one beside the first.
pub fn sshd_with_files(etc: &Path, user: &str, prefix: &str) -> (Daemon, String) {
    let host_key = etc.join(format!("{prefix}host_key"));
    let public = crate::host::keygen(&host_key, "kelev test host");
    let port = Port::hold();
    let config = format!(
        "ListenAddress 127.0.0.1\nPort {number}\nHostKey {host}\nPidFile none\n\
         AuthorizedKeysFile {keys}\nStrictModes yes\nUsePAM no\nPubkeyAuthentication yes\n\
         PasswordAuthentication no\nKbdInteractiveAuthentication no\nPermitRootLogin no\n\
         AllowUsers {user}\nDisableForwarding yes\nPermitTTY no\nPermitUserRC no\n\
         PermitUserEnvironment no\nAcceptEnv LANG LC_*\nLogLevel VERBOSE\nMaxStartups 100\n\
         MaxSessions 50\nSubsystem sftp internal-sftp\n",
        host = host_key.display(),
        keys = etc.join(format!("{prefix}authorized_keys")).display(),
        number = port.number(),
    );
    let config_path = etc.join(format!("{prefix}sshd_config"));
    std::fs::write(&config_path, config).unwrap();
    let log = etc.join(format!("{prefix}sshd.log"));
    let daemon = start(
        &[
            "/usr/sbin/sshd",
            "-D",
            "-e",
            "-f",
            config_path.to_str().unwrap(),
        ],
        &log,
        port,
    );
    let known = format!("[127.0.0.1]:{} {}", daemon.port, public.trim());
    (daemon, known)
}

/// lighttpd serving every repository under `root` with `git http-backend` over TLS, with a
/// certificate for `127.0.0.1` from a CA of its own. Returns the daemon and the CA's
/// certificate (PEM), which no system trust store holds.
pub fn git_https(etc: &Path, root: &Path) -> (Daemon, std::path::PathBuf) {
    let (ca, cert, key) = loopback_tls(etc);
    let tls = format!(
        "ssl.engine = \"enable\"\nssl.pemfile = \"{}\"\nssl.privkey = \"{}\"\n",
        cert.display(),
        key.display()
    );
    let daemon = lighttpd_git(etc, "lighttpd-tls", root, &["mod_openssl"], &tls, &["/"]);
    (daemon, ca)
}

/// A CA of its own (`tls-ca.pem` in `etc`) and a certificate for `127.0.0.1` it signed, with
/// its key: `(ca, certificate, key)`, PEM files that no system trust store holds.
pub(crate) fn loopback_tls(
    etc: &Path,
) -> (std::path::PathBuf, std::path::PathBuf, std::path::PathBuf) {
    let ca_key = etc.join("tls-ca.key");
    let ca = etc.join("tls-ca.pem");
    let key = etc.join("tls-server.key");
    let csr = etc.join("tls-server.csr");
    let cert = etc.join("tls-server.pem");
    let openssl = |args: &[&str]| Run::new("openssl").args(args).run().ok();
    let p = |path: &Path| path.to_str().unwrap().to_owned();
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=kelev e2e CA",
        "-keyout",
        &p(&ca_key),
        "-out",
        &p(&ca),
    ]);
    openssl(&[
        "req",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-subj",
        "/CN=127.0.0.1",
        "-keyout",
        &p(&key),
        "-out",
        &p(&csr),
    ]);
    let ext = etc.join("tls-server.ext");
    std::fs::write(
        &ext,
        "subjectAltName = IP:127.0.0.1\nextendedKeyUsage = serverAuth\n",
    )
    .unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        &p(&csr),
        "-CA",
        &p(&ca),
        "-CAkey",
        &p(&ca_key),
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        &p(&ext),
        "-out",
        &p(&cert),
    ]);
    (ca, cert, key)
}

/// The password `git_http` wants under `/private/`, for the user `x-access-token`.
pub const GIT_HTTP_TOKEN: &str = "kelev-e2e-token-5f0c2a";

/// lighttpd serving every repository under `root` with `git http-backend`: at `/` to anyone, at
/// `/private/` only with HTTP basic authentication as `x-access-token` and [`GIT_HTTP_TOKEN`]
/// (what a forge asks of a token).
pub fn git_http(etc: &Path, root: &Path) -> Daemon {
    let users = etc.join("lighttpd.users");
    std::fs::write(&users, format!("x-access-token:{GIT_HTTP_TOKEN}\n")).unwrap();
    let auth = format!(
        "auth.backend = \"plain\"\nauth.backend.plain.userfile = \"{}\"\n\
         auth.require = ( \"/private/\" => ( \"method\" => \"basic\", \"realm\" => \"kelev-e2e\", \"require\" => \"valid-user\" ) )\n",
        users.display()
    );
    lighttpd_git(
        etc,
        "lighttpd",
        root,
        &["mod_auth", "mod_authn_file"],
        &auth,
        &["/private/", "/"],
    )
}

/// lighttpd on a free loopback port running `git http-backend` for every repository under
/// `root` at each of `prefixes`, with `modules` and `settings` added; its files are
/// `<name>.conf` and `<name>.log` in `etc`.
fn lighttpd_git(
    etc: &Path,
    name: &str,
    root: &Path,
    modules: &[&str],
    settings: &str,
    prefixes: &[&str],
) -> Daemon {
    let port = Port::hold();
    let modules: String = ["mod_alias", "mod_setenv"]
        .iter()
        .chain(modules)
        .chain(&["mod_cgi"])
        .map(|m| format!("\"{m}\", "))
        .collect();
    let aliases: Vec<String> = prefixes
        .iter()
        .map(|p| format!("\"{p}\" => \"/usr/lib/git-core/git-http-backend/\""))
        .collect();
    let config = format!(
        "server.modules = ( {modules})\n\
         server.document-root = \"{root}\"\nserver.bind = \"127.0.0.1\"\nserver.port = {number}\n\
         {settings}\
         alias.url = ( {aliases} )\n\
         cgi.assign = ( \"\" => \"\" )\n\
         setenv.set-environment = ( \"GIT_PROJECT_ROOT\" => \"{root}\", \"GIT_HTTP_EXPORT_ALL\" => \"1\", \
         \"GIT_CONFIG_COUNT\" => \"1\", \"GIT_CONFIG_KEY_0\" => \"safe.directory\", \"GIT_CONFIG_VALUE_0\" => \"*\" )\n",
        root = root.display(),
        aliases = aliases.join(", "),
        number = port.number(),
    );
    let config_path = etc.join(format!("{name}.conf"));
    std::fs::write(&config_path, config).unwrap();
    start(
        &[
            "/usr/sbin/lighttpd",
            "-D",
            "-f",
            config_path.to_str().unwrap(),
        ],
        &etc.join(format!("{name}.log")),
        port,
    )
}
