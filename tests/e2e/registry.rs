//! Prebuilt images: a real registry (Distribution, TLS, htpasswd) on loopback, images built and
//! pushed in the test with the real docker CLI, pulled by the agent.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

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

/// The key `ci` may run `registry-login` too (a `"*"` does not reach it).
fn allow_registry_login(world: &World) {
    world.write_config(&serde_json::json!({"keys": {
        "ci": {"verbs": ["*", "registry-login"], "projects": ["*"]},
    }}));
}

/// `site` as a project whose CI builds its image: the compose file names `image` (written
/// with `${KELEV_COMMIT}` for its tag, or whatever `tag` says) and builds nothing; the page
/// says `page`. Commits, then builds and pushes the image under `tag` (the commit when
/// `None`); returns the commit and the pushed digest.
fn push_commit(
    registry: &Registry,
    pusher: &Path,
    site: &Remote,
    page: &str,
    tag: Option<&str>,
) -> (String, String) {
    let repository = format!("{}/{}", registry.host(), site.name);
    let named = tag.unwrap_or("${KELEV_COMMIT}");
    site.write("www/index.html", page);
    site.write(
        "compose.yaml",
        &format!("services:\n  web:\n    image: {repository}:{named}\n    init: true\n"),
    );
    let commit = site.commit(page);
    let pushed = format!("{repository}:{}", tag.unwrap_or(&commit));
    let digest = registry.build_and_push(pusher, &site.work, &pushed);
    (commit, digest)
}

fn login(world: &World, project: &str, registry: &Registry) -> Output {
    world
        .ssh(format!(
            "registry-login {project} 127.0.0.1 --port {}",
            registry.port()
        ))
        .stdin(format!("{REGISTRY_USER}\n{REGISTRY_PASSWORD}\n"))
        .run()
}

fn recorded_image(world: &World, project: &str) -> String {
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(world.state_file(project)).unwrap()).unwrap();
    state["running"]["images"]["web"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Docker, sshd, moto and terraform: run scripts/test (cargo test --features e2e)"
)]
fn deploy_pulls_and_rollback_needs_no_registry() {
    let mut registry = Registry::start();
    let pusher = registry.pusher();
    let (world, site) = World::with_site("pull", "first\n");
    let name = site.name.clone();
    let repository = format!("{}/{name}", registry.host());

    // `"*"` does not reach the login; named, it is stored private and never printed.
    login(&world, &name, &registry).code(77);
    allow_registry_login(&world);
    let out = login(&world, &name, &registry).ok();
    assert_eq!(
        out.stdout,
        format!(
            "registry login set for {name} at {}: its pulls use it, no other project's\n",
            registry.host()
        )
    );
    assert!(!out.stderr.contains(REGISTRY_PASSWORD), "{}", out.report());
    let logins = world.root.join("registry").join(&name);
    let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&logins), 0o700);
    assert_eq!(mode(&logins.join("config.json")), 0o600);

    let (a, digest_a) = push_commit(&registry, &pusher, &site, "A\n", None);
    let out = world.ssh(format!("deploy {name} {a}")).run().ok();
    assert!(
        out.stdout.contains(&format!("pulling {name} at {a}")),
        "{}",
        out.report()
    );
    assert_eq!(world.page(&name), "A\n");
    assert_eq!(
        recorded_image(&world, &name),
        format!("{repository}@{digest_a}")
    );
    world
        .ssh(format!("deploy {name} {a}"))
        .run()
        .ok()
        .stdout_has("unchanged");

    let (b, digest_b) = push_commit(&registry, &pusher, &site, "B\n", None);
    world.ssh(format!("deploy {name} {b}")).run().ok();
    assert_eq!(world.page(&name), "B\n");
    assert_eq!(
        recorded_image(&world, &name),
        format!("{repository}@{digest_b}")
    );

    // The registry gone, the kept image of A serves again.
    registry.stop();
    let out = world.ssh(format!("rollback {name}")).run().ok();
    assert!(!out.stdout.contains("pulling"), "{}", out.report());
    assert_eq!(world.page(&name), "A\n");
    assert_eq!(
        recorded_image(&world, &name),
        format!("{repository}@{digest_a}")
    );
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Docker, sshd, moto and terraform: run scripts/test (cargo test --features e2e)"
)]
fn a_failed_pull_keeps_the_old_release_serving() {
    let registry = Registry::start();
    let pusher = registry.pusher();
    let (world, site) = World::with_site("keep", "first\n");
    let name = site.name.clone();
    allow_registry_login(&world);
    login(&world, &name, &registry).ok();
    let (a, _) = push_commit(&registry, &pusher, &site, "A\n", None);
    world.ssh(format!("deploy {name} {a}")).run().ok();

    // B's image was never pushed: CI has not got that far.
    site.write("www/index.html", "B\n");
    let b = site.commit("B");
    let out = world.ssh(format!("deploy {name} {b}")).run().code(1);
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
    assert_eq!(world.page(&name), "A\n");
    assert_eq!(world.status(&name)["commit"], a.as_str());
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Docker, sshd, moto and terraform: run scripts/test (cargo test --features e2e)"
)]
fn a_project_cannot_pull_with_another_projects_login() {
    let registry = Registry::start();
    let pusher = registry.pusher();
    let (world, sites) = World::with_sites(&[("owner", "o\n"), ("other", "x\n")]);
    let [owner, other] = <[_; 2]>::try_from(sites).ok().unwrap();
    allow_registry_login(&world);
    login(&world, &owner.name, &registry).ok();
    let (a, _) = push_commit(&registry, &pusher, &owner, "private\n", None);
    world.ssh(format!("deploy {} {a}", owner.name)).run().ok();
    assert_eq!(world.page(&owner.name), "private\n");
    world.ssh(format!("deploy {}", other.name)).run().ok();

    // `other` names the owner's private image; the engine has it, so it must ask the registry
    // (`--force`), and `other` has no login there.
    let image = format!("{}/{}:{a}", registry.host(), owner.name);
    other.write(
        "compose.yaml",
        &format!("services:\n  web:\n    image: {image}\n    init: true\n"),
    );
    let c = other.commit("the owner's image");
    world
        .ssh(format!("deploy {} {c} --force", other.name))
        .run()
        .code(1)
        .stderr_has("`compose pull --ignore-buildable --policy always` failed");
    assert_eq!(world.page(&other.name), "x\n", "{}", other.name);
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Docker, sshd, moto and terraform: run scripts/test (cargo test --features e2e)"
)]
fn a_moved_tag_is_seen_when_deployed_by_digest_or_forced() {
    let registry = Registry::start();
    let pusher = registry.pusher();
    let (world, site) = World::with_site("moved", "first\n");
    let name = site.name.clone();
    let repository = format!("{}/{name}", registry.host());
    allow_registry_login(&world);
    login(&world, &name, &registry).ok();

    // A tag that CI moves: deployed as the tag, a deploy of the same commit is `unchanged`
    // and `--force` asks the registry again.
    let (a, _) = push_commit(&registry, &pusher, &site, "A\n", Some("stable"));
    world.ssh(format!("deploy {name} {a}")).run().ok();
    assert_eq!(world.page(&name), "A\n");
    site.write("www/index.html", "B\n");
    let digest_b = registry.build_and_push(&pusher, &site.work, &format!("{repository}:stable"));
    world
        .ssh(format!("deploy {name} {a}"))
        .run()
        .ok()
        .stdout_has("unchanged");
    world.ssh(format!("deploy {name} {a} --force")).run().ok();
    assert_eq!(world.page(&name), "B\n");
    assert_eq!(
        recorded_image(&world, &name),
        format!("{repository}@{digest_b}")
    );

    // Named by digest, the moved tag is never guessed at: the compose file says which.
    site.write("www/index.html", "C\n");
    let digest_c = registry.build_and_push(&pusher, &site.work, &format!("{repository}:stable"));
    site.write(
        "compose.yaml",
        &format!("services:\n  web:\n    image: {repository}@{digest_c}\n    init: true\n"),
    );
    let c = site.commit("pinned");
    world.ssh(format!("deploy {name} {c}")).run().ok();
    assert_eq!(world.page(&name), "C\n");
    assert_eq!(
        recorded_image(&world, &name),
        format!("{repository}@{digest_c}")
    );
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Docker, sshd, moto and terraform: run scripts/test (cargo test --features e2e)"
)]
fn pruning_removes_pulled_images_no_longer_kept() {
    let registry = Registry::start();
    let pusher = registry.pusher();
    let (world, site) = World::with_site("prune", "first\n");
    let name = site.name.clone();
    world.write_config(&serde_json::json!({
        "keep_releases": 1,
        "keys": {"ci": {"verbs": ["*", "registry-login"], "projects": ["*"]}},
    }));
    login(&world, &name, &registry).ok();
    let repository = format!("{}/{name}", registry.host());
    let present = |commit: &str| {
        Run::new("docker")
            .args(["image", "inspect", &format!("{repository}:{commit}")])
            .run()
            .code
            == Some(0)
    };
    let (a, _) = push_commit(&registry, &pusher, &site, "A\n", None);
    world.ssh(format!("deploy {name} {a}")).run().ok();
    assert!(present(&a));
    let (b, _) = push_commit(&registry, &pusher, &site, "B\n", None);
    world.ssh(format!("deploy {name} {b}")).run().ok();
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
