//! The user data Terraform sends, run as cloud-init would run it: the host module applied
//! against moto with the inputs `kelev gen-config` writes (tests/src/terraform.rs), its
//! `#cloud-config` taken back from the instance, its `write_files` written into a temporary
//! root and its `runcmd` (init.sh) run there through init.sh's test harness
//! (`bootstrap/init_test.sh --run`, with the stubs for apt, mount, systemctl and dockerd). The
//! kelev-agent release it pins is served from a loopback web server standing in for GitHub's
//! release downloads. Then a real sshd, configured from what init.sh wrote, runs the CI key's
//! forced command through the agent init.sh installed.
//!
//! The one liberty taken with what Terraform sent: the test root stands for `/`, so the paths
//! in the produced sshd drop-in and authorized_keys are prefixed with it before sshd reads
//! them (each substitution below says so), and the agent is given a copy of agent.json whose
//! `root` is the test root's /srv/kelev.

use std::path::{Path, PathBuf};
use std::time::Duration;

use yaml_rust2::{Yaml, YamlLoader};

use kelev_e2e::terraform::{user_data, Host, Region};
use kelev_e2e::{start_daemon, workspace_binary, Port, Run, DEPLOY_USER};

/// Outside /tmp: sshd's StrictModes refuses a keys file below a world-writable directory.
const BASE: &str = "/var/lib/kelev-e2e";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A release as release.yml publishes it, at the path GitHub serves it under
/// (`/<owner>/<name>/releases/download/v<version>/...`): the built kelev-agent and SHA256SUMS.
/// Returns the version and the binary's sha256 as SHA256SUMS lists them.
fn publish_release(dir: &Path, repository: &str) -> (String, String) {
    let agent = workspace_binary("kelev-agent");
    let said = Run::new(&agent).arg("version").run().ok().stdout;
    let version = said.split(' ').nth(1).unwrap().to_owned();
    let release = dir.join(format!("{repository}/releases/download/v{version}"));
    std::fs::create_dir_all(&release).unwrap();
    let file = format!("kelev-agent-{version}-x86_64-linux-musl");
    std::fs::copy(&agent, release.join(&file)).unwrap();
    let sums = Run::new("sha256sum")
        .arg(&file)
        .dir(&release)
        .run()
        .ok()
        .stdout;
    std::fs::write(release.join("SHA256SUMS"), &sums).unwrap();
    let sha256 = sums.split_whitespace().next().unwrap().to_owned();
    (version, sha256)
}

/// config.json as an operator would write it for this host: the repository's, with this test's
/// deploy keys, repository and the pin of the release [`publish_release`] made.
fn configure(
    config: &mut serde_json::Value,
    keys: &Path,
    repository: &str,
    version: &str,
    sha256: &str,
) {
    let public = |name: &str| {
        let private = keys.join(name);
        Run::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", name, "-f"])
            .arg(&private)
            .run()
            .ok();
        std::fs::read_to_string(private.with_extension("pub"))
            .unwrap()
            .trim()
            .to_owned()
    };
    config["deploy_keys"] = serde_json::json!({
        "ci": {"public_key": public("ci"), "verbs": ["*"], "projects": ["*"]},
        "fun-ci": {"public_key": public("fun-ci"), "verbs": ["deploy", "status"], "projects": ["fun-n-games"]},
    });
    config["github_repository"] = repository.into();
    config["agent"] = serde_json::json!({"version": version, "sha256": sha256});
}

/// What cloud-init does with `write_files`: each file at its path under `root`, with its
/// permissions and owner.
fn write_files(cloud: &Yaml, root: &Path) -> Vec<String> {
    let mut written = Vec::new();
    for file in cloud["write_files"].as_vec().expect("write_files") {
        let path = file["path"].as_str().unwrap();
        let dest = root.join(path.trim_start_matches('/'));
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::write(&dest, file["content"].as_str().unwrap()).unwrap();
        let mode = u32::from_str_radix(file["permissions"].as_str().unwrap(), 8).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(mode)).unwrap();
        Run::new("chown")
            .arg(file["owner"].as_str().unwrap())
            .arg(&dest)
            .run()
            .ok();
        written.push(path.to_owned());
    }
    written
}

/// Every line of `path` under the test root, sorted, without comments.
fn lines(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut lines: Vec<String> = text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#') && !l.trim().is_empty())
        .map(str::to_owned)
        .collect();
    lines.sort();
    lines
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Docker, sshd, moto and terraform: run scripts/test (cargo test --features e2e)"
)]
fn the_user_data_terraform_sends_makes_a_host_the_ci_key_reaches() {
    std::fs::create_dir_all(BASE).unwrap();
    let dir = tempfile::Builder::new()
        .prefix("userdata-")
        .tempdir_in(BASE)
        .unwrap();
    let root = dir.path().join("root");
    for d in [dir.path(), &root] {
        std::fs::create_dir_all(d).unwrap();
        // The deploy user reaches the agent, agent.json and the keys file through these.
        Run::new("chmod").arg("0755").arg(d).run().ok();
    }
    let keys = dir.path().join("keys");
    std::fs::create_dir_all(&keys).unwrap();

    // The release, and a loopback server standing in for github.com.
    let repository = "kelev-e2e/kelev";
    let releases = dir.path().join("releases");
    let (version, sha256) = publish_release(&releases, repository);
    let port = Port::hold();
    let port_number = port.number();
    let _server = start_daemon(
        &[
            "python3",
            "-m",
            "http.server",
            &port_number.to_string(),
            "--bind",
            "127.0.0.1",
            "--directory",
            releases.to_str().unwrap(),
        ],
        &dir.path().join("http.log"),
        port,
    );

    // config.json -> kelev gen-config -> the host module's inputs -> Terraform against moto.
    let work = tempfile::tempdir().unwrap();
    let host = Host::apply(work.path(), |c| {
        configure(c, &keys, repository, &version, &sha256)
    });
    // github.com cannot be served here: the one input changed is the release URL's origin, to
    // the loopback server's (same path), and the instance is applied again with it.
    let origin = format!("http://127.0.0.1:{port_number}/");
    let inputs = host.region.tfvars();
    assert!(inputs.contains("url     = \"https://github.com/kelev-e2e/kelev/releases/download/v"));
    host.host.write(
        "terragrunt.auto.tfvars",
        &inputs.replace("\"https://github.com/", &format!("\"{origin}")),
    );
    host.host.apply(&[]);
    // What EC2 hands cloud-init.
    let cloud_config = user_data(&host.moto, &host.instance_id());
    let config = &host.region.config;
    let (header, body) = cloud_config.split_once('\n').unwrap();
    assert_eq!(header, "#cloud-config");
    let cloud = YamlLoader::load_from_str(body).unwrap().remove(0);

    // cloud-init: write_files, then runcmd.
    let written = write_files(&cloud, &root);
    assert_eq!(
        written,
        [
            "/etc/kelev/bootstrap.json",
            "/opt/kelev/bootstrap/init.sh",
            "/opt/kelev/bootstrap/install-agent.sh",
            "/opt/kelev/bootstrap/probe.sh",
            "/opt/kelev/bootstrap/traefik/compose.yaml",
        ]
    );
    let runcmd: Vec<Vec<&str>> = cloud["runcmd"]
        .as_vec()
        .unwrap()
        .iter()
        .map(|c| {
            c.as_vec()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap())
                .collect()
        })
        .collect();
    assert_eq!(runcmd, [["/opt/kelev/bootstrap/init.sh"]]);
    let run = Run::new(repo().join("bootstrap/init_test.sh"))
        .arg("--run")
        .arg(&root)
        .env("DEPLOY_USER", DEPLOY_USER)
        .env("DEPLOY_GROUP", DEPLOY_USER)
        .run_within(Duration::from_secs(300))
        .ok();
    let log = format!("{}{}", run.stdout, run.stderr);
    println!("{log}");

    // The agent: downloaded from the loopback server, pinned by what gen-config wrote.
    let agent = root.join("usr/local/bin/kelev-agent");
    assert!(
        log.contains(&format!(
            "install-agent: installed kelev-agent {version} (commit "
        )),
        "{log}"
    );
    let installed = Run::new("sha256sum").arg(&agent).run().ok().stdout;
    assert!(installed.starts_with(&sha256), "{installed}");
    let settings: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("etc/kelev/bootstrap.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        settings["agent"],
        serde_json::json!({
            "version": version,
            "sha256": sha256,
            "url": format!("http://127.0.0.1:{port_number}/{repository}/releases/download/v{version}/kelev-agent-{version}-x86_64-linux-musl"),
        })
    );

    // The deploy user's files, agent.json, sshd, Traefik: from exactly what Terraform sent.
    let key_line = |name: &str| {
        let public = std::fs::read_to_string(keys.join(format!("{name}.pub"))).unwrap();
        format!(
            "restrict,command=\"/usr/local/bin/kelev-agent --key {name}\" {}",
            public.trim()
        )
    };
    let authorized = root.join(format!("etc/ssh/authorized_keys/{DEPLOY_USER}"));
    assert_eq!(lines(&authorized), [key_line("ci"), key_line("fun-ci")]);
    let agent_json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("etc/kelev/agent.json")).unwrap())
            .unwrap();
    assert_eq!(
        agent_json["keys"],
        serde_json::json!({
            "ci": {"verbs": ["*"], "projects": ["*"]},
            "fun-ci": {"verbs": ["deploy", "status"], "projects": ["fun-n-games"]},
        })
    );
    assert_eq!(agent_json["root"], "/srv/kelev");
    let dropin = root.join("etc/ssh/sshd_config.d/kelev.conf");
    let dropin_text = std::fs::read_to_string(&dropin).unwrap();
    assert!(dropin_text.contains(&format!(
        "Match User {DEPLOY_USER}\n    AuthorizedKeysFile /etc/ssh/authorized_keys/%u\n"
    )));
    assert_eq!(
        std::fs::read_to_string(root.join("opt/kelev/traefik/compose.yaml")).unwrap(),
        std::fs::read_to_string(repo().join("bootstrap/traefik/compose.yaml")).unwrap()
    );
    let env = lines(&root.join("opt/kelev/traefik/.env"));
    assert!(
        env.contains(&format!(
            "KELEV_ACME_EMAIL={}",
            config["alert_email"].as_str().unwrap()
        )),
        "{env:?}"
    );
    let owner = Run::new("stat")
        .args(["-c", "%U %a"])
        .arg(root.join("srv/kelev"))
        .run()
        .ok()
        .stdout;
    assert_eq!(owner.trim(), format!("{DEPLOY_USER} 750"));

    // A real sshd from the produced drop-in and authorized_keys.
    let etc = dir.path().join("sshd");
    std::fs::create_dir_all(&etc).unwrap();
    // Test root for /: the drop-in's keys file and the forced command's agent and its config.
    std::fs::write(
        etc.join("kelev.conf"),
        dropin_text.replace(
            "AuthorizedKeysFile /etc/ssh/",
            &format!("AuthorizedKeysFile {}/etc/ssh/", root.display()),
        ),
    )
    .unwrap();
    let agent_config = root.join("etc/kelev/agent-test-root.json");
    let mut copy = agent_json.clone();
    copy["root"] = root.join("srv/kelev").to_str().unwrap().into();
    std::fs::write(&agent_config, copy.to_string()).unwrap();
    let authorized_text = std::fs::read_to_string(&authorized).unwrap();
    std::fs::write(
        &authorized,
        authorized_text.replace(
            "command=\"/usr/local/bin/kelev-agent ",
            &format!(
                "command=\"{} --config {} ",
                agent.display(),
                agent_config.display()
            ),
        ),
    )
    .unwrap();
    let ssh_port = Port::hold();
    let ssh_port_number = ssh_port.number();
    std::fs::write(
        etc.join("sshd_config"),
        format!(
            "ListenAddress 127.0.0.1\nPort {ssh_port_number}\nHostKey {host_key}\nPidFile none\nUsePAM no\n\
             StrictModes yes\nLogLevel VERBOSE\nInclude {dropin}\n",
            host_key = root.join("etc/ssh/ssh_host_ed25519_key").display(),
            dropin = etc.join("kelev.conf").display(),
        ),
    )
    .unwrap();
    let _sshd = start_daemon(
        &[
            "/usr/sbin/sshd",
            "-D",
            "-e",
            "-f",
            etc.join("sshd_config").to_str().unwrap(),
        ],
        &etc.join("sshd.log"),
        ssh_port,
    );
    // The host key init.sh keeps on the data volume is the one CI pins.
    let host_key =
        std::fs::read_to_string(root.join("srv/ssh-host-keys/ssh_host_ed25519_key.pub")).unwrap();
    let known_hosts = etc.join("known_hosts");
    std::fs::write(
        &known_hosts,
        format!("[127.0.0.1]:{ssh_port_number} {}", host_key.trim()),
    )
    .unwrap();
    let ssh = |key: &str, command: &str| {
        Run::new("ssh")
            .args([
                "-F",
                "none",
                "-o",
                "BatchMode=yes",
                "-o",
                "IdentitiesOnly=yes",
            ])
            .args([
                "-o",
                "StrictHostKeyChecking=yes",
                "-p",
                &ssh_port_number.to_string(),
            ])
            .arg("-o")
            .arg(format!("UserKnownHostsFile={}", known_hosts.display()))
            .arg("-i")
            .arg(keys.join(key))
            .arg(format!("{DEPLOY_USER}@127.0.0.1"))
            .arg(command)
    };
    let limit = Duration::from_secs(60);
    let sshd_log = || std::fs::read_to_string(etc.join("sshd.log")).unwrap_or_default();
    let version_line = ssh("ci", "version").run_within(limit).ok().stdout;
    assert!(
        version_line.starts_with(&format!("kelev-agent {version} ")),
        "{version_line}\n{}",
        sshd_log()
    );
    let manifest = std::fs::read_to_string(repo().join("projects.json")).unwrap();
    ssh("ci", "manifest-put")
        .stdin(manifest)
        .run_within(limit)
        .ok();
    ssh("ci", "status --json")
        .run_within(limit)
        .ok()
        .stdout_has("\"fun-n-games\"");
    // Not a verb: the agent refuses it, and no shell ever sees it.
    ssh("ci", "touch /tmp/kelev-userdata-pwned")
        .run_within(limit)
        .code(64);
    assert!(!Path::new("/tmp/kelev-userdata-pwned").exists());
    // A verb the key may not use.
    ssh("fun-ci", "secrets fun-n-games")
        .run_within(limit)
        .code(77);

    // The repository's own config.json, as shipped, pins the example's placeholder: gen-config
    // writes its inputs (with a warning), and the module refuses them at plan time, on the
    // laptop, before any instance could boot without an agent.
    let example = Region::generate(&work.path().join("example"), |_| {});
    host.host.write("terragrunt.auto.tfvars", &example.tfvars());
    let refused = host.host.plan_exit(&[]);
    let said = refused
        .stderr
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        refused.code == Some(1)
            && said.contains("not the example config.json's placeholder of zeros"),
        "{}",
        refused.report()
    );
}
