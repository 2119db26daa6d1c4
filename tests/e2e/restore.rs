//! The restore drill, with a copy standing in for the snapshot: copy the agent root (data
//! included) to a fresh place, take the old host away (its root, containers, networks and
//! images), point agent.json at the copy and run `rebuild-all`. Every project serves what it
//! served before and its data files are byte-identical. The drill's wall time is printed for
//! docs/benchmarks.md.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use kelev_e2e::{docker, Run, World, DEPLOY_USER};

/// Every file under `dir` with its bytes, keyed by its path relative to `dir`.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(base, &path, out);
            } else {
                let name = path.strip_prefix(base).unwrap().display().to_string();
                out.insert(name, std::fs::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// Bytes that are not all alike, reproducibly.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// Take down everything Docker holds of `project`: containers, its network and its images.
fn forget(project: &str) {
    let label = format!("label=com.docker.compose.project={project}");
    let ids = docker(&["ps", "-aq", "--filter", &label]);
    let mut args = vec!["rm", "-f"];
    args.extend(ids.split_whitespace());
    assert!(args.len() > 2, "{project} has containers to remove");
    docker(&args);
    docker(&["network", "rm", &format!("{project}_default")]);
    let reference = format!("reference=kelev-{project}-*");
    let images = docker(&["images", "-q", "--filter", &reference]);
    let mut args = vec!["rmi", "-f"];
    args.extend(images.split_whitespace());
    if args.len() > 2 {
        docker(&args);
    }
    assert_eq!(docker(&["ps", "-aq", "--filter", &label]).trim(), "");
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Docker, sshd and lighttpd: run scripts/test (cargo test --features e2e)"
)]
fn rebuild_all_from_a_copy_of_the_root_serves_everything_again() {
    let mut world = World::new();
    let one = world.site("one", "one A\n");
    let one_a = one.head();
    one.write("www/index.html", "one B\n");
    let one_b = one.commit("b");
    let two = world.site("two", "two A\n");
    // A project with a `./data` bind and a database-like service on a named volume.
    let state = crate::stateful::stateful_site(&mut world);
    let mut state_entry = world.entry(&state);
    state_entry["service"] = "web".into();
    world.install_manifest(&world.manifest(&[world.entry(&one), world.entry(&two), state_entry]));
    // `one` runs its second release, so the restore must bring back B, not the first.
    world.ssh(format!("deploy {} {one_a}", one.name)).run().ok();
    world.ssh(format!("deploy {} {one_b}", one.name)).run().ok();
    world.ssh(format!("deploy {}", two.name)).run().ok();
    world.ssh(format!("deploy {}", state.name)).run().ok();
    let state_data = world.data_dir(&state.name).join("data");
    let state_before = files(&state_data);
    let db_before = docker(&[
        "exec",
        &world.container(&state.name, "db"),
        "/bin/busybox",
        "cat",
        "/var/lib/db/starts",
    ]);

    let mut before = BTreeMap::new();
    for (i, name) in [&one.name, &two.name].into_iter().enumerate() {
        let data = world.data_dir(name);
        std::fs::create_dir_all(data.join("uploads/2026")).unwrap();
        std::fs::write(data.join("app.db"), noise(256 << 10, i as u64 + 1)).unwrap();
        std::fs::write(
            data.join("uploads/2026/photo.bin"),
            noise(64 << 10, i as u64 + 7),
        )
        .unwrap();
        std::fs::write(data.join("notes.txt"), format!("notes of {name}\n")).unwrap();
        Run::new("chown")
            .args(["-R", &format!("{DEPLOY_USER}:{DEPLOY_USER}")])
            .arg(&data)
            .run()
            .ok();
        let status = world.status(name);
        before.insert(
            name.clone(),
            (files(&data), world.page(name), status["commit"].clone()),
        );
    }
    assert_eq!(before[&one.name].2, one_b.as_str());

    // The drill.
    let started = Instant::now();
    let restored = world.dir.join("restored-root");
    Run::new("cp")
        .arg("-a")
        .arg(&world.root)
        .arg(&restored)
        .run()
        .ok();
    let copied = started.elapsed();
    // The old host is gone: its files, its containers, networks and images.
    let old_host = world.dir.join("old-host-root");
    std::fs::rename(&world.root, &old_host).unwrap();
    // Docker's data-root is on the data volume (bootstrap/init.sh), so the snapshot holds
    // the named volumes: they stay, as the copy of the root does; the rest goes.
    for name in before.keys().chain([&state.name]) {
        forget(name);
    }
    world.root = restored.clone();
    world.write_config(&serde_json::json!({}));
    let torn_down = started.elapsed();
    // The snapshot is enough: the git remotes are away while it rebuilds.
    let remotes = world.dir.join("remotes");
    let offline = world.dir.join("remotes-offline");
    std::fs::rename(&remotes, &offline).unwrap();
    let out = world.ssh("rebuild-all").run();
    std::fs::rename(&offline, &remotes).unwrap();
    let out = out.ok();
    let mut pages = BTreeMap::new();
    for name in before.keys() {
        pages.insert(name.clone(), world.page(name));
    }
    pages.insert(state.name.clone(), world.page(&state.name));
    let total = started.elapsed();
    eprintln!(
            "restore drill: {} projects serving again in {:.1}s (copy {:.1}s, teardown {:.1}s, \
             rebuild-all {:.1}s; images rebuilt from the copied releases, Docker's build cache warm)",
            before.len() + 1,
            total.as_secs_f64(),
            copied.as_secs_f64(),
            (torn_down - copied).as_secs_f64(),
            (total - torn_down).as_secs_f64(),
        );

    for name in [&one.name, &two.name] {
        let row = out
            .stdout
            .lines()
            .find(|l| l.starts_with(name.as_str()))
            .unwrap();
        assert!(row.contains("rebuilt"), "{}", out.report());
        let (data, page, commit) = &before[name];
        assert_eq!(&pages[name], page, "{name} serves what it served");
        let status = world.status(name);
        assert_eq!(status["state"], "running", "{status}");
        assert_eq!(&status["commit"], commit, "{status}");
        assert_eq!(&status["checkout"], commit, "{status}");
        let restored_data = files(&restored.join("data").join(name));
        assert_eq!(
            restored_data.keys().collect::<Vec<_>>(),
            data.keys().collect::<Vec<_>>()
        );
        assert!(
            restored_data == *data,
            "{name}'s data files are byte-identical"
        );
        // Nothing refers to the old root any more.
        let state =
            std::fs::read_to_string(restored.join("projects").join(name).join("state.json"))
                .unwrap();
        assert!(
            !state.contains(&format!("{}/", world.dir.join("root").display())),
            "state.json still names the old root: {state}"
        );
    }
    // The stateful project: its bind byte for byte, one start more (the restore's own), and
    // the database's volume with what it held.
    let restored_state = restored.join("data").join(&state.name).join("data");
    let after = files(&restored_state);
    assert_eq!(
        after.keys().collect::<Vec<_>>(),
        state_before.keys().collect::<Vec<_>>()
    );
    for (file, bytes) in &state_before {
        assert!(after[file].starts_with(bytes), "{file} kept what it held");
    }
    let starts = String::from_utf8(after["starts"].clone()).unwrap();
    assert_eq!(
        crate::stateful::lines(&starts),
        2,
        "one start before the drill, one after"
    );
    let db_after = docker(&[
        "exec",
        &world.container(&state.name, "db"),
        "/bin/busybox",
        "cat",
        "/var/lib/db/starts",
    ]);
    assert!(
        db_after.starts_with(&db_before),
        "the database's volume kept what it held"
    );
    assert_eq!(pages[&state.name], "page 1\n");
}
