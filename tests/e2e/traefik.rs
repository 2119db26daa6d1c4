//! The request path for real: the pinned Traefik of bootstrap/traefik, with the `.env` init.sh
//! renders, ordering certificates from Pebble over HTTP-01, in front of projects the agent
//! deploys through sshd. Every request is a visitor's: HTTPS with SNI, verified against Pebble's
//! root (`scripts/traefik-up` starts it all; [`Proxy`] wraps it).
//!
//! The agents here have `traefik.api` set, as init.sh sets it: a deploy returns once Traefik
//! routes to the new release. The last tests measure it (figures for docs/benchmarks.md): what
//! Traefik serves the moment `deploy` exits (asserted: the new release), how long until then, and
//! how many requests plain clients lose through Traefik during a `zero-downtime` deploy, a
//! rollback and a `recreate` deploy; and what the agent does when the API does not answer, or
//! never lists the new containers.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use kelev_e2e::{docker, healthchecked, wait_until, Port, Proxy, Remote, Run, World};

/// Long enough for a first certificate (an order, an HTTP-01 validation, issuance).
const FIRST_CERTIFICATE: Duration = Duration::from_secs(60);

/// Traefik's API as `scripts/traefik-up` (and init.sh) publish it, on the host's loopback.
const API: &str = "http://127.0.0.1:8080";

/// A world whose agent waits for Traefik's API.
fn world() -> World {
    let world = World::new();
    world.write_config(&serde_json::json!({"traefik": {"api": API}}));
    world
}

/// Routing domains for a project: `<name>.kelev.dev` and `www.<name>.kelev.dev`.
fn domains(name: &str) -> Vec<String> {
    vec![format!("{name}.kelev.dev"), format!("www.{name}.kelev.dev")]
}

fn put_manifest(world: &World, entries: &[serde_json::Value]) {
    world
        .ssh("manifest-put")
        .stdin(serde_json::to_vec(&world.manifest(entries)).unwrap())
        .run()
        .ok();
}

/// Every domain serves `page` with a certificate for that name from Pebble.
#[track_caller]
fn assert_serves(proxy: &Proxy, domains: &[String], page: &str) {
    for domain in domains {
        let (_, visit) = proxy.wait_for(domain, page, FIRST_CERTIFICATE);
        assert!(
            visit.names.contains(domain),
            "certificate of {domain}: {visit:?}"
        );
        assert!(visit.issuer.contains("Pebble"), "issuer: {visit:?}");
    }
}

/// Two projects side by side, one on its default domain: each name serves its page with its
/// own certificate; http redirects permanently; unknown hosts get 404; a domain added in the
/// manifest starts routing; a removed project's domains stop.
#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Docker, sshd and lighttpd: run scripts/test (cargo test --features e2e)"
)]
fn traefik_routes_every_domain_with_its_certificate() {
    let proxy = Proxy::start();
    let mut world = world();
    let a = world.site("a", "page a\n");
    let b = world.site("b", "page b\n");
    let mut entry_a = world.entry(&a);
    entry_a["domains"] = serde_json::json!(domains(&a.name));
    let entry_b = world.entry(&b); // the manifest's `domain`: <name>.kelev.test
    put_manifest(&world, &[entry_a.clone(), entry_b.clone()]);
    world.ssh(format!("deploy {}", a.name)).run().ok();
    world.ssh(format!("deploy {}", b.name)).run().ok();

    assert_serves(&proxy, &domains(&a.name), "page a\n");
    let default_b = format!("{}.kelev.test", b.name);
    assert_serves(&proxy, std::slice::from_ref(&default_b), "page b\n");

    let plain = proxy.get("http", &domains(&a.name)[0]);
    // Permanent: Traefik answers a GET with 301 (other methods with 308).
    assert_eq!(
        plain.status, 301,
        "http is redirected permanently: {plain:?}"
    );
    assert_eq!(plain.location, format!("https://{}/", domains(&a.name)[0]));
    let unknown = proxy.get("https", &format!("nobody.{}", domains(&a.name)[0]));
    assert_eq!(
        unknown.status, 0,
        "no certificate for an unknown host: {unknown:?}"
    );
    let unknown = kelev_e2e::Run::new("curl")
        .args(["-sk", "-o", "/dev/null", "-w", "%{http_code}", "--resolve"])
        .arg("nobody.kelev.dev:443:127.0.0.1")
        .arg("https://nobody.kelev.dev/")
        .run();
    assert_eq!(unknown.stdout, "404", "unknown host: {}", unknown.report());

    // A domain added in the manifest routes after the next deploy.
    let added = format!("new.{}.kelev.dev", a.name);
    entry_a["domains"]
        .as_array_mut()
        .unwrap()
        .push(added.clone().into());
    put_manifest(&world, &[entry_a.clone(), entry_b]);
    world.ssh(format!("deploy {}", a.name)).run().ok();
    assert_serves(&proxy, &[added], "page a\n");

    // A project taken out of the manifest and removed stops answering.
    put_manifest(&world, &[entry_a]);
    world.ssh(format!("remove {}", b.name)).run().ok();
    wait_until(
        &format!("{default_b} to stop answering (404)"),
        Duration::from_secs(10),
        || {
            let gone = proxy.get("https", &default_b);
            (gone.status == 404)
                .then_some(())
                .ok_or(format!("{gone:?}"))
        },
    );
    assert_serves(&proxy, &domains(&a.name), "page a\n");
}

/// After a Traefik restart the same certificate serves and Pebble gets no new order; the
/// staging switch orders into its own storage file and leaves acme.json alone, and
/// switching back serves the first certificate again; so does a Traefik on a replaced
/// instance whose storage came back from a snapshot.
#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Docker, sshd and lighttpd: run scripts/test (cargo test --features e2e)"
)]
fn traefik_keeps_certificates_across_restarts_and_the_staging_switch() {
    let proxy = Proxy::start();
    let mut world = world();
    let site = world.site("keep", "kept\n");
    let mut entry = world.entry(&site);
    entry["domains"] = serde_json::json!(domains(&site.name));
    put_manifest(&world, &[entry]);
    world.ssh(format!("deploy {}", site.name)).run().ok();
    let domain = &domains(&site.name)[0];
    let (_, first) = proxy.wait_for(domain, "kept\n", FIRST_CERTIFICATE);
    assert_serves(&proxy, &domains(&site.name), "kept\n");
    let orders = proxy.orders(domain);
    assert_eq!(orders, 1, "one order for {domain}");
    let stored = stored_certificate(&proxy, "acme.json", domain).expect("in acme.json");

    proxy.restart();
    let (_, again) = proxy.wait_for(domain, "kept\n", Duration::from_secs(20));
    assert_eq!(
        again.serial, first.serial,
        "the same certificate after a restart"
    );
    // Time itself: an order is an event that must not come; give it 2 s to show.
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(proxy.orders(domain), orders, "no new order after a restart");

    proxy.set_staging(true);
    let (_, staging) = proxy.wait_for(domain, "kept\n", FIRST_CERTIFICATE);
    assert_ne!(
        staging.serial, first.serial,
        "staging has certificates of its own"
    );
    assert!(
        stored_certificate(&proxy, "acme-staging.json", domain).is_some(),
        "staging stores into acme-staging.json"
    );
    // Other tests' projects on this engine may add certificates of their own to acme.json
    // meanwhile; this project's entry must stay as it was.
    assert_eq!(
        stored_certificate(&proxy, "acme.json", domain),
        Some(stored),
        "acme.json's certificate untouched by staging"
    );

    proxy.set_staging(false);
    let (_, back) = proxy.wait_for(domain, "kept\n", Duration::from_secs(20));
    assert_eq!(back.serial, first.serial, "production's certificate again");

    // The restore drill, for Traefik: the instance is replaced (its Traefik container gone,
    // init.sh's step run anew on the new one) and the data volume comes back from a
    // snapshot, Traefik's storage byte for byte. The same certificate serves, no new order.
    let orders = proxy.orders(domain);
    let storage = proxy.data_file("acme.json").parent().unwrap().to_owned();
    let snapshot = storage.with_file_name("traefik-snapshot");
    Run::new("cp")
        .arg("-a")
        .arg(&storage)
        .arg(&snapshot)
        .run()
        .ok();
    docker(&["rm", "-f", "traefik-traefik-1"]);
    std::fs::remove_dir_all(&storage).unwrap();
    Run::new("cp")
        .arg("-a")
        .arg(&snapshot)
        .arg(&storage)
        .run()
        .ok();
    proxy.set_staging(false);
    let (_, restored) = proxy.wait_for(domain, "kept\n", Duration::from_secs(20));
    assert_eq!(
        restored.serial, first.serial,
        "the same certificate after the restore"
    );
    // Time itself, as after the restart above.
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        proxy.orders(domain),
        orders,
        "no new order after the restore"
    );
}

/// The certificate entry for `domain` in Traefik's storage file `file`.
fn stored_certificate(proxy: &Proxy, file: &str, domain: &str) -> Option<serde_json::Value> {
    let text = std::fs::read_to_string(proxy.data_file(file)).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    json["letsencrypt"]["Certificates"]
        .as_array()?
        .iter()
        .find(|c| c["domain"]["main"] == domain)
        .cloned()
}

/// A deployed project whose page says `v1`, already served through Traefik.
fn served_site(
    proxy: &Proxy,
    world: &mut World,
    short: &str,
    rollout: &str,
    compose: Option<&str>,
) -> Remote {
    let site = world.site(short, "v1\n");
    if let Some(compose) = compose {
        site.write("compose.yaml", compose);
        site.commit("compose");
    }
    let mut entry = world.entry(&site);
    entry["domains"] = serde_json::json!([format!("{}.kelev.dev", site.name)]);
    entry["rollout"] = serde_json::json!(rollout);
    put_manifest(world, &[entry]);
    world.ssh(format!("deploy {}", site.name)).run().ok();
    proxy.wait_for(
        &format!("{}.kelev.dev", site.name),
        "v1\n",
        FIRST_CERTIFICATE,
    );
    site
}

/// When `deploy` exits 0, Traefik serves the new release (asserted), for a service without a
/// healthcheck and one with, both rollouts; the time until a visitor gets it is printed.
#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Docker, sshd and lighttpd: run scripts/test (cargo test --features e2e)"
)]
fn traefik_time_from_deploy_exit_to_new_content() {
    let proxy = Proxy::start();
    let mut world = world();
    let healthchecked = healthchecked("/");
    for (short, rollout, compose) in [
        ("plain-zd", "zero-downtime", None),
        ("health-zd", "zero-downtime", Some(healthchecked.as_str())),
        ("plain-rc", "recreate", None),
        ("health-rc", "recreate", Some(healthchecked.as_str())),
    ] {
        let site = served_site(&proxy, &mut world, short, rollout, compose);
        let domain = format!("{}.kelev.dev", site.name);
        site.write("www/index.html", "v2\n");
        let second = site.commit("v2");
        world
            .ssh(format!("deploy {} {second}", site.name))
            .run()
            .ok();
        let exited = Instant::now();
        let at_exit = proxy.get("https", &domain);
        let services = proxy.services(&site.name);
        proxy.wait_for(&domain, "v2\n", Duration::from_secs(30));
        let lag = exited.elapsed();
        eprintln!(
            "deploy exit -> v2 through Traefik: {short} ({rollout}): {} ms; at exit: {} {:?}; \
                 Traefik's services at exit: {services:?}",
            lag.as_millis(),
            at_exit.status,
            at_exit.body.trim()
        );
        assert_eq!(
            (at_exit.status, at_exit.body.as_str()),
            (200, "v2\n"),
            "{short} ({rollout}): Traefik serves the new release once deploy exits: {at_exit:?}"
        );
        // The release's route, to the routed service's name on the shared network, and no
        // other (a release that routes as the one before shares its route).
        let url = format!("http://{}.web:80", site.name);
        assert_eq!(services.len(), 1, "one route: {services:?}");
        assert_eq!(services[0].1, [url], "{services:?}");
    }
}

/// Three plain HTTPS clients (one curl each request, one try, no retry) request `domain` until
/// `stop`; returns (answered, failed) where failed is anything but a 200 with `v1` or `v2`.
fn clients(proxy: &Proxy, domain: &str, stop: &AtomicBool) -> (usize, usize) {
    std::thread::scope(|scope| {
        let loops: Vec<_> = (0..3)
            .map(|_| {
                scope.spawn(|| {
                    let (mut ok, mut failed) = (0, 0);
                    while !stop.load(Ordering::SeqCst) {
                        let visit = proxy.get("https", domain);
                        if visit.status == 200 && (visit.body == "v1\n" || visit.body == "v2\n") {
                            ok += 1;
                        } else {
                            failed += 1;
                            eprintln!(
                                "failed request: {} {:?} {}",
                                visit.status, visit.body, visit.error
                            );
                        }
                    }
                    (ok, failed)
                })
            })
            .collect();
        loops
            .into_iter()
            .map(|l| l.join().unwrap())
            .fold((0, 0), |(a, b), (c, d)| (a + c, b + d))
    })
}

/// Run `step` under load and count the requests it cost.
fn under_load(proxy: &Proxy, domain: &str, step: impl FnOnce()) -> (usize, usize) {
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let counts = scope.spawn(|| clients(proxy, domain, &stop));
        // Time itself: a second of load before the step and three after it, while the old
        // container drains.
        std::thread::sleep(Duration::from_secs(1));
        step();
        std::thread::sleep(Duration::from_secs(3));
        stop.store(true, Ordering::SeqCst);
        counts.join().unwrap()
    })
}

/// Failed requests through Traefik: none during a `zero-downtime` deploy and a rollback
/// (asserted); a `recreate` deploy's and rollback's are printed beside them (the numbers
/// are in docs/benchmarks.md).
#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Docker, sshd and lighttpd: run scripts/test (cargo test --features e2e)"
)]
fn traefik_failed_requests_zero_downtime_against_recreate() {
    let proxy = Proxy::start();
    let mut world = world();
    for (short, rollout) in [("zd", "zero-downtime"), ("rc", "recreate")] {
        let site = served_site(&proxy, &mut world, short, rollout, None);
        let domain = format!("{}.kelev.dev", site.name);
        site.write("www/index.html", "v2\n");
        let second = site.commit("v2");
        let (ok, deploy_failed) = under_load(&proxy, &domain, || {
            let out = world
                .ssh(format!("deploy {} {second}", site.name))
                .run()
                .ok();
            assert!(
                out.stdout.contains(&format!("({rollout})")),
                "{}",
                out.report()
            );
        });
        eprintln!("through Traefik, {rollout} deploy: {ok} answered, {deploy_failed} failed");
        assert!(ok > 20, "the clients ran: {ok}");
        proxy.wait_for(&domain, "v2\n", Duration::from_secs(30));
        let (ok, rollback_failed) = under_load(&proxy, &domain, || {
            let out = world.ssh(format!("rollback {}", site.name)).run().ok();
            assert!(
                out.stdout.contains(&format!("({rollout})")),
                "{}",
                out.report()
            );
        });
        eprintln!(
            "through Traefik, {rollout} project's rollback: {ok} answered, \
                 {rollback_failed} failed"
        );
        assert!(ok > 20, "the clients ran: {ok}");
        if rollout == "zero-downtime" {
            assert_eq!((deploy_failed, rollback_failed), (0, 0), "{rollout}");
        }
    }
}

/// A site that listens at once but serves its page only 3 s after it starts (404 before), and
/// whose healthcheck says so: a new container that would fail requests if it got any before
/// it is healthy.
const SLOW_TO_READY: &str = r#"services:
  web:
    build: .
    init: true
    command:
      - /bin/busybox
      - sh
      - -c
      - >-
        /bin/busybox mkdir /ready && /bin/busybox httpd -p 80 -h /ready &&
        /bin/busybox sleep 3 && /bin/busybox cp /www/index.html /ready/ &&
        exec /bin/busybox sleep 2147483647
    healthcheck:
      test: ["CMD", "/bin/busybox", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1/"]
      interval: 1s
      timeout: 2s
      retries: 20
"#;

/// A `zero-downtime` deploy sends a visitor nothing from the new container before its
/// healthcheck passes: one that answers 404 for its first 3 s costs no request.
#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Docker, sshd and lighttpd: run scripts/test (cargo test --features e2e)"
)]
fn traefik_sends_nothing_to_a_new_container_before_it_is_up() {
    let proxy = Proxy::start();
    let mut world = world();
    let site = served_site(
        &proxy,
        &mut world,
        "slow",
        "zero-downtime",
        Some(SLOW_TO_READY),
    );
    let domain = format!("{}.kelev.dev", site.name);
    site.write("www/index.html", "v2\n");
    let second = site.commit("v2");
    let (ok, failed) = under_load(&proxy, &domain, || {
        let out = world
            .ssh(format!("deploy {} {second}", site.name))
            .run()
            .ok();
        assert!(out.stdout.contains("(zero-downtime)"), "{}", out.report());
    });
    eprintln!("through Traefik, a new container slow to be ready: {ok} answered, {failed} failed");
    assert!(ok > 20, "the clients ran: {ok}");
    assert_eq!(failed, 0);
    assert_eq!(proxy.get("https", &domain).body, "v2\n");
}

/// A stand-in for Traefik's API on the loopback that answers every request with `service`.
fn stub_api(service: &'static str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let api = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for mut conn in listener.incoming().flatten() {
            // The whole request, so that closing does not reset the connection.
            let mut request = Vec::new();
            let mut byte = [0; 1];
            while !request.ends_with(b"\r\n\r\n") && conn.read(&mut byte).is_ok_and(|n| n == 1) {
                request.push(byte[0]);
            }
            let _ = write!(
                conn,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{service}",
                service.len()
            );
        }
    });
    api
}

/// `traefik.api` where nothing listens: a warning, and the deploy goes on as without the
/// setting. An API that answers but never lists the new container: exit 1 once
/// `traefik.route_timeout_secs` have passed, saying what it lists, and the previous release
/// serves again.
#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Docker, sshd and lighttpd: run scripts/test (cargo test --features e2e)"
)]
fn traefik_api_closed_warns_and_never_routing_fails() {
    let mut world = World::new();
    let site = world.site("api", "v1\n");
    // Held and never listening: connections to it are refused for the whole test.
    let held = Port::hold();
    let closed = format!("127.0.0.1:{}", held.number());
    world.write_config(&serde_json::json!({"traefik": {"api": format!("http://{closed}")}}));
    let entry = world.entry(&site);
    put_manifest(&world, &[entry]);
    world
        .ssh(format!("deploy {}", site.name))
        .run()
        .ok()
        .stdout_has(&format!(
            "warning: Traefik's API at http://{closed} did not answer"
        ));
    assert_eq!(world.page(&site.name), "v1\n");

    let api = stub_api(
        r#"{"loadBalancer":{"servers":[{"url":"http://192.0.2.1:80"}]},"serverStatus":{"http://192.0.2.1:80":"UP"}}"#,
    );
    world.write_config(&serde_json::json!({"traefik": {"api": api, "route_timeout_secs": 2}}));
    site.write("www/index.html", "v2\n");
    let second = site.commit("v2");
    let out = world
        .ssh(format!("deploy {} {second}", site.name))
        .run()
        .code(1)
        .stderr_has(&format!(
            "error: project `{}`: Traefik did not route to the new release within 2s: \
                 `{}-",
            site.name, site.name
        ))
        .stderr_has(&format!(
            "@docker` lists http://192.0.2.1:80, expected http://{}.web:80\n",
            site.name
        ));
    assert!(
        out.stdout.contains("start failed; putting back"),
        "{}",
        out.report()
    );
    assert_eq!(world.page(&site.name), "v1\n");
}
