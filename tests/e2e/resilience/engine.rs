//! The Docker engine unreachable (69, nothing touched) or stopped in the middle of a build: a clear error and exit code, nothing of
//! the agent's lost, and once the engine is back the old release serves and the next deploy
//! works. The test runs its own dockerd (own socket, data and exec roots), so stopping it
//! disturbs nothing else on the machine; that engine also shows the build cache pruned.

use std::time::Duration;

use kelev_e2e::{dockerfile, http_get, wait_until, PrivateEngine, World};

fn page(engine: &PrivateEngine, project: &str) -> String {
    let ids = engine
        .docker()
        .args([
            "ps",
            "-q",
            "--filter",
            &format!("label=com.docker.compose.project={project}"),
        ])
        .run()
        .stdout;
    let id = ids
        .split_whitespace()
        .next()
        .expect("a running container")
        .to_owned();
    let ip = engine
        .docker()
        .args([
            "inspect",
            "-f",
            "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}",
            &id,
        ])
        .run()
        .stdout;
    http_get(&format!("{}:80", ip.split_whitespace().next().unwrap()))
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Docker, sshd and lighttpd: run scripts/test (cargo test --features e2e)"
)]
fn engine_stopped_mid_build_loses_nothing() {
    let mut world = World::new();
    let mut engine = PrivateEngine::start(&world.dir.join("engine"));
    let socket = engine.socket.clone();
    world.write_config(&serde_json::json!({
        "docker": ["docker", "-H", socket],
        "compose": ["docker", "-H", socket, "compose"],
    }));
    let site = world.site("engine", "old\n");
    world.install_manifest(&world.manifest(&[world.entry(&site)]));
    let old = site.head();
    world.ssh(format!("deploy {}", site.name)).run().ok();
    assert_eq!(page(&engine, &site.name), "old\n");

    site.write("Dockerfile", &dockerfile(Some(&world.slow_step(20))));
    site.write("www/index.html", "new\n");
    let slow = site.commit("slow");
    let project_dir = world.project_dir(&site.name);
    let state_before = std::fs::read(project_dir.join("state.json")).unwrap();
    let deploy = world.ssh(format!("deploy {} {slow}", site.name)).spawn();
    wait_until(
        "the deploy's build to run its 20 s step",
        Duration::from_secs(60),
        || world.slow_step_running(20),
    );
    engine.down();

    let out = deploy.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let code = out.status.code();
    assert!(
        matches!(code, Some(1) | Some(69)),
        "exit {code:?}: {stderr}"
    );
    assert_eq!(
        stderr.lines().filter(|l| l.starts_with("error: ")).count(),
        1,
        "{stderr}"
    );
    assert_eq!(
        std::fs::read(project_dir.join("state.json")).unwrap(),
        state_before,
        "state changed"
    );
    let current = std::fs::read_link(project_dir.join("current")).unwrap();
    assert!(current.ends_with(&old), "current moved to {current:?}");
    let leftovers: Vec<_> = std::fs::read_dir(project_dir.join("releases"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "partial releases left: {leftovers:?}");
    // While the engine is down, status says so with 69, in one line.
    let out = world.ssh(format!("status {}", site.name)).run().code(69);
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.report());

    // The engine comes back; `restart: unless-stopped` brings the old release back with it.
    engine.up();
    let status = wait_until(
        "the old release to run again",
        Duration::from_secs(30),
        || {
            let status = world.status(&site.name);
            if status["state"] == "running" {
                Ok(status)
            } else {
                Err(status)
            }
        },
    );
    assert_eq!(status["commit"], old.as_str());
    assert_eq!(page(&engine, &site.name), "old\n");

    site.write("Dockerfile", &dockerfile(None));
    let fixed = site.commit("fixed");
    world
        .ssh(format!("deploy {} {fixed}", site.name))
        .run()
        .ok();
    assert_eq!(page(&engine, &site.name), "new\n");
}

/// The descriptions of the engine's build cache records.
fn build_cache(engine: &PrivateEngine) -> Vec<String> {
    let out = engine
        .docker()
        .args(["system", "df", "-v", "--format", "{{json .BuildCache}}"])
        .run()
        .ok();
    let records: serde_json::Value = serde_json::from_str(out.stdout.trim()).unwrap();
    records
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["Description"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// After a successful deploy the build cache no build has used for
/// `build_cache_max_age_secs` is gone, and what the last build used stays. On an engine of
/// the test's own: the build cache is the engine's, not a project's.
#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Docker, sshd and lighttpd: run scripts/test (cargo test --features e2e)"
)]
fn a_deploy_prunes_build_cache_unused_for_its_limit() {
    let mut world = World::new();
    let engine = PrivateEngine::start(&world.dir.join("engine"));
    let socket = engine.socket.clone();
    world.write_config(&serde_json::json!({
        "docker": ["docker", "-H", socket],
        "compose": ["docker", "-H", socket, "compose"],
        "settle_secs": 1,
        "build_cache_max_age_secs": 20,
    }));
    let site = world.site("cache", "one\n");
    site.write("Dockerfile", &dockerfile(Some("\"touch\", \"/built-one\"")));
    site.commit("one");
    world.install_manifest(&world.manifest(&[world.entry(&site)]));
    world.ssh(format!("deploy {}", site.name)).run().ok();
    let step = |name: &str| format!("/bin/busybox touch /built-{name}");
    let has = |cache: &[String], name: &str| cache.iter().any(|d| d.contains(&step(name)));
    assert!(
        has(&build_cache(&engine), "one"),
        "{:?}",
        build_cache(&engine)
    );

    // Time itself: the cache ages past its limit (the second deploy itself takes less).
    std::thread::sleep(Duration::from_secs(21));
    site.write("Dockerfile", &dockerfile(Some("\"touch\", \"/built-two\"")));
    site.write("www/index.html", "two\n");
    let two = site.commit("two");
    world.ssh(format!("deploy {} {two}", site.name)).run().ok();
    assert_eq!(page(&engine, &site.name), "two\n");
    let cache = build_cache(&engine);
    assert!(
        !has(&cache, "one"),
        "cache unused for 21 s survived: {cache:?}"
    );
    assert!(has(&cache, "two"), "the last build's cache went: {cache:?}");
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Docker, sshd and lighttpd: run scripts/test (cargo test --features e2e)"
)]
fn unreachable_docker_is_69() {
    let (world, site) = World::with_site("nodocker", "x\n");
    let dead = "unix:///nonexistent/docker.sock";
    world.write_config(&serde_json::json!({
        "docker": ["docker", "-H", dead],
        "compose": ["docker", "-H", dead, "compose"],
    }));
    for command in ["status".to_owned(), format!("deploy {}", site.name)] {
        let out = world.ssh(command).run().code(69);
        assert_eq!(out.stderr.lines().count(), 1, "one line: {}", out.report());
        out.stderr_has("error: docker is unreachable");
    }
}
