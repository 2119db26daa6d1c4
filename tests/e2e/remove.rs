//! remove: a project no longer in the manifest is taken down; its data stays.

use kelev_e2e::{docker, World};

/// remove: only for projects gone from the manifest; containers go, data stays.
#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Docker, sshd and lighttpd: run scripts/test (cargo test --features e2e)"
)]
fn remove_keeps_data() {
    let (world, site) = World::with_site("gone", "bye\n");
    let name = site.name.clone();
    world.ssh(format!("deploy {name}")).run().ok();
    let marker = world.data_dir(&name).join("keep.txt");
    std::fs::write(&marker, "precious").unwrap();

    world
        .ssh(format!("remove {name}"))
        .run()
        .code(65)
        .stderr_has("still in the manifest");
    assert_eq!(world.status(&name)["state"], "running");

    world
        .ssh("manifest-put")
        .stdin(serde_json::to_vec(&world.manifest(&[])).unwrap())
        .run()
        .ok()
        .stdout_has(&format!("removed {name}"));
    assert_eq!(world.status(&name)["state"], "orphaned");
    world.ssh(format!("remove {name}")).run().ok();
    let left = docker(&[
        "ps",
        "-aq",
        "--filter",
        &format!("label=com.docker.compose.project={name}"),
    ]);
    assert_eq!(left.trim(), "");
    assert_eq!(std::fs::read_to_string(&marker).unwrap(), "precious");
}
