//! Two deploys of one project serialize on its lock; a held lock times out with 75. And under
//! load: 20 deploy, rebuild, status and rollback calls at once through sshd on three projects.
//! Each ends with a defined exit code, nothing is corrupted, and afterwards what runs, what
//! `state.json` says and what the audit log says all agree.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use kelev_e2e::{dockerfile, wait_until, Run, World};

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Docker, sshd and lighttpd: run scripts/test (cargo test --features e2e)"
)]
fn concurrent_deploys_serialize() {
    let (world, site) = World::with_site("busy", "one\n");
    // A build that takes a while, so the two runs overlap.
    site.write("Dockerfile", &dockerfile(Some("\"sleep\", \"2\"")));
    let commit = site.commit("slow");
    let name = &site.name;

    let first = world.ssh(format!("deploy {name} {commit} --force")).spawn();
    wait_until(
        "the first deploy to hold the lock",
        Duration::from_secs(60),
        || world.lock_held(name),
    );
    let second = world
        .ssh(format!("deploy {name} {commit} --force"))
        .run()
        .ok();
    let first = first.wait_with_output().unwrap();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    second.stdout_has("waiting for the lock");
    assert_eq!(world.status(name)["state"], "running");
    assert_eq!(world.page(name), "one\n");
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Docker, sshd and lighttpd: run scripts/test (cargo test --features e2e)"
)]
fn lock_wait_times_out_with_75() {
    let (world, site) = World::with_site("held", "x\n");
    world.write_config(&serde_json::json!({"lock_timeout_secs": 1}));
    let lock = world.lock_file(&site.name);
    std::fs::create_dir_all(lock.parent().unwrap()).unwrap();
    std::fs::write(&lock, "").unwrap();
    Run::new("chown")
        .args(["-R", kelev_e2e::DEPLOY_USER])
        .arg(world.locks_dir())
        .run()
        .ok();
    // Someone else (here: flock(1), which keeps the lock to itself with -o) holds it.
    let mut holder = std::process::Command::new("flock")
        .arg("-o")
        .arg(&lock)
        .args(["sleep", "30"])
        .spawn()
        .unwrap();
    wait_until("flock(1) to hold the lock", Duration::from_secs(10), || {
        world.lock_held(&site.name)
    });
    world
        .ssh(format!("deploy {}", site.name))
        .run()
        .code(75)
        .stderr_has("is locked by")
        .stderr_has("gave up after 1s");
    let _ = holder.kill();
    let _ = holder.wait();
    world.ssh(format!("deploy {}", site.name)).run().ok();
}

/// The calls, cycled against the projects (7 kinds, 3 projects: every pairing occurs).
const KINDS: [&str; 7] = [
    "deploy-b",
    "status",
    "rebuild",
    "rollback",
    "deploy-a",
    "deploy-b-json",
    "status-all",
];

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Docker, sshd and lighttpd: run scripts/test (cargo test --features e2e)"
)]
fn twenty_mixed_calls_at_once_on_three_projects() {
    let mut world = World::new();
    // High enough that no call gives up on a lock: every call must finish its work.
    world.write_config(&serde_json::json!({"lock_timeout_secs": 600}));
    let mut sites = Vec::new();
    for short in ["x", "y", "z"] {
        let site = world.site(short, &format!("{short} A\n"));
        let a = site.head();
        site.write("www/index.html", &format!("{short} B\n"));
        let b = site.commit("b");
        sites.push((site, a, b));
    }
    let entries: Vec<_> = sites.iter().map(|(s, _, _)| world.entry(s)).collect();
    world.install_manifest(&world.manifest(&entries));
    for (site, a, _) in &sites {
        world.ssh(format!("deploy {} {a}", site.name)).run().ok();
    }
    let audit_before = world.audit_lines().len();

    let commands: Vec<String> = (0..20)
        .map(|i| {
            let (site, a, b) = &sites[i % 3];
            let name = &site.name;
            match KINDS[i % KINDS.len()] {
                "deploy-b" => format!("deploy {name} {b}"),
                "deploy-a" => format!("deploy {name} {a} --force"),
                "deploy-b-json" => format!("deploy {name} {b} --json"),
                "rebuild" => format!("rebuild {name}"),
                "rollback" => format!("rollback {name}"),
                "status" => format!("status {name} --json"),
                _ => "status".to_owned(),
            }
        })
        .collect();
    let started = Instant::now();
    // Each caller is read by its own thread, so no full pipe stalls a lock holder.
    let waiters: Vec<_> = commands
        .iter()
        .map(|command| {
            let child = world.ssh(command.as_str()).spawn();
            let command = command.clone();
            std::thread::spawn(move || {
                let out = child.wait_with_output().unwrap();
                let code = out.status.code().unwrap_or(-1);
                let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
                let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
                (command, code, stdout, stderr)
            })
        })
        .collect();
    let results: Vec<(String, i32, String, String)> =
        waiters.into_iter().map(|w| w.join().unwrap()).collect();
    let took = started.elapsed();

    let mut codes = BTreeMap::<i32, usize>::new();
    for (command, code, stdout, stderr) in &results {
        let shown = format!("{command}: exit {code}\n--- stdout\n{stdout}\n--- stderr\n{stderr}");
        *codes.entry(*code).or_default() += 1;
        assert!(!stderr.contains("panicked"), "{shown}");
        assert!([0, 1].contains(code), "only 0 or 1, never 75 here: {shown}");
        if *code == 1 {
            // Only a rollback with nothing to go back to may fail.
            assert!(command.starts_with("rollback "), "{shown}");
            assert!(stderr.contains("no earlier release is kept"), "{shown}");
            assert_eq!(stderr.lines().count(), 1, "one error line: {shown}");
        }
        if command.ends_with("--json") {
            serde_json::from_str::<serde_json::Value>(stdout.trim())
                .unwrap_or_else(|e| panic!("not JSON ({e}): {shown}"));
        }
    }
    eprintln!(
        "chaos: 20 calls in {:.1}s, exit codes {codes:?}",
        took.as_secs_f64()
    );

    // The audit log: exactly one line per call, with the exit code its caller saw.
    let audit = world.audit_lines();
    let storm = &audit[audit_before..];
    assert_eq!(storm.len(), 20, "one audit line per call: {storm:#?}");
    let mut logged: Vec<(String, i32)> = storm
        .iter()
        .map(|l| {
            assert_eq!(l["key"], "ci", "{l}");
            (
                l["command"].as_str().unwrap().to_owned(),
                l["exit_code"].as_i64().unwrap() as i32,
            )
        })
        .collect();
    let mut seen: Vec<(String, i32)> = results
        .iter()
        .map(|(c, code, _, _)| (c.clone(), *code))
        .collect();
    logged.sort();
    seen.sort();
    assert_eq!(logged, seen, "the audit log holds what the callers saw");

    for (site, a, b) in &sites {
        let name = &site.name;
        let project = world.project_dir(name);
        let state: serde_json::Value =
            serde_json::from_slice(&std::fs::read(project.join("state.json")).unwrap())
                .expect("state.json parses");
        let commit = state["running"]["commit"].as_str().unwrap().to_owned();
        let short = &name[world.prefix.len()..];
        let page = world.page(name);
        let served = if page == format!("{short} A\n") {
            a
        } else if page == format!("{short} B\n") {
            b
        } else {
            panic!("{name} serves {page:?}")
        };
        assert_eq!(
            &commit, served,
            "{name}: state.json names the commit that serves"
        );
        let status = world.status(name);
        assert_eq!(status["state"], "running", "{status}");
        assert_eq!(status["commit"], commit.as_str(), "{status}");
        assert_eq!(
            status["checkout"],
            commit.as_str(),
            "`current` agrees: {status}"
        );
        let releases: Vec<String> = std::fs::read_dir(project.join("releases"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(
            releases.iter().all(|r| !r.starts_with(".tmp-")),
            "{releases:?}"
        );
        // The last call that changed what runs, in audit order, is what runs.
        let last = storm
            .iter()
            .rev()
            .find(|l| {
                l["project"] == name.as_str()
                    && l["exit_code"] == 0
                    && ["deploy", "rebuild", "rollback"].contains(&l["verb"].as_str().unwrap())
            })
            .map(|l| l["commit"].as_str().unwrap().to_owned())
            .unwrap_or_else(|| a.clone());
        assert_eq!(
            commit, last,
            "{name}: the audit log's last change is what runs"
        );
    }
}
