//! Faults that must leave the running release serving and lose nothing: a failed build, a build
//! past the deploy timeout, an unreachable or stalled git remote, a full filesystem under the
//! agent root (a small tmpfs of the test's own), a corrupt `state.json` and a missing manifest.
//! Each gives one clear `error:` line and its exit code.

use std::path::{Path, PathBuf};
use std::time::Duration;

use kelev_e2e::{docker, dockerfile, wait_every, Output, Run, World, DEPLOY_USER};

/// What must not change when a deploy fails: `state.json`'s bytes, where `current` points, the
/// release directories, and the containers (same ids, same starts).
#[derive(Debug, PartialEq)]
struct Kept {
    state: Vec<u8>,
    current: Option<PathBuf>,
    releases: Vec<String>,
    containers: String,
}

fn kept(world: &World, name: &str) -> Kept {
    let project = world.project_dir(name);
    let mut releases: Vec<String> = std::fs::read_dir(project.join("releases"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    releases.sort();
    Kept {
        state: std::fs::read(project.join("state.json")).unwrap_or_default(),
        current: std::fs::read_link(project.join("current")).ok(),
        releases,
        containers: containers(name),
    }
}

/// Each container of compose project `name`: id, name, state, start time, restarts.
fn containers(name: &str) -> String {
    let filter = format!("label=com.docker.compose.project={name}");
    let ids = docker(&["ps", "-aq", "--filter", &filter]);
    let mut args = vec![
        "inspect",
        "-f",
        "{{.Id}} {{.Name}} {{.State.Status}} {{.State.StartedAt}} {{.RestartCount}}",
    ];
    args.extend(ids.split_whitespace());
    assert!(args.len() > 3, "{name} has containers");
    docker(&args)
}

/// Exactly one `error:` line on stderr, holding each of `needles`; returns it.
#[track_caller]
fn one_error(out: &Output, needles: &[&str]) -> String {
    let errors: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("error:"))
        .collect();
    assert_eq!(errors.len(), 1, "one error line\n{}", out.report());
    for needle in needles {
        assert!(
            errors[0].contains(needle),
            "error lacks {needle:?}\n{}",
            out.report()
        );
    }
    errors[0].to_owned()
}

/// A loopback port nothing listens on.
fn dead_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port()
}

/// The repository URL points at a port nothing listens on, then at a file:// path that was
/// deleted: 1, one `error:` line, and the running release is untouched.
#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Docker, sshd and lighttpd: run scripts/test (cargo test --features e2e)"
)]
fn unreachable_remote_is_1_and_keeps_serving() {
    let (world, site) = World::with_site("unreach", "old\n");
    let name = site.name.clone();
    world.ssh(format!("deploy {name}")).run().ok();
    let before = kept(&world, &name);
    site.write("www/index.html", "new\n");
    let new = site.commit("new");

    let mut entry = world.entry(&site);
    entry["repo"] = format!("http://127.0.0.1:{}/x.git", dead_port()).into();
    world.install_manifest(&world.manifest(&[entry.clone()]));
    for command in [format!("deploy {name}"), format!("deploy {name} {new}")] {
        let out = world.ssh(command).run().code(1);
        let error = one_error(&out, &[&format!("project `{name}`: git fetch failed")]);
        eprintln!("unreachable http: {error}");
        assert_eq!(out.stderr.lines().count(), 1, "{}", out.report());
        assert_eq!(kept(&world, &name), before);
        assert_eq!(world.page(&name), "old\n");
    }

    // A file:// remote that served once and was then deleted.
    let moved = world.dir.join("remotes").join("moved.git");
    Run::new("cp")
        .arg("-a")
        .arg(&site.bare)
        .arg(&moved)
        .run()
        .ok();
    entry["repo"] = format!("file://{}", moved.display()).into();
    world.install_manifest(&world.manifest(&[entry]));
    world.ssh(format!("deploy {name} {new}")).run().ok();
    assert_eq!(world.page(&name), "new\n");
    let before = kept(&world, &name);
    std::fs::remove_dir_all(&moved).unwrap();
    site.write("www/index.html", "newer\n");
    let newer = site.commit("newer");
    for command in [format!("deploy {name}"), format!("deploy {name} {newer}")] {
        let out = world.ssh(command).run().code(1);
        let error = one_error(&out, &[&format!("project `{name}`: git fetch failed")]);
        eprintln!("deleted file:// remote: {error}");
        assert_eq!(out.stderr.lines().count(), 1, "{}", out.report());
        assert_eq!(kept(&world, &name), before);
        assert_eq!(world.page(&name), "new\n");
    }
    let last = world.audit_lines().pop().unwrap();
    assert_eq!(
        (last["result"].as_str(), last["exit_code"].as_i64()),
        (Some("failed"), Some(1))
    );
    let status = world.status(&name);
    assert_eq!(status["state"], "running");
    assert_eq!(status["commit"], new.as_str());
}

/// A tmpfs mounted for one test, unmounted when dropped (also when the test fails). Declare it
/// after the `World` so that it goes first.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(path: &Path, size: &str) -> Tmpfs {
        std::fs::create_dir_all(path).unwrap();
        Run::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0755"),
                "tmpfs",
            ])
            .arg(path)
            .run()
            .ok();
        let guard = Tmpfs(path.to_owned());
        Run::new("chown")
            .arg(format!("{DEPLOY_USER}:{DEPLOY_USER}"))
            .arg(path)
            .run()
            .ok();
        guard
    }

    fn free_bytes(&self) -> u64 {
        let out = Run::new("stat")
            .args(["-f", "-c", "%a %S"])
            .arg(&self.0)
            .run()
            .ok();
        let (blocks, size) = out.stdout.trim().split_once(' ').unwrap();
        blocks.parse::<u64>().unwrap() * size.parse::<u64>().unwrap()
    }

    /// Fill the filesystem with a file at `name`, leaving about `leave` bytes free.
    fn fill(&self, name: &str, leave: u64) {
        let len = self.free_bytes().saturating_sub(leave);
        let path = self.0.join(name);
        Run::new("fallocate")
            .args(["-l", &len.to_string()])
            .arg(&path)
            .run()
            .ok();
        if leave == 0 {
            // Whatever fallocate's rounding left over.
            let _ = Run::new("dd")
                .args(["if=/dev/zero", "bs=4096"])
                .arg(format!(
                    "of={}",
                    self.0.join(format!("{name}.rest")).display()
                ))
                .run();
        }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let out = Run::new("umount").arg(&self.0).run();
        if out.code != Some(0) {
            let _ = Run::new("umount").arg("-l").arg(&self.0).run();
        }
    }
}

fn no_partial_release(world: &World, name: &str) {
    let releases = world.releases_dir(name);
    for entry in std::fs::read_dir(releases).unwrap() {
        let file = entry.unwrap().file_name();
        assert!(
            !file.to_string_lossy().starts_with(".tmp-"),
            "{file:?} left behind"
        );
    }
}

/// A world whose agent root is a fresh tmpfs of `size`, with one site deployed at "A\n" and a
/// data file; returns the world, the mount, the site and the data file's path.
fn world_on_tmpfs(short: &str, size: &str) -> (World, Tmpfs, kelev_e2e::Remote, PathBuf) {
    let mut world = World::new();
    let site = world.site(short, "A\n");
    let mount = Tmpfs::mount(&world.dir.join("small-root"), size);
    world.root = mount.0.clone();
    world.write_config(&serde_json::json!({}));
    world.install_manifest(&world.manifest(&[world.entry(&site)]));
    world.ssh(format!("deploy {}", site.name)).run().ok();
    let data = world.data_dir(&site.name).join("keep.txt");
    std::fs::write(&data, "precious\n").unwrap();
    (world, mount, site, data)
}

/// The agent root fills up: a deploy whose checkout does not fit, then one whose fetch does
/// not fit. Each is 1 with the reason, leaves no partial release, and changes nothing; once
/// space is freed the deploy goes through.
#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Docker, sshd and lighttpd: run scripts/test (cargo test --features e2e)"
)]
fn full_filesystem_is_1_and_loses_nothing() {
    let (world, mount, site, data) = world_on_tmpfs("full", "64m");
    let name = site.name.clone();
    let before = kept(&world, &name);

    // B brings a 16 MiB file: it compresses to nothing in the fetch, but not on checkout.
    site.write("www/index.html", "B\n");
    site.write("big.bin", &"\0".repeat(16 << 20));
    let b = site.commit("big");
    mount.fill("fill-1", 4 << 20);
    let out = world.ssh(format!("deploy {name} {b}")).run().code(1);
    let error = one_error(
        &out,
        &[&format!("project `{name}`"), "No space left on device"],
    );
    eprintln!("checkout on a full disk: {error}");
    assert_eq!(kept(&world, &name), before);
    no_partial_release(&world, &name);
    assert_eq!(world.page(&name), "A\n");

    // Not one byte free: the fetch of a new commit fails.
    mount.fill("fill-2", 0);
    site.write("www/index.html", "C\n");
    let c = site.commit("c");
    let out = world.ssh(format!("deploy {name}")).run().code(1);
    let error = one_error(
        &out,
        &[&format!("project `{name}`"), "No space left on device"],
    );
    eprintln!("fetch on a full disk: {error}");
    let pack = world.mirror_dir(&name).join("objects/pack");
    for entry in std::fs::read_dir(&pack).unwrap() {
        let file = entry.unwrap().file_name();
        assert!(
            file.to_string_lossy().starts_with("pack-"),
            "the failed fetch left {file:?}"
        );
    }
    assert_eq!(kept(&world, &name), before);
    no_partial_release(&world, &name);
    assert_eq!(world.page(&name), "A\n");
    let status = world.status(&name);
    assert_eq!(status["state"], "running");
    assert_eq!(status["commit"], running_commit(&before).as_str());
    assert_eq!(std::fs::read_to_string(&data).unwrap(), "precious\n");

    // Space again: the deploy goes through.
    for fill in ["fill-1", "fill-2", "fill-2.rest"] {
        let _ = std::fs::remove_file(mount.0.join(fill));
    }
    let out = world.ssh(format!("deploy {name}")).run().ok();
    assert!(
        out.last_line()
            .starts_with(&format!("deployed {name} at {c}")),
        "{}",
        out.report()
    );
    assert_eq!(world.page(&name), "C\n");
    no_partial_release(&world, &name);
    assert_eq!(std::fs::read_to_string(&data).unwrap(), "precious\n");
}

/// The commit `state.json` said was running.
fn running_commit(kept: &Kept) -> String {
    let state: serde_json::Value = serde_json::from_slice(&kept.state).unwrap();
    state["running"]["commit"].as_str().unwrap().to_owned()
}

/// The disk fills up while the new release builds (a project's data under the same root
/// grows, say). The deploy cannot record the new release, so it must not leave it running
/// unrecorded: 1, and what runs is what `state.json` says (the old release).
#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Docker, sshd and lighttpd: run scripts/test (cargo test --features e2e)"
)]
fn disk_full_during_the_build_keeps_state_and_containers_in_step() {
    let (world, mount, site, data) = world_on_tmpfs("fullbuild", "64m");
    let name = site.name.clone();
    let before = kept(&world, &name);
    site.write("Dockerfile", &dockerfile(Some("\"sleep\", \"3\"")));
    site.write("www/index.html", "B\n");
    let b = site.commit("slow build");

    let child = world.local(&["deploy", &name, &b]).spawn();
    let building = world.override_file(&name, &b);
    wait_every(
        "the deploy to write its override (its build begins)",
        Duration::from_secs(60),
        Duration::from_millis(20),
        || building.exists(),
    );
    mount.fill("fill", 0);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let report = format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{stderr}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(out.status.code(), Some(1), "{report}");
    assert!(stderr.contains("No space left on device"), "{report}");
    let status = world.status(&name);
    let page = world.page(&name);
    eprintln!(
        "disk full mid-deploy: serves {page:?}, status says {}",
        status["commit"]
    );
    assert_eq!(
        page, "A\n",
        "the old release serves, as state.json says\n{report}"
    );
    assert_eq!(kept(&world, &name).state, before.state);
    assert_eq!(kept(&world, &name).current, before.current);
    assert_eq!(std::fs::read_to_string(&data).unwrap(), "precious\n");

    let _ = std::fs::remove_file(mount.0.join("fill"));
    let _ = std::fs::remove_file(mount.0.join("fill.rest"));
    world.ssh(format!("deploy {name} {b}")).run().ok();
    assert_eq!(world.page(&name), "B\n");
}

/// A corrupt state.json: every verb that reads it says so (65) with the file's path and the
/// way out, the file is left as it is, and the running containers are not touched.
#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Docker, sshd and lighttpd: run scripts/test (cargo test --features e2e)"
)]
fn corrupt_state_is_65_and_touches_nothing() {
    let (world, site) = World::with_site("corrupt", "A\n");
    let name = site.name.clone();
    world.ssh(format!("deploy {name}")).run().ok();
    let state = world.state_file(&name);
    let torn = &std::fs::read(&state).unwrap()[..40];
    std::fs::write(&state, torn).unwrap();
    let before = kept(&world, &name);
    let path = state.display().to_string();

    for command in [
        "status".to_owned(),
        format!("status {name} --json"),
        format!("deploy {name}"),
        format!("deploy {name} --force"),
        format!("rebuild {name}"),
        format!("rollback {name}"),
    ] {
        let out = world.ssh(command).run().code(65);
        one_error(
            &out,
            &[&format!(
                "state of project `{name}` at `{path}` is unreadable"
            )],
        );
        assert_eq!(out.stderr.lines().count(), 2, "{}", out.report());
        assert_eq!(
            out.stderr.lines().nth(1),
            Some(format!("hint: remove the file and run `rebuild {name}`").as_str()),
            "{}",
            out.report()
        );
        assert_eq!(kept(&world, &name), before, "{}", out.report());
        assert_eq!(world.page(&name), "A\n");
    }

    // The hint works.
    std::fs::remove_file(&state).unwrap();
    world.ssh(format!("rebuild {name}")).run().ok();
    let status = world.status(&name);
    assert_eq!(status["state"], "running");
    assert_eq!(status["commit"], site.head().as_str());
    assert_eq!(world.page(&name), "A\n");
}

/// projects.json deleted: deploy and status are 65 and name the file; nothing is touched;
/// putting the manifest back is all it takes.
#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Docker, sshd and lighttpd: run scripts/test (cargo test --features e2e)"
)]
fn missing_manifest_is_65_and_touches_nothing() {
    let mut world = World::new();
    let site = world.site("nomanifest", "A\n");
    let manifest = world.manifest(&[world.entry(&site)]);
    world.install_manifest(&manifest);
    let name = site.name.clone();
    world.ssh(format!("deploy {name}")).run().ok();
    let before = kept(&world, &name);
    let path = world.manifest_file();
    std::fs::remove_file(&path).unwrap();

    for command in [
        "status".to_owned(),
        format!("status {name}"),
        format!("deploy {name}"),
        format!("rebuild {name}"),
    ] {
        let out = world.ssh(command).run().code(65);
        one_error(
            &out,
            &[
                &format!("`{}`", path.display()),
                "No such file or directory",
            ],
        );
        assert_eq!(out.stderr.lines().count(), 1, "{}", out.report());
        assert_eq!(kept(&world, &name), before);
        assert_eq!(world.page(&name), "A\n");
    }
    let last = world.audit_lines().pop().unwrap();
    assert_eq!(
        (last["result"].as_str(), last["exit_code"].as_i64()),
        (Some("bad-data"), Some(65))
    );

    world.install_manifest(&manifest);
    let status = world.status(&name);
    assert_eq!(status["state"], "running");
    world
        .ssh(format!("deploy {name}"))
        .run()
        .ok()
        .stdout_has("unchanged");
}

/// A remote that accepts the connection and never answers (a hung forge, a black-holing
/// proxy): `deploy` and `clone` end at `deploy_timeout_secs` with 1, and nothing changed.
#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Docker, sshd and lighttpd: run scripts/test (cargo test --features e2e)"
)]
fn a_stalled_remote_ends_at_the_deploy_timeout() {
    let (world, site) = World::with_site("stall", "old\n");
    let name = site.name.clone();
    world.ssh(format!("deploy {name}")).run().ok();
    let before = kept(&world, &name);

    // The kernel completes the handshake for the listen backlog; nobody ever reads.
    let stalled = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = stalled.local_addr().unwrap().port();
    let mut entry = world.entry(&site);
    entry["repo"] = format!("http://127.0.0.1:{port}/x.git").into();
    world.install_manifest(&world.manifest(&[entry]));
    world.write_config(&serde_json::json!({"deploy_timeout_secs": 3}));
    for verb in ["deploy", "clone"] {
        let out = world
            .ssh(format!("{verb} {name}"))
            .run_within(Duration::from_secs(30))
            .code(1);
        one_error(&out, &["interrupted by the deploy timeout"]);
        assert_eq!(kept(&world, &name), before);
        assert_eq!(world.page(&name), "old\n");
    }
    drop(stalled);
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Docker, sshd and lighttpd: run scripts/test (cargo test --features e2e)"
)]
fn failed_build_keeps_the_old_release_serving() {
    let (world, site) = World::with_site("fail", "good\n");
    let good = site.head();
    world.ssh(format!("deploy {}", site.name)).run().ok();

    site.write("Dockerfile", &dockerfile(Some("\"false\"")));
    site.write("www/index.html", "broken\n");
    let bad = site.commit("broken");
    let out = world
        .ssh(format!("deploy {} {bad}", site.name))
        .run()
        .code(1);
    let out = out.stderr_has("`compose build` failed");
    assert_eq!(
        out.stderr
            .lines()
            .filter(|l| l.starts_with("error:"))
            .count(),
        1,
        "{}",
        out.report()
    );
    assert_eq!(world.page(&site.name), "good\n");
    let status = world.status(&site.name);
    assert_eq!(status["commit"], good.as_str());
    assert_eq!(status["checkout"], good.as_str());
    assert_eq!(status["state"], "running");
    let releases = world.releases_dir(&site.name);
    for entry in std::fs::read_dir(releases).unwrap() {
        let name = entry.unwrap().file_name();
        assert!(
            !name.to_string_lossy().starts_with(".tmp"),
            "no partial release left"
        );
    }
}

/// A build that outlasts deploy_timeout_secs is stopped; the old release keeps serving.
#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Docker, sshd and lighttpd: run scripts/test (cargo test --features e2e)"
)]
fn deploy_timeout_stops_the_build() {
    let (world, site) = World::with_site("timeout", "old\n");
    world.ssh(format!("deploy {}", site.name)).run().ok();
    world.write_config(&serde_json::json!({"deploy_timeout_secs": 3}));
    site.write("Dockerfile", &dockerfile(Some("\"sleep\", \"60\"")));
    site.write("www/index.html", "new\n");
    let slow = site.commit("slow");
    // Behaviour, not speed: ended by its 3 s timeout, far from the 60 s its build would take.
    world
        .ssh(format!("deploy {} {slow}", site.name))
        .run_within(Duration::from_secs(40))
        .code(1)
        .stderr_has("interrupted by the deploy timeout");
    assert_eq!(world.page(&site.name), "old\n");
}
