//! Two deploys of one project serialize on its lock; a held lock times out with 75.

use std::time::Duration;

use kelev_e2e::{dockerfile, Run, World};

use crate::e2e_test;

e2e_test! {
    fn concurrent_deploys_serialize() {
        let mut world = World::new();
        let site = world.site("busy", "one\n");
        // A build that takes a while, so the two runs overlap.
        site.write("Dockerfile", &dockerfile(Some("\"sleep\", \"2\"")));
        let commit = site.commit("slow");
        world.install_manifest(&world.manifest(&[world.entry(&site)]));
        let name = &site.name;

        let first = world.ssh(format!("deploy {name} {commit} --force")).spawn();
        std::thread::sleep(Duration::from_millis(300));
        let second = world.ssh(format!("deploy {name} {commit} --force")).run().ok();
        let first = first.wait_with_output().unwrap();
        assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
        second.stdout_has("waiting for the lock");
        assert_eq!(world.status(name)["state"], "running");
        assert_eq!(world.page(name), "one\n");
    }
}

e2e_test! {
    fn lock_wait_times_out_with_75() {
        let mut world = World::new();
        let site = world.site("held", "x\n");
        world.install_manifest(&world.manifest(&[world.entry(&site)]));
        world.write_config(&serde_json::json!({"lock_timeout_secs": 1}));
        let lock = world.root.join("locks").join(format!("{}.lock", site.name));
        std::fs::create_dir_all(lock.parent().unwrap()).unwrap();
        std::fs::write(&lock, "").unwrap();
        Run::new("chown").args(["-R", kelev_e2e::DEPLOY_USER]).arg(world.root.join("locks")).run().ok();
        // Someone else (here: flock(1), which keeps the lock to itself with -o) holds it.
        let mut holder = std::process::Command::new("flock")
            .arg("-o")
            .arg(&lock)
            .args(["sleep", "30"])
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(300));
        world.ssh(format!("deploy {}", site.name)).run().code(75).stderr_has("is locked by").stderr_has("gave up after 1s");
        let _ = holder.kill();
        let _ = holder.wait();
        world.ssh(format!("deploy {}", site.name)).run().ok();
    }
}
