//! Failures that must leave the running release serving: a failed build, an unreachable Docker
//! engine, SIGTERM mid-build, and a client that hangs up mid-deploy.

use std::time::{Duration, Instant};

use kelev_e2e::{dockerfile, World};

use crate::e2e_test;

e2e_test! {
    fn failed_build_keeps_the_old_release_serving() {
        let mut world = World::new();
        let site = world.site("fail", "good\n");
        world.install_manifest(&world.manifest(&[world.entry(&site)]));
        let good = site.head();
        world.ssh(format!("deploy {}", site.name)).run().ok();

        site.write("Dockerfile", &dockerfile(Some("\"false\"")));
        site.write("www/index.html", "broken\n");
        let bad = site.commit("broken");
        let out = world.ssh(format!("deploy {} {bad}", site.name)).run().code(1);
        let out = out.stderr_has("compose build");
        assert_eq!(out.stderr.lines().filter(|l| l.starts_with("error:")).count(), 1, "{}", out.report());
        assert_eq!(world.page(&site.name), "good\n");
        let status = world.status(&site.name);
        assert_eq!(status["commit"], good.as_str());
        assert_eq!(status["checkout"], good.as_str());
        assert_eq!(status["state"], "running");
        let releases = world.root.join("projects").join(&site.name).join("releases");
        for entry in std::fs::read_dir(releases).unwrap() {
            let name = entry.unwrap().file_name();
            assert!(!name.to_string_lossy().starts_with(".tmp"), "no partial release left");
        }
    }
}

e2e_test! {
    fn unreachable_docker_is_69() {
        let mut world = World::new();
        let site = world.site("nodocker", "x\n");
        world.install_manifest(&world.manifest(&[world.entry(&site)]));
        let dead = "unix:///nonexistent/docker.sock";
        world.write_config(&serde_json::json!({
            "docker": ["docker", "-H", dead],
            "compose": ["docker", "-H", dead, "compose"],
        }));
        for command in ["status".to_owned(), format!("deploy {}", site.name)] {
            let out = world.ssh(command).run().code(69);
            assert_eq!(out.stderr.lines().count(), 1, "one line: {}", out.report());
            out.stderr_has("error: docker is unreachable");
        }
    }
}

e2e_test! {
    /// SIGTERM during a build: children stopped, no partial release, lock released, the old
    /// release still serving, and the next deploy works.
    fn sigterm_mid_build_aborts_cleanly() {
        let mut world = World::new();
        let site = world.site("term", "old\n");
        world.install_manifest(&world.manifest(&[world.entry(&site)]));
        world.ssh(format!("deploy {}", site.name)).run().ok();
        site.write("Dockerfile", &dockerfile(Some("\"sleep\", \"30\"")));
        site.write("www/index.html", "new\n");
        let slow = site.commit("slow");

        let started = Instant::now();
        let child = world.local(&["deploy", &site.name, &slow]).spawn();
        let pid = child.id() as i32;
        // Wait until the build runs (the agent said so), then ask it to stop.
        let deadline = Instant::now() + Duration::from_secs(30);
        let building = world.root.join("projects").join(&site.name).join("overrides").join(format!("{slow}.json"));
        while !building.exists() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        std::thread::sleep(Duration::from_secs(2));
        terminate(pid);
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains("interrupted by SIGTERM"), "{stderr}");
        assert!(started.elapsed() < Duration::from_secs(25), "the 30 s build was stopped");
        assert_eq!(world.page(&site.name), "old\n");
        assert_ne!(world.status(&site.name)["commit"], slow.as_str());
        // The lock is free again.
        site.write("Dockerfile", &dockerfile(None));
        let fixed = site.commit("fixed");
        world.ssh(format!("deploy {} {fixed}", site.name)).run().ok();
        assert_eq!(world.page(&site.name), "new\n");
    }
}

e2e_test! {
    /// The CI job's ssh dies mid-build; the deploy still finishes on the host.
    fn client_disconnect_does_not_abort() {
        let mut world = World::new();
        let site = world.site("hangup", "before\n");
        world.install_manifest(&world.manifest(&[world.entry(&site)]));
        site.write("Dockerfile", &dockerfile(Some("\"sleep\", \"3\"")));
        site.write("www/index.html", "after\n");
        let commit = site.commit("slow");
        let mut client = world.ssh(format!("deploy {} {commit}", site.name)).spawn();
        std::thread::sleep(Duration::from_millis(1500));
        client.kill().unwrap();
        let _ = client.wait();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let status = world.status(&site.name);
            if status["commit"] == commit.as_str() && status["state"] == "running" {
                break;
            }
            assert!(Instant::now() < deadline, "deploy did not finish after the client left: {status}");
            std::thread::sleep(Duration::from_millis(500));
        }
        assert_eq!(world.page(&site.name), "after\n");
    }
}

fn terminate(pid: i32) {
    kelev_e2e::Run::new("kill")
        .args(["-TERM", &pid.to_string()])
        .run()
        .ok();
}

e2e_test! {
    /// A build that outlasts deploy_timeout_secs is stopped; the old release keeps serving.
    fn deploy_timeout_stops_the_build() {
        let mut world = World::new();
        let site = world.site("timeout", "old\n");
        world.install_manifest(&world.manifest(&[world.entry(&site)]));
        world.ssh(format!("deploy {}", site.name)).run().ok();
        world.write_config(&serde_json::json!({"deploy_timeout_secs": 3}));
        site.write("Dockerfile", &dockerfile(Some("\"sleep\", \"60\"")));
        site.write("www/index.html", "new\n");
        let slow = site.commit("slow");
        let started = Instant::now();
        world
            .ssh(format!("deploy {} {slow}", site.name))
            .run()
            .code(1)
            .stderr_has("interrupted by the deploy timeout");
        assert!(started.elapsed() < Duration::from_secs(40));
        assert_eq!(world.page(&site.name), "old\n");
    }
}
