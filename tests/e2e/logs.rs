//! Every container's output in CloudWatch Logs, for real: a private dockerd runs with the
//! daemon.json init.sh renders (the awslogs driver, one stream per container, non-blocking,
//! the local copy), its endpoint moved to a moto on loopback. A project the agent deploys has
//! its lines in the log group under `<project>-<service>-<index>`, `logs` through sshd still
//! shows them, and with moto gone the containers keep running and a deploy still works.

use std::path::Path;
use std::time::{Duration, Instant};

use kelev_e2e::{wait_every, Moto, PrivateEngine, Run, World};

/// init.sh's daemon.json for these settings, with the engine's paths left to the test and
/// the endpoint pointed at moto.
fn daemon_json(dir: &Path, group: &str, moto: &Moto) -> std::path::PathBuf {
    let settings = dir.join("bootstrap.json");
    std::fs::write(
        &settings,
        serde_json::json!({"region": Moto::REGION, "log_group_name": group}).to_string(),
    )
    .unwrap();
    let init = Path::new(env!("CARGO_MANIFEST_DIR")).join("../bootstrap/init.sh");
    let out = Run::new("bash")
        .args([
            "-c",
            "source \"$1\"; SETTINGS_FILE=$2; render_docker_daemon_json",
            "-",
        ])
        .arg(init)
        .arg(&settings)
        .run()
        .ok();
    let mut config: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(config["log-driver"], "awslogs", "{config}");
    let object = config.as_object_mut().unwrap();
    object.remove("data-root");
    object["log-opts"]["awslogs-endpoint"] = moto.endpoint().into();
    let path = dir.join("daemon.json");
    std::fs::write(&path, config.to_string()).unwrap();
    path
}

/// A compose file whose container prints `line` when it starts.
fn chatty(line: &str) -> String {
    format!(
        r#"services:
  web:
    build: .
    init: true
    command: ["/bin/busybox", "sh", "-c", "echo {line}; exec /bin/busybox httpd -f -p 80 -h /www"]
"#
    )
}

#[track_caller]
fn wait_for_event(moto: &Moto, group: &str, stream: &str, line: &str) {
    wait_every(
        &format!("`{line}` to reach {group} / {stream}"),
        Duration::from_secs(60),
        Duration::from_millis(500),
        || {
            let events = moto.log_events(group, stream);
            if events.iter().any(|e| e == line) {
                Ok(())
            } else {
                Err(format!(
                    "{events:?}; streams: {:?}",
                    moto.log_streams(group)
                ))
            }
        },
    );
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Docker, sshd and lighttpd: run scripts/test (cargo test --features e2e)"
)]
fn logs_reach_cloudwatch_per_container_and_stay_local() {
    let mut world = World::new();
    let mut moto = Moto::start(&world.dir.join("moto"));
    let group = format!("/kelev/{}", world.name("logs"));
    // Terraform creates the group (aws_cloudwatch_log_group.host); the driver does not.
    moto.aws()
        .args(["logs", "create-log-group", "--log-group-name", &group])
        .run()
        .ok();
    let config = daemon_json(&world.dir, &group, &moto);
    let engine = PrivateEngine::start_with(
        &world.dir.join("engine"),
        &["--config-file".to_owned(), config.display().to_string()],
        &Moto::CREDENTIALS,
    );
    world.write_config(&engine.agent_config());
    let line = format!("hello from {}", world.name("logs"));
    let site = world.site("logs", "page\n");
    site.write("compose.yaml", &chatty(&line));
    site.commit("chatty");
    world.install_manifest(&world.manifest(&[world.entry(&site)]));
    world.ssh(format!("deploy {}", site.name)).run().ok();

    // One stream per container, named as compose names the container.
    let stream = format!("{}-web-1", site.name);
    wait_for_event(&moto, &group, &stream, &line);
    // The runbook's own commands ("A site is down"), as an operator types them.
    let since = format!(
        "{}000",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            - 1800
    );
    let prefix = format!("{}-", site.name);
    let streams = moto
        .aws()
        .args(["logs", "describe-log-streams", "--log-group-name", &group])
        .args(["--log-stream-name-prefix", &prefix])
        .args(["--query", "logStreams[].logStreamName"])
        .run()
        .ok();
    assert!(streams.stdout.contains(&stream), "{}", streams.report());
    moto.aws()
        .args(["logs", "get-log-events", "--log-group-name", &group])
        .args(["--log-stream-name", &stream, "--start-time", &since])
        .args(["--query", "events[].message", "--output", "text"])
        .run()
        .ok()
        .stdout_has(&line);
    moto.aws()
        .args(["logs", "filter-log-events", "--log-group-name", &group])
        .args(["--log-stream-names", &stream, "--start-time", &since])
        .args(["--filter-pattern", "hello"])
        .args(["--query", "events[].message", "--output", "text"])
        .run()
        .ok()
        .stdout_has(&line);
    // The local copy: `logs` through sshd, and `docker logs`.
    world
        .ssh(format!("logs {}", site.name))
        .run()
        .ok()
        .stdout_has(&line);
    let local = engine.docker().args(["logs", &stream]).run().ok();
    assert!(local.stdout.contains(&line), "{}", local.report());

    // CloudWatch unreachable: the running container keeps running, and a new deploy
    // starts its containers (the driver creates its stream in the background) and its
    // output is still there locally.
    moto.down();
    // Time itself: the container runs on for a while with its log driver unable to deliver.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(world.status(&site.name)["state"], "running");
    let offline = format!("offline {}", world.name("logs"));
    site.write("compose.yaml", &chatty(&offline));
    site.commit("offline");
    let started = Instant::now();
    world.ssh(format!("deploy {}", site.name)).run().ok();
    eprintln!(
        "deploy with CloudWatch unreachable took {:?}",
        started.elapsed()
    );
    assert_eq!(world.status(&site.name)["state"], "running");
    wait_every(
        "the local copy of the logs while offline",
        Duration::from_secs(20),
        Duration::from_millis(500),
        || {
            let out = world.ssh(format!("logs {}", site.name)).run().ok();
            if out.stdout.contains(&offline) {
                Ok(())
            } else {
                Err(out.report())
            }
        },
    );
    // Not silently: dockerd logs the driver's failure (on a host: `journalctl -u docker`).
    let log = engine.log();
    assert!(
        log.lines().any(|l| l.contains("level=error")
            && l.contains(&format!("container-name=/{stream}"))
            && l.contains("failed to create Cloudwatch log stream")),
        "dockerd did not report the unreachable endpoint:\n{log}"
    );
}
