//! Private repositories. Over smart HTTP the server answers 401 until it gets the token, as a
//! forge does; the agent sends `git-credentials/<project>.token` (or `default.token`) and never
//! shows it. Over ssh (a second sshd) it checks the server's host key and offers
//! `git-credentials/<project>.key`.

use std::path::{Path, PathBuf};

use kelev_e2e::{Run, World, DEPLOY_USER, GIT_HTTP_TOKEN};

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Docker, sshd and lighttpd: run scripts/test (cargo test --features e2e)"
)]
fn a_private_repository_is_fetched_with_its_token_and_only_then() {
    let mut world = World::new();
    let base = world.git_http();
    let site = world.site("priv", "private page\n");
    let mut entry = world.entry(&site);
    entry["repo"] = serde_json::json!(format!("{base}/private/{}.git", site.name));
    world.install_manifest(&world.manifest(&[entry]));
    let deploy = || world.ssh(format!("deploy {}", site.name)).run();
    let token_file = format!("{}.token", site.name);

    // No credential: refused with the way out.
    deploy()
        .code(1)
        .stderr_has("the repository needs credentials; put a token or deploy key in");

    // A wrong token: libgit2 asks again after each 401; the fourth answer is a refusal.
    world.put_credential(&token_file, "not-the-token\n", 0o600);
    deploy().code(1).stderr_has("credentials were refused");

    // The right token, readable by others: refused like an open ssh key, and not sent.
    world.put_credential(&token_file, &format!("{GIT_HTTP_TOKEN}\n"), 0o644);
    deploy()
        .code(1)
        .stderr_has("is open to other users (mode 0644); `chmod 600` it");
    assert!(world.status(&site.name)["containers"]
        .as_array()
        .unwrap()
        .is_empty());

    // Private to the deploy user: fetched, deployed, served.
    world.put_credential(&token_file, &format!("{GIT_HTTP_TOKEN}\n"), 0o600);
    let out = deploy().ok();
    assert_eq!(world.page(&site.name), "private page\n");

    // The fallback for every project, once the project's own file is gone.
    std::fs::remove_file(world.credential_file(&token_file)).unwrap();
    world.put_credential("default.token", &format!("{GIT_HTTP_TOKEN}\n"), 0o600);
    site.write("www/index.html", "private page 2\n");
    let next = site.commit("2");
    let second = world.ssh(format!("deploy {} {next}", site.name)).run().ok();
    assert_eq!(world.page(&site.name), "private page 2\n");

    // The token is in no output and in no audit line.
    let audit = std::fs::read_to_string(world.audit_log()).unwrap();
    for text in [
        &out.stdout,
        &out.stderr,
        &second.stdout,
        &second.stderr,
        &audit,
    ] {
        assert!(!text.contains(GIT_HTTP_TOKEN), "the token leaked:\n{text}");
    }
}

/// A line in the deploy user's `~/.ssh/known_hosts` (where libgit2 looks), taken out again when
/// dropped.
struct KnownHost {
    file: PathBuf,
    line: String,
}

impl KnownHost {
    fn add(line: &str) -> KnownHost {
        let home = Run::new("getent")
            .args(["passwd", DEPLOY_USER])
            .run()
            .ok()
            .stdout;
        let home = home.trim().split(':').nth(5).unwrap().to_owned();
        let dir = Path::new(&home).join(".ssh");
        let file = dir.join("known_hosts");
        Run::new("install")
            .args(["-d", "-m", "0700", "-o", DEPLOY_USER])
            .arg(&dir)
            .run()
            .ok();
        // Lines for the same `[127.0.0.1]:<port>` that a killed run left would contradict this
        // server's key.
        let host = line.split_whitespace().next().unwrap();
        let mut text: String = std::fs::read_to_string(&file)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.split_whitespace().next() != Some(host))
            .map(|l| format!("{l}\n"))
            .collect();
        text.push_str(line);
        text.push('\n');
        std::fs::write(&file, text).unwrap();
        Run::new("chown").arg(DEPLOY_USER).arg(&file).run().ok();
        KnownHost {
            file,
            line: line.to_owned(),
        }
    }
}

impl Drop for KnownHost {
    fn drop(&mut self) {
        let text = std::fs::read_to_string(&self.file).unwrap_or_default();
        let kept: String = text
            .lines()
            .filter(|l| *l != self.line)
            .map(|l| format!("{l}\n"))
            .collect();
        let _ = std::fs::write(&self.file, kept);
    }
}

/// Over ssh: the server's host key must already be known (no trust on first use), and the
/// deploy key must be the deploy user's alone.
#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Docker, sshd and lighttpd: run scripts/test (cargo test --features e2e)"
)]
fn a_private_repository_over_ssh_needs_a_known_host_and_its_deploy_key() {
    let mut world = World::new();
    let (base, known, key) = world.git_ssh();
    let site = world.site("sshpriv", "over ssh\n");
    // git-upload-pack runs as the deploy user and serves only a repository it owns.
    Run::new("chown")
        .args(["-R", DEPLOY_USER])
        .arg(&site.bare)
        .run()
        .ok();
    let mut entry = world.entry(&site);
    entry["repo"] = serde_json::json!(format!("{base}/{}.git", site.name));
    world.install_manifest(&world.manifest(&[entry]));
    let deploy = || world.ssh(format!("deploy {}", site.name)).run();
    let key_file = format!("{}.key", site.name);
    let private_key = std::fs::read_to_string(&key).unwrap();

    // An unknown server is refused before any key is offered.
    world.put_credential(&key_file, &private_key, 0o600);
    deploy().code(1).stderr_has("hostkey");

    let _known = KnownHost::add(&known);
    std::fs::remove_file(world.credential_file(&key_file)).unwrap();
    deploy()
        .code(1)
        .stderr_has("the repository needs credentials; put a token or deploy key in");

    world.put_credential(&key_file, &private_key, 0o640);
    deploy()
        .code(1)
        .stderr_has("is open to other users (mode 0640); `chmod 600` it");

    world.put_credential(&key_file, &private_key, 0o600);
    deploy().ok();
    assert_eq!(world.page(&site.name), "over ssh\n");
}
