//! Zero-downtime rollout: a client container on the `web` network requests the service's alias
//! there (`<project>.web`) in a loop while a new release goes out, trying each request once and
//! keeping each DNS answer for up to a second. With `"rollout": "zero-downtime"` no
//! request fails; the plain recreate runs beside it and its failures are reported (a figure for
//! docs/benchmarks.md, not an assertion).

use std::time::Duration;

use kelev_e2e::{docker, wait_until, World};

/// Busybox loops on the `web` network requesting `http://<project>.web/`; removed when
/// dropped.
struct Client(String);

impl Client {
    fn start(project: &str, image: &str) -> Client {
        let name = format!("{project}-client");
        // busybox-static's wget crashes in glibc's name service lookup inside a scratch image;
        // nslookup (its own resolver, asking Docker's DNS) and nc do not. One try per request:
        // what a plain client sees. Each answer is kept until the clock's second changes (up
        // to a second), as resolvers and connection pools keep one: a container must go on
        // serving for a while after it leaves the name. Three such clients at once, each with
        // its own answer (Docker's DNS shuffles the two addresses while both containers run),
        // so that one very likely holds the old address as it leaves.
        let script = format!(
            "client() {{ last=; while true; do \
                now=$(/bin/busybox date +%s); \
                if [ \"$now\" != \"$last\" ]; then \
                    ip=$(/bin/busybox nslookup {project}.web 127.0.0.11 2>/dev/null | /bin/busybox awk '/^Address: /{{print $2; exit}}'); \
                    last=$now; \
                fi; \
                if [ -n \"$ip\" ] && printf 'GET / HTTP/1.0\\r\\n\\r\\n' | /bin/busybox nc -w 3 \"$ip\" 80 | /bin/busybox grep -q '200 OK'; \
                then echo ok; else echo fail; fi; \
                /bin/busybox usleep 20000; \
            done; }}; \
            client & client & client & wait"
        );
        let id = docker(&[
            "run",
            "-d",
            "--name",
            &name,
            "--network",
            "web",
            "--entrypoint",
            "/bin/busybox",
            image,
            "sh",
            "-c",
            &script,
        ]);
        assert!(!id.trim().is_empty(), "client did not start");
        Client(name)
    }

    /// (answered, failed) requests so far.
    fn counts(&self) -> (usize, usize) {
        let logs = docker(&["logs", &self.0]);
        let count = |word: &str| logs.lines().filter(|l| *l == word).count();
        (count("ok"), count("fail"))
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        docker(&["rm", "-f", &self.0]);
    }
}

/// A busybox image of the test's own (not built by compose, so it carries no project labels),
/// named so that the world removes it.
fn client_image(world: &World, project: &str) -> String {
    let dir = world.dir.join("client-image");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy("/bin/busybox", dir.join("busybox")).unwrap();
    std::fs::write(
        dir.join("Dockerfile"),
        "FROM scratch\nCOPY busybox /bin/busybox\n",
    )
    .unwrap();
    let tag = format!("kelev-{project}-client:latest");
    kelev_e2e::Run::new("docker")
        .args(["build", "-q", "-t", &tag])
        .arg(&dir)
        .run()
        .ok();
    tag
}

fn redeploy_under_load(world: &mut World, short: &str, rollout: &str) -> (usize, usize) {
    let site = world.site(short, "v1\n");
    let mut entry = world.entry(&site);
    entry["rollout"] = serde_json::json!(rollout);
    world.install_manifest(&world.manifest(&[entry]));
    world.ssh(format!("deploy {}", site.name)).run().ok();
    let client = Client::start(&site.name, &client_image(world, &site.name));
    wait_until(
        "the client's first answered request",
        Duration::from_secs(30),
        || client.counts().0 > 0,
    );
    site.write("www/index.html", "v2\n");
    let second = site.commit("v2");
    let out = world
        .ssh(format!("deploy {} {second}", site.name))
        .run()
        .ok();
    assert!(
        out.stdout.contains(&format!("({rollout})")),
        "{}",
        out.report()
    );
    // Time itself: a client keeps its DNS answer for up to a second, so the load goes on that
    // long after the switch, against the old address too.
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(world.page(&site.name), "v2\n");
    let status = world.status(&site.name);
    assert_eq!(status["rollout"], rollout);
    assert_eq!(
        status["containers"].as_array().unwrap().len(),
        1,
        "one container after the rollout: {status}"
    );
    client.counts()
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Docker, sshd and lighttpd: run scripts/test (cargo test --features e2e)"
)]
fn zero_downtime_rollout_drops_no_request() {
    let mut world = World::new();
    let (ok, failed) = redeploy_under_load(&mut world, "zd", "zero-downtime");
    eprintln!("zero-downtime: {ok} answered, {failed} failed");
    assert!(ok > 20, "the client ran: {ok}");
    assert_eq!(failed, 0, "zero-downtime rollout dropped requests");

    let (ok, failed) = redeploy_under_load(&mut world, "rc", "recreate");
    eprintln!("recreate (for comparison): {ok} answered, {failed} failed");
    assert!(ok > 20, "the client ran: {ok}");
}

/// A change of the project's port cannot be swapped behind the service's name (each
/// release's route would reach the other's container): that deploy recreates, and says why;
/// the next swaps again.
#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Docker, sshd and lighttpd: run scripts/test (cargo test --features e2e)"
)]
fn zero_downtime_recreates_when_the_port_changes() {
    let mut world = World::new();
    let site = world.site("port", "p\n");
    site.write(
        "compose.yaml",
        r#"services:
  web:
    build: .
    init: true
    command: ["/bin/busybox", "httpd", "-f", "-p", "8080", "-h", "/www"]
"#,
    );
    site.commit("8080");
    let mut entry = world.entry(&site);
    entry["rollout"] = serde_json::json!("zero-downtime");
    world.install_manifest(&world.manifest(&[entry.clone()]));
    world.ssh(format!("deploy {}", site.name)).run().ok();
    entry["port"] = serde_json::json!(8080);
    world.install_manifest(&world.manifest(&[entry]));
    let out = world.ssh(format!("deploy {}", site.name)).run().ok();
    let out = out.stdout_has(&format!(
        "zero-downtime rollout is off for {}: its port changes from 80 to 8080",
        site.name
    ));
    assert!(out.stdout.contains("(recreate)"), "{}", out.report());
    site.write("www/index.html", "p2\n");
    let next = site.commit("p2");
    let out = world.ssh(format!("deploy {} {next}", site.name)).run().ok();
    assert!(out.stdout.contains("(zero-downtime)"), "{}", out.report());
    assert!(!out.stdout.contains("rollout is off"), "{}", out.report());
}

/// A routed service that was renamed has no container to swap with: that deploy
/// recreates, and says why.
#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Docker, sshd and lighttpd: run scripts/test (cargo test --features e2e)"
)]
fn zero_downtime_recreates_when_the_routed_service_is_renamed() {
    let mut world = World::new();
    let site = world.site("renamed", "r\n");
    let mut entry = world.entry(&site);
    entry["rollout"] = serde_json::json!("zero-downtime");
    entry.as_object_mut().unwrap().remove("service");
    world.install_manifest(&world.manifest(&[entry]));
    world.ssh(format!("deploy {}", site.name)).run().ok();
    site.write(
        "compose.yaml",
        "services:\n  site:\n    build: .\n    init: true\n",
    );
    let next = site.commit("site");
    let out = world.ssh(format!("deploy {} {next}", site.name)).run().ok();
    out.stdout_has(&format!(
        "zero-downtime rollout is off for {}: no `site` container runs to swap with",
        site.name
    ));
    world.container(&site.name, "site");
}

/// A service that publishes ports cannot run twice: the rollout falls back to recreate and
/// says so.
#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Docker, sshd and lighttpd: run scripts/test (cargo test --features e2e)"
)]
fn zero_downtime_needs_a_service_without_ports() {
    let mut world = World::new();
    let site = world.site("ports", "p\n");
    site.write(
        "compose.yaml",
        "services:\n  web:\n    build: .\n    init: true\n    ports:\n      - \"127.0.0.1::80\"\n",
    );
    site.commit("ports");
    let mut entry = world.entry(&site);
    entry["rollout"] = serde_json::json!("zero-downtime");
    world.install_manifest(&world.manifest(&[entry]));
    world.ssh(format!("deploy {}", site.name)).run().ok();
    site.write("www/index.html", "p2\n");
    let next = site.commit("p2");
    let out = world.ssh(format!("deploy {} {next}", site.name)).run().ok();
    let out = out
        .stdout_has("zero-downtime rollout is off")
        .stdout_has("it publishes `ports`");
    assert!(out.stdout.contains("(recreate)"), "{}", out.report());
    assert_eq!(world.page(&site.name), "p2\n");
}

/// A zero-downtime `rebuild` of the running commit: the new container carries the same
/// commit label as the old one. When it does not come up, only it goes: the old one never
/// stops serving and stays the only container.
#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Docker, sshd and lighttpd: run scripts/test (cargo test --features e2e)"
)]
fn a_failed_zero_downtime_rebuild_of_the_running_commit_keeps_the_old_container() {
    let mut world = World::new();
    world.write_config(&serde_json::json!({"keys": {
        "ci": {"verbs": ["*", "secrets-put"], "projects": ["*"]},
    }}));
    let site = world.site("zdre", "kept\n");
    // httpd, unless its environment says BREAK (`$$`: for the container's shell, not
    // compose's interpolation).
    site.write(
            "compose.yaml",
            r#"services:
  web:
    build: .
    init: true
    command: ["/bin/busybox", "sh", "-c", "[ -z \"$$BREAK\" ] && exec /bin/busybox httpd -f -p 80 -h /www"]
"#,
        );
    site.commit("breakable");
    let mut entry = world.entry(&site);
    entry["rollout"] = serde_json::json!("zero-downtime");
    world.install_manifest(&world.manifest(&[entry]));
    world.ssh(format!("deploy {}", site.name)).run().ok();
    assert_eq!(world.page(&site.name), "kept\n");
    let serving = world.container(&site.name, "web");

    world
        .ssh(format!("secrets-put {}", site.name))
        .stdin("BREAK=1\n")
        .run()
        .ok();
    let out = world.ssh(format!("rebuild {}", site.name)).run().code(1);
    assert!(out.stdout.contains("(zero-downtime)"), "{}", out.report());
    assert_eq!(world.container(&site.name, "web"), serving);
    assert_eq!(world.page(&site.name), "kept\n");
    let status = world.status(&site.name);
    assert_eq!(
        status["containers"].as_array().unwrap().len(),
        1,
        "{status}"
    );
}

/// A Docker network of the test's own, removed when dropped (declare it before the world, so
/// that the world's containers are gone by then).
struct Network(String);

impl Drop for Network {
    fn drop(&mut self) {
        docker(&["network", "rm", &self.0]);
    }
}

/// On a Traefik network whose subnet Docker chose (one made by hand, or by an older
/// kelev), the old container cannot keep its address: the rollout says so, skips the
/// drain, and still ends on the new release.
#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Docker, sshd and lighttpd: run scripts/test (cargo test --features e2e)"
)]
fn zero_downtime_on_a_network_without_a_subnet_warns_and_goes_on() {
    let network = Network(format!("kelev-e2e-plain-{}", std::process::id()));
    docker(&["network", "create", &network.0]);
    let mut world = World::new();
    world.write_config(&serde_json::json!({"traefik": {"network": network.0}}));
    let site = world.site("plain", "v1\n");
    let mut entry = world.entry(&site);
    entry["rollout"] = serde_json::json!("zero-downtime");
    world.install_manifest(&world.manifest(&[entry]));
    world.ssh(format!("deploy {}", site.name)).run().ok();
    site.write("www/index.html", "v2\n");
    let v2 = site.commit("v2");
    let out = world.ssh(format!("deploy {} {v2}", site.name)).run().ok();
    let warning = format!("could not keep its address on `{}`", network.0);
    let out = out.stdout_has(&warning).stdout_lacks("draining");
    assert!(out.stdout.contains("(zero-downtime)"), "{}", out.report());
    let ip = world.ip(&site.name, &network.0);
    assert_eq!(kelev_e2e::http_get(&format!("{ip}:80")), "v2\n");
    let status = world.status(&site.name);
    assert_eq!(
        status["containers"].as_array().unwrap().len(),
        1,
        "{status}"
    );
}
