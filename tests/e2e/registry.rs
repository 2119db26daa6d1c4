//! Prebuilt images: a real registry (Distribution, TLS, htpasswd) on loopback, images built and
//! pushed in the test with the real docker CLI, pulled by the agent.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use kelev_e2e::{Output, Registry, Remote, Run, World, REGISTRY_PASSWORD, REGISTRY_USER};

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Docker, sshd, moto and terraform: run scripts/test (cargo test --features e2e)"
)]
fn the_test_registry_takes_pushes_from_its_user_alone() {
    let registry = Registry::start();
    let context = tempfile::tempdir().unwrap();
    std::fs::write(
        context.path().join("Dockerfile"),
        "FROM scratch\nCOPY page /page\n",
    )
    .unwrap();
    std::fs::write(context.path().join("page"), "one\n").unwrap();
    let reference = format!("{}/probe:one", registry.host());
    let pusher = registry.pusher();
    let digest = registry.build_and_push(&pusher, context.path(), &reference);
    assert!(digest.starts_with("sha256:"), "{digest}");

    // Without a login the registry gives nothing (the engine, which takes 127.0.0.0/8 as
    // insecure, then tries plain HTTP too and reports that failure last).
    let anonymous = tempfile::tempdir().unwrap();
    Run::new("docker")
        .arg("--config")
        .arg(anonymous.path())
        .args(["pull", &reference])
        .run()
        .code(1);
    Run::new("docker")
        .arg("--config")
        .arg(&pusher)
        .args(["pull", &format!("{}/probe@{digest}", registry.host())])
        .run()
        .ok();
    Run::new("docker")
        .args(["rmi", &format!("{}/probe@{digest}", registry.host())])
        .run()
        .ok();
}

/// A world whose sites take their images from a fresh registry, the key `ci` allowed
/// `registry-login` (a `"*"` does not reach it). Fields drop in order: the world, and the
/// containers that run pulled images, before the registry.
struct Prebuilt {
    world: World,
    sites: Vec<Remote>,
    pusher: PathBuf,
    registry: Registry,
}

impl Prebuilt {
    /// Sites for `shorts`, the first logged in to the registry; `config` goes into agent.json.
    fn new(shorts: &[&str], config: serde_json::Value) -> Prebuilt {
        let registry = Registry::start();
        let pages: Vec<(&str, &str)> = shorts.iter().map(|s| (*s, "first\n")).collect();
        let (world, sites) = World::with_sites(&pages);
        let mut config = config;
        config["keys"] =
            serde_json::json!({"ci": {"verbs": ["*", "registry-login"], "projects": ["*"]}});
        world.write_config(&config);
        let prebuilt = Prebuilt {
            pusher: registry.pusher(),
            world,
            sites,
            registry,
        };
        prebuilt.login(&prebuilt.sites[0].name).ok();
        prebuilt
    }

    fn login(&self, project: &str) -> Output {
        self.world
            .ssh(format!(
                "registry-login {project} 127.0.0.1 --port {}",
                self.registry.port()
            ))
            .stdin(format!("{REGISTRY_USER}\n{REGISTRY_PASSWORD}\n"))
            .run()
    }

    fn repository(&self, site: &Remote) -> String {
        format!("{}/{}", self.registry.host(), site.name)
    }

    /// `site` as a project whose CI builds its image: the compose file names `image` (tagged
    /// `${KELEV_COMMIT}`, or `tag`) and builds nothing; the page says `page`. Commits, builds
    /// and pushes the image under `tag` (the commit when `None`); the commit and the digest.
    fn push_commit(&self, site: &Remote, page: &str, tag: Option<&str>) -> (String, String) {
        let repository = self.repository(site);
        site.write("www/index.html", page);
        let named = format!("{repository}:{}", tag.unwrap_or("${KELEV_COMMIT}"));
        site.write("compose.yaml", &compose(&named));
        let commit = site.commit(page);
        let pushed = format!("{repository}:{}", tag.unwrap_or(&commit));
        let digest = self.push(site, &pushed);
        (commit, digest)
    }

    /// Build `site`'s working tree and push it as `reference`; the digest.
    fn push(&self, site: &Remote, reference: &str) -> String {
        self.registry
            .build_and_push(&self.pusher, &site.work, reference)
    }

    fn deploy(&self, site: &Remote, commit: &str) -> Output {
        self.world
            .ssh(format!("deploy {} {commit}", site.name))
            .run()
    }

    /// What `state.json` records as the image `web` runs.
    fn recorded_image(&self, site: &Remote) -> String {
        let state = std::fs::read(self.world.state_file(&site.name)).unwrap();
        let state: serde_json::Value = serde_json::from_slice(&state).unwrap();
        state["running"]["images"]["web"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
}

/// A compose file whose `web` runs `image` and builds nothing.
fn compose(image: &str) -> String {
    format!("services:\n  web:\n    image: {image}\n    init: true\n")
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Docker, sshd, moto and terraform: run scripts/test (cargo test --features e2e)"
)]
fn deploy_pulls_and_rollback_needs_no_registry() {
    let mut p = Prebuilt::new(&["pull"], serde_json::json!({}));
    let site = &p.sites[0];
    let (name, repository) = (&site.name, p.repository(site));

    // Named, the login is stored private and never printed; `"*"` does not reach it.
    let out = p.login(name).ok();
    assert_eq!(
        out.stdout,
        format!(
            "registry login set for {name} at {}: its pulls use it, no other project's\n",
            p.registry.host()
        )
    );
    assert!(!out.stderr.contains(REGISTRY_PASSWORD), "{}", out.report());
    let logins = p.world.root.join("registry").join(name);
    let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&logins), 0o700);
    assert_eq!(mode(&logins.join("config.json")), 0o600);
    p.world.write_config(&serde_json::json!({}));
    p.login(name).code(77);

    let (a, digest_a) = p.push_commit(site, "A\n", None);
    let out = p.deploy(site, &a).ok();
    assert!(
        out.stdout.contains(&format!("pulling {name} at {a}")),
        "{}",
        out.report()
    );
    assert_eq!(p.world.page(name), "A\n");
    assert_eq!(p.recorded_image(site), format!("{repository}@{digest_a}"));
    p.deploy(site, &a).ok().stdout_has("unchanged");

    let (b, digest_b) = p.push_commit(site, "B\n", None);
    p.deploy(site, &b).ok();
    assert_eq!(p.world.page(name), "B\n");
    assert_eq!(p.recorded_image(site), format!("{repository}@{digest_b}"));

    // The registry gone, the kept image of A serves again.
    p.registry.stop();
    let out = p.world.ssh(format!("rollback {name}")).run().ok();
    assert!(!out.stdout.contains("pulling"), "{}", out.report());
    assert_eq!(p.world.page(name), "A\n");
    assert_eq!(p.recorded_image(site), format!("{repository}@{digest_a}"));
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Docker, sshd, moto and terraform: run scripts/test (cargo test --features e2e)"
)]
fn a_failed_pull_keeps_the_old_release_serving() {
    let p = Prebuilt::new(&["keep"], serde_json::json!({}));
    let site = &p.sites[0];
    let name = &site.name;
    let (a, _) = p.push_commit(site, "A\n", None);
    p.deploy(site, &a).ok();

    // B's image was never pushed: CI has not got that far.
    site.write("www/index.html", "B\n");
    let b = site.commit("B");
    let out = p.deploy(site, &b).code(1);
    let errors: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("error:"))
        .collect();
    assert_eq!(errors.len(), 1, "{}", out.report());
    assert!(
        errors[0].starts_with(&format!(
            "error: project `{name}`: `compose pull --ignore-buildable --policy missing` failed"
        )),
        "{}",
        out.report()
    );
    assert_eq!(p.world.page(name), "A\n");
    assert_eq!(p.world.status(name)["commit"], a.as_str());
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Docker, sshd, moto and terraform: run scripts/test (cargo test --features e2e)"
)]
fn a_project_cannot_pull_with_another_projects_login() {
    let p = Prebuilt::new(&["owner", "other"], serde_json::json!({}));
    let (owner, other) = (&p.sites[0], &p.sites[1]);
    let (a, _) = p.push_commit(owner, "private\n", None);
    p.deploy(owner, &a).ok();
    assert_eq!(p.world.page(&owner.name), "private\n");
    p.world.ssh(format!("deploy {}", other.name)).run().ok();

    // `other` names the owner's private image; the engine has it, so it must ask the registry
    // (`--force`), and `other` has no login there.
    other.write(
        "compose.yaml",
        &compose(&format!("{}:{a}", p.repository(owner))),
    );
    let c = other.commit("the owner's image");
    p.world
        .ssh(format!("deploy {} {c} --force", other.name))
        .run()
        .code(1)
        .stderr_has("`compose pull --ignore-buildable --policy always` failed");
    assert_eq!(p.world.page(&other.name), "first\n");
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Docker, sshd, moto and terraform: run scripts/test (cargo test --features e2e)"
)]
fn a_moved_tag_is_seen_when_deployed_by_digest_or_forced() {
    let p = Prebuilt::new(&["moved"], serde_json::json!({}));
    let site = &p.sites[0];
    let (name, repository) = (&site.name, p.repository(site));

    // A tag that CI moves: deployed as the tag, a deploy of the same commit is `unchanged`
    // and `--force` asks the registry again.
    let (a, _) = p.push_commit(site, "A\n", Some("stable"));
    p.deploy(site, &a).ok();
    assert_eq!(p.world.page(name), "A\n");
    site.write("www/index.html", "B\n");
    let digest_b = p.push(site, &format!("{repository}:stable"));
    p.deploy(site, &a).ok().stdout_has("unchanged");
    p.world.ssh(format!("deploy {name} {a} --force")).run().ok();
    assert_eq!(p.world.page(name), "B\n");
    assert_eq!(p.recorded_image(site), format!("{repository}@{digest_b}"));

    // Named by digest, the moved tag is never guessed at: the compose file says which.
    site.write("www/index.html", "C\n");
    let digest_c = p.push(site, &format!("{repository}:stable"));
    site.write(
        "compose.yaml",
        &compose(&format!("{repository}@{digest_c}")),
    );
    let c = site.commit("pinned");
    p.deploy(site, &c).ok();
    assert_eq!(p.world.page(name), "C\n");
    assert_eq!(p.recorded_image(site), format!("{repository}@{digest_c}"));
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Docker, sshd, moto and terraform: run scripts/test (cargo test --features e2e)"
)]
fn pruning_removes_pulled_images_no_longer_kept() {
    let p = Prebuilt::new(&["prune"], serde_json::json!({"keep_releases": 1}));
    let site = &p.sites[0];
    let repository = p.repository(site);
    let present = |commit: &str| {
        Run::new("docker")
            .args(["image", "inspect", &format!("{repository}:{commit}")])
            .run()
            .code
            == Some(0)
    };
    let (a, _) = p.push_commit(site, "A\n", None);
    p.deploy(site, &a).ok();
    assert!(present(&a));
    let (b, _) = p.push_commit(site, "B\n", None);
    p.deploy(site, &b).ok();
    assert!(!present(&a), "A's pulled image is pruned with its release");
    assert!(present(&b));
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Docker, sshd, moto and terraform: run scripts/test (cargo test --features e2e)"
)]
fn the_project_workflow_template_in_ci_md_passes_actionlint() {
    let docs =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/ci.md")).unwrap();
    let (_, section) = docs
        .split_once("\n## A project repository that builds its own images\n")
        .expect("docs/ci.md has the section");
    let section = section.split("\n## ").next().unwrap();
    // The second YAML block: the first is the compose file.
    let workflow = section
        .split("```yaml\n")
        .nth(2)
        .and_then(|block| block.split_once("```"))
        .map(|(yaml, _)| yaml)
        .expect("the template's YAML block");
    assert!(workflow.starts_with("name: image\n"), "{workflow}");
    let repo = tempfile::tempdir().unwrap();
    let workflows = repo.path().join(".github/workflows");
    std::fs::create_dir_all(&workflows).unwrap();
    std::fs::write(workflows.join("image.yml"), workflow).unwrap();
    // Where scripts/setup installed it: the scripts directory of the python3 on PATH (the
    // one scripts/test runs too).
    let scripts = std::process::Command::new("python3")
        .args([
            "-c",
            "import sysconfig; print(sysconfig.get_path('scripts'))",
        ])
        .output()
        .expect("python3 on PATH");
    let actionlint =
        Path::new(String::from_utf8(scripts.stdout).unwrap().trim()).join("actionlint");
    Run::new(actionlint)
        .arg(".github/workflows/image.yml")
        .dir(repo.path())
        .run()
        .ok();
}
