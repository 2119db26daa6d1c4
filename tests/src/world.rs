//! A world for one test: a throwaway [`Host`], git remotes, and the compose projects it
//! creates (taken down when it is dropped), with the paths of the agent root at hand.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::command::Run;
use crate::git::Remote;
use crate::host::{deploy_uid, keygen, mkdir, Host, Key, Login, DEPLOY_USER};
use crate::sshd::{self, Daemon};
use crate::wait::{processes, wait_every};

/// Where worlds live: outside /tmp, because sshd's StrictModes rejects a keys file below a
/// world-writable directory, and every directory must be traversable by the deploy user.
const BASE: &str = "/var/lib/kelev-e2e";

/// The keys every world's authorized_keys holds, as `(file name, --key argument)`.
const KEYS: [(&str, Option<&str>); 4] = [
    ("ci", Some("ci")),
    ("fun-ci", Some("fun-ci")),
    ("ghost", Some("ghost")),
    ("nokey", None),
];

pub struct World {
    pub dir: PathBuf,
    pub agent: PathBuf,
    pub config: PathBuf,
    /// The agent root; a test may point it elsewhere (then [`World::write_config`]).
    pub root: PathBuf,
    /// Prefix of every project name in this world, so parallel tests never share containers.
    pub prefix: String,
    /// The digits in `prefix`, unique among the worlds of this machine.
    id: String,
    host: Host,
    http: Option<Daemon>,
    git_sshd: Option<Daemon>,
    https: Option<Daemon>,
    projects: Vec<String>,
}

/// A binary of this workspace, built next to the test binary.
pub fn workspace_binary(name: &str) -> PathBuf {
    // target/<profile>/deps/e2e-<hash> -> target/<profile>/<name>
    let exe = std::env::current_exe().unwrap();
    let path = exe.parent().unwrap().parent().unwrap().join(name);
    assert!(
        path.is_file(),
        "{} is missing: build it first (`cargo build --workspace --bins`; scripts/test does)",
        path.display()
    );
    path
}

impl Default for World {
    fn default() -> World {
        World::new()
    }
}

impl World {
    pub fn new() -> World {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        // Fixed width, so that a table of project names is the same width in every run.
        let id = format!("{:05}{n:03}", std::process::id() % 100_000);
        let dir = Path::new(BASE).join(&id);
        let _ = std::fs::remove_dir_all(&dir);
        mkdir(Path::new(BASE));
        let keys: Vec<Key> = KEYS
            .iter()
            .map(|(name, id)| Key {
                name: (*name).to_owned(),
                login: Login::Agent(id.map(str::to_owned)),
            })
            .collect();
        let host = Host::up(&dir, &workspace_binary("kelev-agent"), &keys);
        for d in [&dir.join("remotes"), &dir.join("work")] {
            mkdir(d);
        }
        let world = World {
            prefix: format!("t{id}-"),
            id,
            dir,
            agent: host.agent.clone(),
            config: host.config.clone(),
            root: host.root.clone(),
            host,
            http: None,
            git_sshd: None,
            https: None,
            projects: Vec::new(),
        };
        world.write_config(&serde_json::json!({}));
        world
    }

    /// A world with one site for project `short` serving `page`, in the installed manifest:
    /// how most tests begin.
    pub fn with_site(short: &str, page: &str) -> (World, Remote) {
        let (world, mut sites) = World::with_sites(&[(short, page)]);
        (world, sites.remove(0))
    }

    /// A world with a site for each `(short, page)`, all in the installed manifest.
    pub fn with_sites(sites: &[(&str, &str)]) -> (World, Vec<Remote>) {
        let mut world = World::new();
        let sites: Vec<Remote> = sites
            .iter()
            .map(|(short, page)| world.site(short, page))
            .collect();
        let entries: Vec<serde_json::Value> = sites.iter().map(|s| world.entry(s)).collect();
        world.install_manifest(&world.manifest(&entries));
        (world, sites)
    }

    /// Write agent.json: root, the test keys, and `extra` fields on top.
    pub fn write_config(&self, extra: &serde_json::Value) {
        let mut config = serde_json::json!({
            "lock_timeout_secs": 120,
            "settle_secs": 1,
            "keys": {
                "ci": {"verbs": ["*"], "projects": ["*"]},
                "fun-ci": {"verbs": ["deploy", "status"], "projects": [self.name("fun")]},
            },
        });
        for (k, v) in extra.as_object().unwrap() {
            config[k] = v.clone();
        }
        config["root"] = serde_json::json!(self.root);
        std::fs::write(&self.config, serde_json::to_vec_pretty(&config).unwrap()).unwrap();
    }

    /// `tests/e2e/golden/<name>`, a golden file of the e2e suite.
    pub fn golden(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("e2e/golden")
            .join(name)
    }

    // The agent root, as agent/src/layout.rs lays it out.

    /// `<root>/projects/<name>`: mirror, releases, overrides, `current` and state.json.
    pub fn project_dir(&self, project: &str) -> PathBuf {
        self.root.join("projects").join(project)
    }

    /// `<root>/projects/<name>/releases`.
    pub fn releases_dir(&self, project: &str) -> PathBuf {
        self.project_dir(project).join("releases")
    }

    /// `<root>/projects/<name>/releases/<commit>`: one complete checkout.
    pub fn release_dir(&self, project: &str, commit: &str) -> PathBuf {
        self.releases_dir(project).join(commit)
    }

    /// `<root>/projects/<name>/current`, the link to the release in use.
    pub fn current_link(&self, project: &str) -> PathBuf {
        self.project_dir(project).join("current")
    }

    /// `<root>/projects/<name>/repo.git`, the bare mirror.
    pub fn mirror_dir(&self, project: &str) -> PathBuf {
        self.project_dir(project).join("repo.git")
    }

    /// `<root>/projects/<name>/state.json`: what is running.
    pub fn state_file(&self, project: &str) -> PathBuf {
        self.project_dir(project).join("state.json")
    }

    /// `<root>/projects/<name>/overrides/<commit>.json`, the compose override of a release.
    pub fn override_file(&self, project: &str, commit: &str) -> PathBuf {
        self.project_dir(project)
            .join("overrides")
            .join(format!("{commit}.json"))
    }

    /// `<root>/data/<name>`, the project's persistent data (KELEV_DATA_DIR).
    pub fn data_dir(&self, project: &str) -> PathBuf {
        self.root.join("data").join(project)
    }

    /// `<root>/secrets/<name>.env`.
    pub fn secrets_file(&self, project: &str) -> PathBuf {
        self.root.join("secrets").join(format!("{project}.env"))
    }

    /// `<root>/locks`, and [`World::lock_file`] in it.
    pub fn locks_dir(&self) -> PathBuf {
        self.root.join("locks")
    }

    /// `<root>/locks/<name>.lock`.
    pub fn lock_file(&self, project: &str) -> PathBuf {
        self.locks_dir().join(format!("{project}.lock"))
    }

    /// `<root>/git-credentials/<file>`.
    pub fn credential_file(&self, file: &str) -> PathBuf {
        self.root.join("git-credentials").join(file)
    }

    /// `<root>/projects.json`, the manifest.
    pub fn manifest_file(&self) -> PathBuf {
        self.root.join("projects.json")
    }

    /// `<root>/audit.log`.
    pub fn audit_log(&self) -> PathBuf {
        self.root.join("audit.log")
    }

    /// The world-unique project name for `short`.
    pub fn name(&self, short: &str) -> String {
        format!("{}{short}", self.prefix)
    }

    /// A site repository for project `short`, registered for clean-up.
    pub fn site(&mut self, short: &str, page: &str) -> Remote {
        let name = self.name(short);
        self.projects.push(name.clone());
        Remote::site(&self.dir, &name, page)
    }

    /// Start lighttpd + git http-backend over this world's remotes; returns the base URL.
    pub fn git_http(&mut self) -> String {
        if self.http.is_none() {
            self.http = Some(sshd::git_http(&self.host.etc, &self.dir.join("remotes")));
        }
        format!("http://127.0.0.1:{}", self.http.as_ref().unwrap().port)
    }

    /// lighttpd + git http-backend over TLS for this world's remotes, its certificate from a
    /// CA of the test's own. Returns the base URL and the CA certificate's path.
    pub fn git_https(&mut self) -> (String, PathBuf) {
        let (daemon, ca) = sshd::git_https(&self.host.etc, &self.dir.join("remotes"));
        let url = format!("https://127.0.0.1:{}", daemon.port);
        self.https = Some(daemon);
        (url, ca)
    }

    /// A second sshd, serving git: the deploy user logs in there with the key this returns
    /// (`restrict`, no forced command, so its shell runs `git-upload-pack`). Returns the URL
    /// prefix of this world's remotes (`ssh://kelev-test@127.0.0.1:<port>/.../remotes`), the
    /// server's `known_hosts` line and the private key.
    pub fn git_ssh(&mut self) -> (String, String, PathBuf) {
        let key = self.host.etc.join("git-deploy-key");
        let public = keygen(&key, "deploy key");
        std::fs::write(
            self.host.etc.join("git-authorized_keys"),
            format!("restrict {public}"),
        )
        .unwrap();
        let (daemon, known) = sshd::sshd_with_files(&self.host.etc, DEPLOY_USER, "git-");
        let url = format!(
            "ssh://{DEPLOY_USER}@127.0.0.1:{}{}",
            daemon.port,
            self.dir.join("remotes").display()
        );
        self.git_sshd = Some(daemon);
        (url, known, key)
    }

    /// Install `manifest` directly as the agent's projects.json (owned by the deploy user).
    pub fn install_manifest(&self, manifest: &serde_json::Value) {
        let path = self.manifest_file();
        std::fs::write(&path, serde_json::to_vec_pretty(manifest).unwrap()).unwrap();
        let (uid, gid) = deploy_uid();
        std::os::unix::fs::chown(&path, Some(uid), Some(gid)).unwrap();
    }

    /// Write `<root>/git-credentials/<file>` (the directory 0700, both the deploy user's) with
    /// `mode`.
    pub fn put_credential(&self, file: &str, content: &str, mode: u32) {
        use std::os::unix::fs::PermissionsExt;
        let dir = self.root.join("git-credentials");
        let (uid, gid) = deploy_uid();
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        std::os::unix::fs::chown(&dir, Some(uid), Some(gid)).unwrap();
        let path = dir.join(file);
        std::fs::write(&path, content).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        std::os::unix::fs::chown(&path, Some(uid), Some(gid)).unwrap();
    }

    /// A manifest entry for `remote` fetched over file://.
    pub fn entry(&self, remote: &Remote) -> serde_json::Value {
        serde_json::json!({"name": remote.name, "repo": remote.file_url(), "service": "web"})
    }

    pub fn manifest(&self, entries: &[serde_json::Value]) -> serde_json::Value {
        serde_json::json!({"domain": "kelev.test", "projects": entries})
    }

    /// `ssh kelev-test@127.0.0.1 <command>` with the key `key` (ci, fun-ci, ghost, nokey).
    pub fn ssh_as(&self, key: &str, command: impl Into<std::ffi::OsString>) -> Run {
        self.ssh_base(key).arg(command)
    }

    pub fn ssh(&self, command: impl Into<std::ffi::OsString>) -> Run {
        self.ssh_as("ci", command)
    }

    /// ssh with the options of a CI job, before the remote command.
    pub fn ssh_base(&self, key: &str) -> Run {
        self.host.ssh(key)
    }

    pub fn ssh_port(&self) -> u16 {
        self.host.ssh_port()
    }

    /// The private key file of `key` (ci, fun-ci, ghost, nokey).
    pub fn client_key(&self, key: &str) -> PathBuf {
        self.host.client_key(key)
    }

    pub fn known_hosts(&self) -> String {
        std::fs::read_to_string(self.host.known_hosts_file()).unwrap()
    }

    /// Run the agent locally as the deploy user (no SSH, so no key policy).
    pub fn local(&self, words: &[&str]) -> Run {
        self.local_with(&self.agent, words)
    }

    /// [`World::local`] with another build of the agent (copied into the world first, so that
    /// the deploy user can run it).
    pub fn local_with(&self, agent: &Path, words: &[&str]) -> Run {
        let copy = self.agent.with_file_name(format!(
            "kelev-agent-{}",
            agent.file_name().unwrap().to_string_lossy()
        ));
        let agent = if agent == self.agent {
            self.agent.clone()
        } else {
            std::fs::copy(agent, &copy).unwrap();
            copy
        };
        Run::new("setpriv")
            .args([
                "--reuid",
                DEPLOY_USER,
                "--regid",
                DEPLOY_USER,
                "--init-groups",
                "--",
            ])
            .arg(&agent)
            .arg("--config")
            .arg(&self.config)
            .args(words)
            .env("HOME", "/")
    }

    pub fn audit_lines(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(self.audit_log())
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("audit lines are JSON"))
            .collect()
    }

    pub fn status(&self, project: &str) -> serde_json::Value {
        let out = self.ssh(format!("status {project} --json")).run().ok();
        out.json()["projects"][0].clone()
    }

    /// The page served by `project`'s `web` container at its address on the `web` network.
    pub fn page(&self, project: &str) -> String {
        let ip = self.ip(project, "web");
        http_get(&format!("{ip}:80"))
    }

    pub fn ip(&self, project: &str, network: &str) -> String {
        let format = format!("{{{{(index .NetworkSettings.Networks \"{network}\").IPAddress}}}}");
        docker(&["inspect", "-f", &format, &self.container(project, "web")])
            .trim()
            .to_owned()
    }

    /// The id of `project`'s running `service` container (whatever its number after rollouts).
    pub fn container(&self, project: &str, service: &str) -> String {
        let ids = docker(&[
            "ps",
            "-q",
            "--filter",
            &format!("label=com.docker.compose.project={project}"),
            "--filter",
            &format!("label=com.docker.compose.service={service}"),
        ]);
        let id = ids.split_whitespace().next().unwrap_or_default().to_owned();
        assert!(
            !id.is_empty(),
            "no running `{service}` container of `{project}`"
        );
        id
    }

    /// The images built for `project` (`id tag` lines, sorted): proof of whether a build ran.
    pub fn images(&self, project: &str) -> Vec<String> {
        let reference = format!("reference=kelev-{project}-*");
        let mut lines: Vec<String> = docker(&[
            "images",
            "--no-trunc",
            "--format",
            "{{.ID}} {{.Tag}}",
            "--filter",
            &reference,
        ])
        .lines()
        .map(str::to_owned)
        .collect();
        lines.sort();
        lines
    }

    /// Arguments for [`crate::dockerfile`]: a build step that sleeps `secs` seconds, whose
    /// process the host sees as this world's (busybox's sleep adds up its arguments; the last
    /// is this world's id as a fraction of a second). See [`World::slow_step_running`].
    pub fn slow_step(&self, secs: u32) -> String {
        format!("\"sleep\", \"{secs}\", \"0.{}\"", self.id)
    }

    /// Whether the build step of [`World::slow_step`] runs now: a build is in its middle.
    pub fn slow_step_running(&self, secs: u32) -> bool {
        !processes(&format!("/bin/busybox sleep {secs} 0.{}", self.id)).is_empty()
    }

    /// Whether someone holds `<root>/locks/<project>.lock` (flock), from `/proc/locks`: a look
    /// that takes nothing.
    pub fn lock_held(&self, project: &str) -> bool {
        use std::os::unix::fs::MetadataExt;
        let Ok(meta) = std::fs::metadata(self.lock_file(project)) else {
            return false;
        };
        let dev = meta.dev();
        let (major, minor) = (
            ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff),
            (dev & 0xff) | ((dev >> 12) & 0xfff00),
        );
        let file = format!(" {major:02x}:{minor:02x}:{} ", meta.ino());
        // `1: FLOCK  ADVISORY  WRITE <pid> <major>:<minor>:<inode> 0 EOF`; a waiter's line
        // has `->` after the number.
        std::fs::read_to_string("/proc/locks")
            .unwrap()
            .lines()
            .any(|l| l.contains(" FLOCK ") && !l.contains("->") && l.contains(&file))
    }

    /// Every file under the agent root with its size and mtime, to prove nothing changed.
    pub fn snapshot(&self) -> Vec<String> {
        let mut out = Vec::new();
        walk(&self.root, &mut out);
        out.retain(|line| !line.contains("audit.log"));
        out.sort();
        out
    }
}

fn walk(dir: &Path, out: &mut Vec<String>) {
    use std::os::unix::fs::MetadataExt;
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let meta = entry.path().symlink_metadata().unwrap();
        let link = std::fs::read_link(entry.path()).ok();
        out.push(format!(
            "{} {} {} {:?}",
            entry.path().display(),
            meta.len(),
            meta.mtime_nsec() + meta.mtime() * 1_000_000_000,
            link
        ));
        if meta.is_dir() {
            walk(&entry.path(), out);
        }
    }
}

impl Drop for World {
    fn drop(&mut self) {
        for project in &self.projects {
            let filter = format!("label=com.docker.compose.project={project}");
            let ids = docker(&["ps", "-aq", "--filter", &filter]);
            let ids: Vec<&str> = ids.split_whitespace().collect();
            if !ids.is_empty() {
                let mut args = vec!["rm", "-f"];
                args.extend(ids);
                docker(&args);
            }
            docker(&["network", "rm", &format!("{project}_default")]);
            let volumes = docker(&["volume", "ls", "-q", "--filter", &filter]);
            let volumes: Vec<&str> = volumes.split_whitespace().collect();
            if !volumes.is_empty() {
                let mut args = vec!["volume", "rm", "-f"];
                args.extend(volumes);
                docker(&args);
            }
            let images = docker(&[
                "images",
                "-q",
                "--filter",
                &format!("reference=kelev-{project}-*"),
            ]);
            let images: Vec<&str> = images.split_whitespace().collect();
            if !images.is_empty() {
                let mut args = vec!["rmi", "-f"];
                args.extend(images);
                docker(&args);
            }
        }
        if std::env::var_os("KELEV_E2E_KEEP").is_none() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Run docker and return stdout (failures return what was printed; callers check).
pub fn docker(args: &[&str]) -> String {
    Run::new("docker").args(args).run().stdout
}

/// A plain HTTP/1.0 GET of `/`, returning the body; asked again until something answers HTTP.
#[track_caller]
pub fn http_get(addr: &str) -> String {
    let response = wait_every(
        &format!("an HTTP answer from {addr}"),
        Duration::from_secs(10),
        Duration::from_millis(100),
        || {
            let response = TcpStream::connect(addr)
                .and_then(|mut s| {
                    s.set_read_timeout(Some(Duration::from_secs(5)))?;
                    s.write_all(b"GET / HTTP/1.0\r\nHost: test\r\n\r\n")?;
                    let mut response = String::new();
                    s.read_to_string(&mut response)?;
                    Ok(response)
                })
                .map_err(|e| e.to_string())?;
            if response.starts_with("HTTP/1.") {
                Ok(response)
            } else {
                Err(response)
            }
        },
    );
    response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default()
}
