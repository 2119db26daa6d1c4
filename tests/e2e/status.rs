//! status through sshd: what runs, as Docker reports it, and the routing the override set.

use kelev_e2e::{assert_golden, docker, World};

/// The override puts the routed service on the `web` network with Traefik's labels.
#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Docker, sshd and lighttpd: run scripts/test (cargo test --features e2e)"
)]
fn labels_networks_and_status() {
    let mut world = World::new();
    let site = world.site("fun", "hi\n");
    // In the manifest, never deployed: a row of its own in the table.
    let idle = world.site("idle", "idle\n");
    let name = site.name.clone();
    let mut entry = world.entry(&site);
    entry["domains"] = serde_json::json!(["a.kelev.test", "b.kelev.test"]);
    entry["port"] = serde_json::json!(80);
    world.install_manifest(&world.manifest(&[entry, world.entry(&idle)]));
    let commit = site.head();
    world.ssh(format!("deploy {name}")).run().ok();

    let container = format!("{name}-web-1");
    let labels: serde_json::Value = serde_json::from_str(&docker(&[
        "inspect",
        "-f",
        "{{json .Config.Labels}}",
        &container,
    ]))
    .unwrap();
    // One router, `<project>-<8 hex digits>`, and its service of the same name.
    let routers: Vec<&str> = labels
        .as_object()
        .unwrap()
        .keys()
        .filter_map(|k| {
            k.strip_prefix("traefik.http.routers.")?
                .strip_suffix(".rule")
        })
        .collect();
    assert_eq!(routers.len(), 1, "{labels}");
    let route = routers[0];
    let hex = route
        .strip_prefix(&format!("{name}-"))
        .expect("named after the project");
    assert!(
        hex.len() == 8 && hex.chars().all(|c| c.is_ascii_hexdigit()),
        "{route}"
    );
    let router = format!("traefik.http.routers.{route}");
    assert_eq!(labels["traefik.enable"], "true");
    assert_eq!(
        labels[format!("{router}.rule")],
        "Host(`a.kelev.test`) || Host(`b.kelev.test`)"
    );
    assert_eq!(labels[format!("{router}.entrypoints")], "websecure");
    assert_eq!(labels[format!("{router}.tls.certresolver")], "letsencrypt");
    assert_eq!(labels[format!("{router}.service")], route);
    assert_eq!(
        labels[format!("traefik.http.services.{route}.loadbalancer.server.url")],
        format!("http://{name}.web:80")
    );
    assert_eq!(labels["traefik.docker.network"], "web");
    assert_eq!(labels["dev.kelev.commit"], commit.as_str());

    let networks: serde_json::Value = serde_json::from_str(&docker(&[
        "inspect",
        "-f",
        "{{json .NetworkSettings.Networks}}",
        &container,
    ]))
    .unwrap();
    assert!(networks.get("web").is_some(), "joined web: {networks}");
    assert!(
        networks.get(format!("{name}_default")).is_some(),
        "kept default: {networks}"
    );
    let restart = docker(&[
        "inspect",
        "-f",
        "{{.HostConfig.RestartPolicy.Name}}",
        &container,
    ]);
    assert_eq!(restart.trim(), "unless-stopped");
    let image = docker(&["inspect", "-f", "{{.Config.Image}}", &container]);
    assert_eq!(image.trim(), format!("kelev-{name}-web:{commit}"));

    // status --json, the contract's shape.
    let status = world.status(&name);
    assert_eq!(status["name"], name.as_str());
    assert_eq!(status["commit"], commit.as_str());
    assert_eq!(status["checkout"], commit.as_str());
    assert_eq!(status["state"], "running");
    assert_eq!(status["content_hash"].as_str().unwrap().len(), 64);
    assert!(status["deployed_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(
        status["containers"],
        serde_json::json!([{"service": "web", "state": "running", "health": null}])
    );

    // The text table says the same, whole: the volatile columns are put in, not skipped.
    let values = [
        ("prefix", world.prefix.as_str()),
        ("commit", &commit[..12]),
        ("deployed_at", status["deployed_at"].as_str().unwrap()),
    ];
    let table = world.ssh("status").run().ok().stderr_is("").stdout;
    assert_golden(World::golden("status.expected"), &values, &table);
    let one = world.ssh(format!("status {name}")).run().ok().stdout;
    assert_golden(World::golden("status-one.expected"), &values, &one);

    // Stopped behind our back: status tells the truth.
    docker(&["stop", "-t", "1", &container]);
    assert_eq!(world.status(&name)["state"], "stopped");
    // ...and deploy does not call a stopped release unchanged.
    world
        .ssh(format!("deploy {name} {commit}"))
        .run()
        .ok()
        .stdout_has("starting");
    assert_eq!(world.status(&name)["state"], "running");

    // logs shows the container's output.
    world.ssh(format!("logs {name} --tail 5")).run().ok();

    // Data directory and variables reach compose.
    assert!(world.data_dir(&name).is_dir());
}
