//! rollback: back to the previous release without building.

use kelev_e2e::World;

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Docker, sshd and lighttpd: run scripts/test (cargo test --features e2e)"
)]
fn rollback_goes_back_without_building() {
    let (world, site) = World::with_site("back", "A\n");
    let a = site.head();
    let name = site.name.clone();
    world
        .ssh(format!("rollback {name}"))
        .run()
        .code(1)
        .stderr_has("nothing runs");
    world.ssh(format!("deploy {name} {a}")).run().ok();
    world
        .ssh(format!("rollback {name}"))
        .run()
        .code(1)
        .stderr_has("no earlier release is kept");
    site.write("www/index.html", "B\n");
    let b = site.commit("b");
    world.ssh(format!("deploy {name} {b}")).run().ok();
    assert_eq!(world.page(&name), "B\n");

    let images = world.images(&name);
    let out = world.ssh(format!("rollback {name}")).run().ok();
    assert!(
        out.last_line()
            .starts_with(&format!("rolled-back {name} at {a}")),
        "{}",
        out.report()
    );
    assert!(!out.stdout.contains("building"), "{}", out.report());
    assert_eq!(world.images(&name), images, "no image built");
    assert_eq!(world.page(&name), "A\n");
    let status = world.status(&name);
    assert_eq!(status["commit"], a.as_str());
    assert_eq!(status["checkout"], a.as_str());
    let audit = world.audit_lines();
    assert!(
        audit
            .iter()
            .any(|l| l["verb"] == "rollback" && l["commit"] == a.as_str() && l["result"] == "ok"),
        "rollback is audited like a deploy"
    );

    // B left the history: deploying B again builds nothing new but is a deploy, not unchanged.
    world.ssh(format!("deploy {name} {b}")).run().ok();
    assert_eq!(world.page(&name), "B\n");
}
