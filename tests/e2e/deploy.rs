//! Deploying through sshd: content served, changes picked up, unchanged skipped, routing set.

use kelev_e2e::docker;
use kelev_e2e::{healthchecked, Run, World, ABSENT_COMMIT};

/// deploy A, then B: the page changes; B again: `unchanged` and no image is built.
#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Docker, sshd and lighttpd: run scripts/test (cargo test --features e2e)"
)]
fn deploy_change_and_unchanged() {
    let (world, site) = World::with_site("fun", "version A\n");
    let a = site.head();
    let name = &site.name;

    let out = world.ssh(format!("deploy {name} {a}")).run().ok();
    assert_eq!(
        out.last_line().split(' ').take(4).collect::<Vec<_>>(),
        ["deployed", name, "at", &a]
    );
    assert_eq!(world.page(name), "version A\n");

    site.write("www/index.html", "version B\n");
    let b = site.commit("b");
    world
        .ssh(format!("deploy {name} {b}"))
        .run()
        .ok()
        .stdout_has("building");
    assert_eq!(world.page(name), "version B\n");

    let images_before = world.images(name);
    let out = world.ssh(format!("deploy {name} {b}")).run().ok();
    assert!(
        out.last_line()
            .starts_with(&format!("unchanged {name} at {b}")),
        "{}",
        out.report()
    );
    out.stdout_lacks("building");
    assert_eq!(world.images(name), images_before, "no image may be built");

    // --force builds again even though nothing changed.
    world
        .ssh(format!("deploy {name} {b} --force"))
        .run()
        .ok()
        .stdout_has("building");

    // Without a commit, the tip of `ref` (main) is deployed.
    site.write("www/index.html", "version C\n");
    let c = site.commit("c");
    let out = world.ssh(format!("deploy {name} --json")).run().ok();
    let report = out.json();
    assert_eq!(report["result"], "deployed");
    assert_eq!(report["commit"], c.as_str());
    assert_eq!(report["project"], name.as_str());
    assert_eq!(report["content_hash"].as_str().unwrap().len(), 64);
    assert!(
        !out.stdout.contains("building"),
        "progress goes to stderr with --json"
    );
    assert!(out.stderr.contains("building"));
    assert_eq!(world.page(name), "version C\n");

    // Earlier releases' images survive: one tag per commit.
    let tags = docker(&[
        "images",
        "--format",
        "{{.Tag}}",
        &format!("kelev-{name}-web"),
    ]);
    for commit in [&a, &b, &c] {
        assert!(
            tags.contains(commit.as_str()),
            "image for {commit} kept: {tags}"
        );
    }

    // An absent commit fails (1) and leaves C serving.
    world
        .ssh(format!("deploy {name} {ABSENT_COMMIT}"))
        .run()
        .code(1)
        .stderr_has("is not in");
    assert_eq!(world.page(name), "version C\n");
    assert_eq!(world.status(name)["commit"], c.as_str());
}

/// `clone` then `rebuild` ends where `deploy` ends.
#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Docker, sshd and lighttpd: run scripts/test (cargo test --features e2e)"
)]
fn clone_then_rebuild_equals_deploy() {
    let mut world = World::new();
    let one = world.site("one", "same\n");
    let two = world.site("two", "same\n");
    // Same tree in both repositories.
    let (c1, c2) = (one.head(), two.head());
    world.install_manifest(&world.manifest(&[world.entry(&one), world.entry(&two)]));

    world.ssh(format!("deploy {} {c1}", one.name)).run().ok();
    world
        .ssh(format!("clone {} {c2}", two.name))
        .run()
        .ok()
        .stdout_has(&format!("cloned {} at {c2}", two.name));
    // After clone: checked out, not running.
    let status = world.status(&two.name);
    assert_eq!(status["checkout"], c2.as_str());
    assert_eq!(status["state"], "not-deployed");
    world
        .ssh(format!("rebuild {}", two.name))
        .run()
        .ok()
        .stdout_has("rebuilt");

    let (s1, s2) = (world.status(&one.name), world.status(&two.name));
    for field in ["content_hash", "state"] {
        assert_eq!(s1[field], s2[field], "{field}");
    }
    assert_eq!(s1["containers"], s2["containers"]);
    assert_eq!(s2["commit"], s2["checkout"]);
    assert_eq!(world.page(&one.name), world.page(&two.name));
    let override_of = |name: &str, commit: &str| {
        let text = std::fs::read_to_string(world.override_file(name, commit)).unwrap();
        // Traefik's router is named `<project>-<hex>`, the hex of routing inputs that hold
        // the project's name.
        let route = text
            .split("traefik.http.routers.")
            .nth(1)
            .and_then(|rest| rest.split('.').next())
            .expect("a router label")
            .to_owned();
        text.replace(&route, "ROUTE")
            .replace(name, "NAME")
            .replace(commit, "COMMIT")
    };
    assert_eq!(override_of(&one.name, &c1), override_of(&two.name, &c2));
}

/// Smart HTTP: the repository is fetched through lighttpd + git http-backend.
#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Docker, sshd and lighttpd: run scripts/test (cargo test --features e2e)"
)]
fn deploy_over_smart_http() {
    let mut world = World::new();
    let site = world.site("http", "over http\n");
    let base = world.git_http();
    let mut entry = world.entry(&site);
    entry["repo"] = serde_json::json!(format!("{base}/{}.git", site.name));
    world.install_manifest(&world.manifest(&[entry]));
    world.ssh(format!("deploy {}", site.name)).run().ok();
    assert_eq!(world.page(&site.name), "over http\n");
    site.write("www/index.html", "over http 2\n");
    let next = site.commit("2");
    world.ssh(format!("deploy {} {next}", site.name)).run().ok();
    assert_eq!(world.page(&site.name), "over http 2\n");

    // The mirror fetches tips only (depth 1). A commit that is no tip is then not there:
    // the agent asks for it, and where the server will not hand out bare objects
    // (git http-backend's default), fetches the history it lacks.
    site.write("www/index.html", "over http 3\n");
    site.commit("3");
    let mirror = world.mirror_dir(&site.name);
    assert!(mirror.join("shallow").is_file(), "the mirror is shallow");
    let first = {
        let out = kelev_e2e::Run::new("git")
            .arg("-C")
            .arg(&site.bare)
            .args(["rev-list", "--max-parents=0", "HEAD"])
            .run()
            .ok();
        out.stdout.trim().to_owned()
    };
    world
        .ssh(format!("deploy {} {first}", site.name))
        .run()
        .ok();
    assert_eq!(world.page(&site.name), "over http\n");
}

/// Compose sees KELEV_PROJECT, KELEV_COMMIT and KELEV_DATA_DIR, and nothing of the SSH
/// session's environment.
#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Docker, sshd and lighttpd: run scripts/test (cargo test --features e2e)"
)]
fn compose_gets_only_the_documented_environment() {
    let (world, site) = World::with_site("env", "env\n");
    site.write(
        "compose.yaml",
        r#"services:
  web:
    build: .
    init: true
    environment:
      KP: ${KELEV_PROJECT}
      KC: ${KELEV_COMMIT}
      KD: ${KELEV_DATA_DIR}
      LEAK: ${SSH_CONNECTION:-none}/${SSH_ORIGINAL_COMMAND:-none}/${USER:-none}/${LANG:-none}
    volumes:
      - ${KELEV_DATA_DIR}:/data
"#,
    );
    let commit = site.commit("env");
    let name = site.name.clone();
    world
        .ssh_base("ci")
        .args(["-o", "SendEnv=LANG"])
        .arg(format!("deploy {name}"))
        .env("LANG", "de_DE.UTF-8")
        .run()
        .ok();

    let env: Vec<String> = serde_json::from_str(&docker(&[
        "inspect",
        "-f",
        "{{json .Config.Env}}",
        &format!("{name}-web-1"),
    ]))
    .unwrap();
    let data = world.data_dir(&name);
    assert!(env.contains(&format!("KP={name}")), "{env:?}");
    assert!(env.contains(&format!("KC={commit}")), "{env:?}");
    assert!(env.contains(&format!("KD={}", data.display())), "{env:?}");
    assert!(
        env.contains(&"LEAK=none/none/none/none".to_owned()),
        "{env:?}"
    );

    std::fs::write(data.join("probe.txt"), "from the host").unwrap();
    let seen = docker(&[
        "exec",
        &format!("{name}-web-1"),
        "/bin/busybox",
        "cat",
        "/data/probe.txt",
    ]);
    assert_eq!(seen, "from the host");
}

/// Only `keep_releases` releases stay on disk, the running one always among them.
#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Docker, sshd and lighttpd: run scripts/test (cargo test --features e2e)"
)]
fn old_releases_are_pruned() {
    let mut world = World::new();
    world.write_config(&serde_json::json!({"keep_releases": 2}));
    let site = world.site("prune", "0\n");
    world.install_manifest(&world.manifest(&[world.entry(&site)]));
    let mut commits = vec![site.head()];
    for i in 1..4 {
        site.write("www/index.html", &format!("{i}\n"));
        commits.push(site.commit(&i.to_string()));
    }
    for commit in &commits {
        world
            .ssh(format!("deploy {} {commit}", site.name))
            .run()
            .ok();
    }
    let releases = world.releases_dir(&site.name);
    let mut kept: Vec<String> = std::fs::read_dir(&releases)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    kept.sort();
    let mut expected = vec![commits[2].clone(), commits[3].clone()];
    expected.sort();
    assert_eq!(kept, expected);
    assert_eq!(world.page(&site.name), "3\n");
    // Their images go with them; the kept releases' images stay.
    let images = world.images(&site.name).join("\n");
    for (i, commit) in commits.iter().enumerate() {
        assert_eq!(
            images.contains(commit.as_str()),
            i >= 2,
            "image of release {i}: {images}"
        );
    }
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Docker, sshd and lighttpd: run scripts/test (cargo test --features e2e)"
)]
fn unhealthy_release_is_replaced_by_the_running_one() {
    let (world, site) = World::with_site("health", "good\n");
    site.write("compose.yaml", &healthchecked("/ok"));
    site.write("www/ok", "ok\n");
    let good = site.commit("healthy");
    let name = site.name.clone();
    world.ssh(format!("deploy {name}")).run().ok();
    assert_eq!(world.status(&name)["containers"][0]["health"], "healthy");

    // The next release serves no /ok: its healthcheck fails.
    std::fs::remove_file(site.work.join("www/ok")).unwrap();
    site.write("www/index.html", "broken\n");
    let bad = site.commit("unhealthy");
    let out = world.ssh(format!("deploy {name} {bad}")).run().code(1);
    let out = out.stderr_has("did not come up: `web` is unhealthy");
    assert!(out.stdout.contains("putting back"), "{}", out.report());
    assert!(
        out.stdout.contains("last 20 log lines of `web`"),
        "{}",
        out.report()
    );
    assert_eq!(world.page(&name), "good\n");
    let status = world.status(&name);
    assert_eq!(status["commit"], good.as_str());
    assert_eq!(status["checkout"], good.as_str());
    assert_eq!(status["state"], "running");

    // A release that crashes on start is refused the same way.
    site.write("Dockerfile", "FROM scratch\nCOPY busybox /bin/busybox\nCOPY www /www\nCMD [\"/bin/busybox\", \"false\"]\n");
    let crashing = site.commit("crash");
    world
        .ssh(format!("deploy {name} {crashing}"))
        .run()
        .code(1)
        .stderr_has("did not come up");
    assert_eq!(world.page(&name), "good\n");
    assert_eq!(world.status(&name)["commit"], good.as_str());
}

/// The agent checks the shared network once and keeps a stamp; if the network is removed
/// afterwards (by hand, once no container used it), the next deploy makes it again.
#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Docker, sshd and lighttpd: run scripts/test (cargo test --features e2e)"
)]
fn a_removed_network_is_made_again() {
    let (world, site) = World::with_site("net", "one\n");
    let network = world.name("net-web");
    world.write_config(&serde_json::json!({"traefik": {"network": network}}));
    let name = &site.name;
    world.ssh(format!("deploy {name}")).run().ok();
    assert!(world
        .locks_dir()
        .join(format!(".network-{network}.made"))
        .is_file());

    site.write("www/index.html", "two\n");
    let two = site.commit("two");
    world
        .ssh(format!("deploy {name} {two}"))
        .run()
        .ok()
        .stdout_lacks("is gone");

    Run::new("docker")
        .args(["compose", "-p", name, "down"])
        .dir("/")
        .run()
        .ok();
    docker(&["network", "rm", &network]);
    site.write("www/index.html", "three\n");
    let three = site.commit("three");
    world
        .ssh(format!("deploy {name} {three}"))
        .run()
        .ok()
        .stdout_has(&format!("the network `{network}` is gone; making it again"));
    let ip = world.ip(name, &network);
    assert_eq!(kelev_e2e::http_get(&format!("{ip}:80")), "three\n");
    docker(&["compose", "-p", name, "down"]);
    docker(&["network", "rm", &network]);
}
