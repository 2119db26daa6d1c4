//! rebuild-all over three projects, one of which fails to build.

use kelev_e2e::{dockerfile, World};

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Docker, sshd and lighttpd: run scripts/test (cargo test --features e2e)"
)]
fn rebuild_all_continues_past_a_failure() {
    let mut world = World::new();
    let a = world.site("a", "project a\n");
    let b = world.site("b", "project b\n");
    let c = world.site("c", "project c\n");
    // b's build fails: its Dockerfile runs `busybox false`.
    b.write("Dockerfile", &dockerfile(Some("\"false\"")));
    b.commit("broken build");
    world.install_manifest(&world.manifest(&[world.entry(&a), world.entry(&b), world.entry(&c)]));

    let out = world.ssh("rebuild-all").run().code(1);
    let table: Vec<&str> = out
        .stdout
        .lines()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    assert!(table[0].starts_with("PROJECT"), "{}", out.report());
    assert!(
        table[1].starts_with(&a.name) && table[1].contains("rebuilt"),
        "{}",
        out.report()
    );
    assert!(
        table[2].starts_with(&b.name) && table[2].contains("failed"),
        "{}",
        out.report()
    );
    assert!(
        table[3].starts_with(&c.name) && table[3].contains("rebuilt"),
        "{}",
        out.report()
    );
    let out = out.stderr_has("1 of 3 projects failed");

    assert_eq!(world.page(&a.name), "project a\n");
    assert_eq!(world.page(&c.name), "project c\n");
    assert_eq!(world.status(&b.name)["state"], "not-deployed");
    // Locks were taken in name order: the audit line is one, the projects ran a, b, c.
    let order: Vec<usize> = [&a.name, &b.name, &c.name]
        .iter()
        .map(|n| out.stdout.find(&format!("== {n}")).unwrap())
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]));
}
