//! Safe deploys: a release that does not come up is replaced by the one that ran, and rollback
//! goes back without building.

use kelev_e2e::World;

use crate::e2e_test;

/// A compose file whose healthcheck fetches /ok from the site itself.
const HEALTHCHECKED: &str = "services:\n  web:\n    build: .\n    init: true\n    healthcheck:\n      test: [\"CMD\", \"/bin/busybox\", \"wget\", \"-q\", \"-O\", \"/dev/null\", \"http://127.0.0.1/ok\"]\n      interval: 1s\n      timeout: 2s\n      retries: 2\n";

e2e_test! {
    fn unhealthy_release_is_replaced_by_the_running_one() {
        let mut world = World::new();
        let site = world.site("health", "good\n");
        site.write("compose.yaml", HEALTHCHECKED);
        site.write("www/ok", "ok\n");
        let good = site.commit("healthy");
        world.install_manifest(&world.manifest(&[world.entry(&site)]));
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
        assert!(out.stdout.contains("last 20 log lines of `web`"), "{}", out.report());
        assert_eq!(world.page(&name), "good\n");
        let status = world.status(&name);
        assert_eq!(status["commit"], good.as_str());
        assert_eq!(status["checkout"], good.as_str());
        assert_eq!(status["state"], "running");

        // A release that crashes on start is refused the same way.
        site.write("Dockerfile", "FROM scratch\nCOPY busybox /bin/busybox\nCOPY www /www\nCMD [\"/bin/busybox\", \"false\"]\n");
        let crashing = site.commit("crash");
        world.ssh(format!("deploy {name} {crashing}")).run().code(1).stderr_has("did not come up");
        assert_eq!(world.page(&name), "good\n");
        assert_eq!(world.status(&name)["commit"], good.as_str());
    }
}

e2e_test! {
    fn rollback_goes_back_without_building() {
        let mut world = World::new();
        let site = world.site("back", "A\n");
        let a = site.head();
        world.install_manifest(&world.manifest(&[world.entry(&site)]));
        let name = site.name.clone();
        world.ssh(format!("rollback {name}")).run().code(1).stderr_has("nothing runs");
        world.ssh(format!("deploy {name} {a}")).run().ok();
        world.ssh(format!("rollback {name}")).run().code(1).stderr_has("no earlier release is kept");
        site.write("www/index.html", "B\n");
        let b = site.commit("b");
        world.ssh(format!("deploy {name} {b}")).run().ok();
        assert_eq!(world.page(&name), "B\n");

        let images = world.images(&name);
        let out = world.ssh(format!("rollback {name}")).run().ok();
        assert!(out.last_line().starts_with(&format!("rolled-back {name} at {a}")), "{}", out.report());
        assert!(!out.stdout.contains("building"), "{}", out.report());
        assert_eq!(world.images(&name), images, "no image built");
        assert_eq!(world.page(&name), "A\n");
        let status = world.status(&name);
        assert_eq!(status["commit"], a.as_str());
        assert_eq!(status["checkout"], a.as_str());
        let audit = world.audit_lines();
        assert!(
            audit.iter().any(|l| l["verb"] == "rollback" && l["commit"] == a.as_str() && l["result"] == "ok"),
            "rollback is audited like a deploy"
        );

        // B left the history: deploying B again builds nothing new but is a deploy, not unchanged.
        world.ssh(format!("deploy {name} {b}")).run().ok();
        assert_eq!(world.page(&name), "B\n");
    }
}
