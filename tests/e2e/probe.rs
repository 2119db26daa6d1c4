//! bootstrap/probe.sh against the request path of this machine (Pebble + the real Traefik, in
//! front of projects the agent deployed) and against a certificate about to expire, publishing
//! to moto; the datapoints are read back from moto.

use std::path::Path;
use std::time::Duration;

use kelev_e2e::{wait_until, Moto, Output, Port, Proxy, Run, World};

/// probe.sh with the settings probe.env gives it on a host, and the test's CA, port and
/// CloudWatch endpoint.
fn probe(manifest: &Path, namespace: &str, moto: &Moto, cacert: &Path, port: u16) -> Output {
    let mut run = Run::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("../bootstrap/probe.sh"))
        .env("KELEV_PROBE_MANIFEST", manifest)
        .env("KELEV_PROBE_NAMESPACE", namespace)
        .env("KELEV_PROBE_REGION", Moto::REGION)
        .env("KELEV_PROBE_CACERT", cacert)
        .env("KELEV_PROBE_PORT", port.to_string())
        .env("KELEV_PROBE_ENDPOINT", moto.endpoint())
        .env("KELEV_PROBE_AWS", Moto::cli());
    for (k, v) in Moto::CREDENTIALS {
        run = run.env(k, v);
    }
    run.run()
}

/// Two projects behind Traefik, one stopped: site_up 1 for the one, 0 for the other, and
/// the days left on Pebble's certificates for both.
#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Docker, sshd and lighttpd: run scripts/test (cargo test --features e2e)"
)]
fn probe_publishes_up_and_down_through_traefik() {
    let proxy = Proxy::start();
    let mut world = World::new();
    let moto = Moto::start(&world.dir.join("moto"));
    let up = world.site("up", "up\n");
    let down = world.site("down", "down\n");
    world.install_manifest(&world.manifest(&[world.entry(&up), world.entry(&down)]));
    world.ssh(format!("deploy {}", up.name)).run().ok();
    world.ssh(format!("deploy {}", down.name)).run().ok();
    for (site, page) in [(&up, "up\n"), (&down, "down\n")] {
        let domain = format!("{}.kelev.test", site.name);
        proxy.wait_for(&domain, page, Duration::from_secs(60));
    }
    kelev_e2e::docker(&["stop", &world.container(&down.name, "web")]);

    let namespace = format!("kelev/{}", world.name("probe"));
    let out = probe(
        &world.root.join("projects.json"),
        &namespace,
        &moto,
        &proxy.root,
        443,
    )
    .ok();
    eprintln!("{}", out.stderr);
    assert_eq!(
        moto.datapoints(&namespace, "site_up", &up.name),
        [1.0],
        "{}",
        out.report()
    );
    assert_eq!(
        moto.datapoints(&namespace, "site_up", &down.name),
        [0.0],
        "{}",
        out.report()
    );
    let days = moto.datapoints(&namespace, "certificate_days", &up.name);
    assert!(matches!(days[..], [d] if d >= 1.0), "{days:?}");
    // Traefik still serves the stopped project's certificate: its days are still known.
    assert_eq!(
        moto.datapoints(&namespace, "certificate_days", &down.name),
        days
    );

    // Traefik's access log: JSON on stdout, with the fields docs/runbook.md filters on.
    let log = kelev_e2e::docker(&["logs", "traefik-traefik-1"]);
    let host = format!("{}.kelev.test", up.name);
    let line = log
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|l| l["RequestHost"] == host.as_str())
        .unwrap_or_else(|| panic!("no JSON access log line for {host}"));
    assert_eq!(line["DownstreamStatus"], 200, "{line}");
    assert_eq!(line["OriginStatus"], 200, "{line}");
}

/// A certificate that expires in three days reads as fewer than 4 whole days left; with CloudWatch
/// unreachable the probe fails, and says so.
#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Docker, sshd and lighttpd: run scripts/test (cargo test --features e2e)"
)]
fn probe_counts_the_days_a_certificate_has_left() {
    let world = World::new();
    let mut moto = Moto::start(&world.dir.join("moto"));
    let dir = &world.dir;
    Run::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
        ])
        .args(["-nodes", "-days", "3", "-subj", "/CN=soon.kelev.test"])
        .args(["-addext", "subjectAltName=DNS:soon.kelev.test", "-keyout"])
        .arg(dir.join("key.pem"))
        .arg("-out")
        .arg(dir.join("cert.pem"))
        .run()
        .ok();
    let held = Port::hold();
    let port = held.number();
    let mut server = std::process::Command::new("openssl")
        .args(["s_server", "-quiet", "-www", "-accept"])
        .arg(format!("127.0.0.1:{port}"))
        .arg("-cert")
        .arg(dir.join("cert.pem"))
        .arg("-key")
        .arg(dir.join("key.pem"))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_until(
        &format!("openssl s_server to listen on port {port}"),
        Duration::from_secs(10),
        || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok(),
    );
    let manifest = dir.join("projects.json");
    std::fs::write(
        &manifest,
        r#"{"domain": "kelev.test", "projects": [{"name": "soon"}]}"#,
    )
    .unwrap();
    let namespace = format!("kelev/{}", world.name("soon"));

    let out = probe(&manifest, &namespace, &moto, &dir.join("cert.pem"), port).ok();
    assert_eq!(
        moto.datapoints(&namespace, "site_up", "soon"),
        [1.0],
        "{}",
        out.report()
    );
    // Three days from the second the certificate was made: 3 within that second, 2 after.
    let days = moto.datapoints(&namespace, "certificate_days", "soon");
    assert!(
        matches!(days[..], [d] if d == 2.0 || d == 3.0),
        "{days:?} {}",
        out.report()
    );

    moto.down();
    probe(&manifest, &namespace, &moto, &dir.join("cert.pem"), port)
        .code(1)
        .stderr_has("put-metric-data to");
    let _ = server.kill();
    let _ = server.wait();
}
