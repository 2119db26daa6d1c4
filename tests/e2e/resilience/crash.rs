//! Crash safety: the agent SIGKILLed at random moments of a deploy, and at a chosen one (while it
//! prunes an old release). Whatever instant the process dies, `current` points at a complete
//! release, `state.json` parses, the site serves one of the two releases once the agent's
//! children are done (compose finishes a recreate the agent died in), and a normal deploy
//! afterwards succeeds. And the agent interrupted rather than killed: SIGTERM mid-build aborts
//! cleanly, a client that hangs up mid-deploy does not abort it.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use kelev_e2e::{docker, dockerfile, poll, processes, wait_every, wait_until, Remote, World};

/// Random moments, reproducibly: Knuth's MMIX LCG with a fixed seed.
struct Lcg(u64);

impl Lcg {
    fn next_below(&mut self, bound: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % bound.max(1)
    }
}

/// Read a child's pipe to its end in a thread. (The agent's docker and compose children write to
/// pipes of the agent's own, so this ends when the agent does.)
fn drain(mut pipe: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        let _ = tx.send(String::from_utf8_lossy(&bytes).into_owned());
    });
    rx
}

/// The files every release of the site has; a release lacking one is half-written.
const RELEASE_FILES: [&str; 4] = ["compose.yaml", "Dockerfile", "busybox", "www/index.html"];

/// `current` points at `releases/<one of commits>`, a directory holding the whole checkout (its
/// page is that commit's page). Returns the commit.
#[track_caller]
fn assert_current_complete(project: &Path, commits: &[(&str, &str)], context: &str) -> String {
    let target = std::fs::read_link(project.join("current"))
        .unwrap_or_else(|e| panic!("{context}: `current` is not a symlink: {e}"));
    let name = target.file_name().unwrap().to_string_lossy().into_owned();
    assert_eq!(
        target,
        Path::new("releases").join(&name),
        "{context}: `current` points into releases/"
    );
    let (commit, page) = commits
        .iter()
        .find(|(c, _)| *c == name)
        .unwrap_or_else(|| panic!("{context}: `current` points at {name:?}, not a release"));
    let dir = project.join(&target);
    for file in RELEASE_FILES {
        assert!(
            dir.join(file).is_file(),
            "{context}: release {name} lacks {file}"
        );
    }
    assert_eq!(
        std::fs::read_to_string(dir.join("www/index.html")).unwrap(),
        *page,
        "{context}: release {name} holds another commit's page"
    );
    (*commit).to_owned()
}

/// `state.json` parses and what it says runs is one of `commits`, with its files present.
#[track_caller]
fn assert_state_sound(project: &Path, commits: &[(&str, &str)], context: &str) -> String {
    let text = std::fs::read_to_string(project.join("state.json"))
        .unwrap_or_else(|e| panic!("{context}: state.json unreadable: {e}"));
    let state: serde_json::Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{context}: state.json does not parse: {e}\n{text}"));
    let commit = state["running"]["commit"].as_str().unwrap_or_default();
    assert!(
        commits.iter().any(|(c, _)| *c == commit),
        "{context}: state.json runs {commit:?}\n{text}"
    );
    commit.to_owned()
}

/// Every `web` container of `project` (by compose label, whatever its name): its state,
/// commit label and address on the `web` network.
fn web_containers(project: &str) -> Vec<(String, String, String)> {
    let ids = docker(&[
        "ps",
        "-aq",
        "--filter",
        &format!("label=com.docker.compose.project={project}"),
        "--filter",
        "label=com.docker.compose.service=web",
    ]);
    let mut containers = Vec::new();
    for id in ids.split_whitespace() {
        let out = docker(&[
            "inspect",
            "-f",
            "{{.State.Status}} {{index .Config.Labels \"dev.kelev.commit\"}} \
             {{with index .NetworkSettings.Networks \"web\"}}{{.IPAddress}}{{end}}",
            id,
        ]);
        let mut words = out.split_whitespace().map(str::to_owned);
        if let (Some(state), Some(commit)) = (words.next(), words.next()) {
            containers.push((state, commit, words.next().unwrap_or_default()));
        }
    }
    containers
}

/// Wait until no process mentions `project` on its command line any more: the docker and
/// compose children a killed agent left behind have finished (or died of the broken pipe to
/// their dead parent).
fn wait_for_orphans(project: &str) {
    wait_until(
        &format!("the processes naming `{project}` to end"),
        Duration::from_secs(120),
        || {
            let left = processes(project);
            if left.is_empty() {
                Ok(())
            } else {
                Err(format!("{left:?}"))
            }
        },
    );
}

/// The page served at `ip`, or `None` if nothing answers within a few seconds.
fn try_page(ip: &str) -> Option<String> {
    let addr = format!("{ip}:80").parse().ok()?;
    poll(Duration::from_secs(3), Duration::from_millis(100), || {
        let response = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1))
            .and_then(|mut s| {
                use std::io::Write;
                s.set_read_timeout(Some(Duration::from_secs(2)))?;
                s.write_all(b"GET / HTTP/1.0\r\nHost: test\r\n\r\n")?;
                let mut response = String::new();
                s.read_to_string(&mut response)?;
                Ok(response)
            })
            .ok()?;
        let (head, body) = response.split_once("\r\n\r\n")?;
        (head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200"))
            .then(|| body.to_owned())
    })
    .ok()
}

fn partial_releases(project: &Path) -> Vec<String> {
    std::fs::read_dir(project.join("releases"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".tmp-"))
        .collect()
}

/// Which step a killed deploy had reached, from its last progress line.
fn phase(stdout: &str) -> &'static str {
    let has = |s: &str| stdout.lines().any(|l| l.starts_with(s));
    if stdout.lines().any(|l| l.starts_with("deployed ")) {
        "finished"
    } else if has("waiting for ") {
        "health gate"
    } else if has("starting ") {
        "compose up"
    } else if has("building ") {
        "build"
    } else {
        "lock/fetch/checkout/config"
    }
}

/// 32 SIGKILLs spread over the whole length of a deploy, alternating between two commits.
#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Docker, sshd and lighttpd: run scripts/test (cargo test --features e2e)"
)]
fn sigkill_at_random_moments_never_breaks_the_release() {
    let (world, site) = World::with_site("crash", "A\n");
    let a = site.head();
    site.write("www/index.html", "B\n");
    let b = site.commit("b");
    // One kept release: every deploy checks out afresh (releases/.tmp-*), builds a fresh
    // image and prunes the other release, so a kill can land in every step there is.
    world.write_config(&serde_json::json!({"keep_releases": 1}));
    let name = site.name.clone();
    let project = world.project_dir(&name);
    let commits = [(a.as_str(), "A\n"), (b.as_str(), "B\n")];

    // How long a whole deploy takes here: the kills are spread over that span. The shortest
    // of three, so that a slow first build does not stretch it past most deploys (a kill
    // that comes after the deploy finished is no kill, and the run needs 32).
    world.ssh(format!("deploy {name} {a}")).run().ok();
    let mut span = Duration::MAX;
    for commit in [&b, &a, &b] {
        let started = Instant::now();
        world
            .local(&["deploy", &name, commit, "--force"])
            .run()
            .ok();
        span = span.min(started.elapsed());
    }
    let span_ms = span.as_millis() as u64;
    eprintln!("crash: one deploy takes {span_ms} ms; killing within that span");

    let started = Instant::now();
    let mut rng = Lcg(0x6b65_6c65_7630_0001);
    let (mut kills, mut recoveries, mut attempts) = (0, 0, 0);
    let mut phases = std::collections::BTreeMap::<&str, usize>::new();
    while kills < 32 {
        attempts += 1;
        assert!(
            attempts <= 60,
            "too many deploys finished before their kill"
        );
        let (commit, _) = commits[attempts % 2];
        let delay = Duration::from_millis(rng.next_below(span_ms));
        let mut child = world.local(&["deploy", &name, commit, "--force"]).spawn();
        let stdout = drain(child.stdout.take().unwrap());
        let stderr = drain(child.stderr.take().unwrap());
        // Time itself: the kill lands at a random moment of the deploy.
        std::thread::sleep(delay);
        let alive = child.try_wait().unwrap().is_none();
        child.kill().unwrap(); // SIGKILL
        let status = child.wait().unwrap();
        let stdout = stdout
            .recv_timeout(Duration::from_secs(10))
            .unwrap_or_default();
        let stderr = stderr
            .recv_timeout(Duration::from_secs(10))
            .unwrap_or_default();
        wait_for_orphans(&name);
        let context = format!(
            "kill {kills} (attempt {attempts}, {} ms into a deploy of {commit}, {status})\n\
                 --- stdout\n{stdout}\n--- stderr\n{stderr}",
            delay.as_millis()
        );
        assert!(!stderr.contains("panicked"), "{context}");
        if alive {
            kills += 1;
            *phases.entry(phase(&stdout)).or_default() += 1;
        } else {
            assert_eq!(status.code(), Some(0), "{context}");
        }

        assert_current_complete(&project, &commits, &context);
        assert_state_sound(&project, &commits, &context);
        // Every running `web` container serves its own release's page.
        let containers = web_containers(&name);
        let mut serving = 0;
        for (state, label, ip) in &containers {
            let expected = commits.iter().find(|(c, _)| c == label).map(|(_, p)| *p);
            assert!(
                expected.is_some(),
                "{context}\na container of an unknown commit {label}"
            );
            if state == "running" {
                if let Some(page) = try_page(ip) {
                    assert_eq!(
                        Some(page.as_str()),
                        expected,
                        "{context}\nthe page is its release's"
                    );
                    serving += 1;
                }
            }
        }
        if containers.len() != 1 || serving != 1 {
            // Killed mid-recreate (no container serving, or the old one and the new one
            // both there): the next deploy must leave exactly one, serving.
            eprintln!(
                "crash: after kill {kills} ({} ms): web containers {containers:?}",
                delay.as_millis()
            );
            recoveries += 1;
            let (next, page) = commits[(attempts + 1) % 2];
            let out = world.local(&["deploy", &name, next, "--force"]).run();
            assert_eq!(
                out.code,
                Some(0),
                "{context}\nthe next deploy failed:\n{}",
                out.report()
            );
            let containers = web_containers(&name);
            assert_eq!(
                containers.len(),
                1,
                "{context}\none `web` container after: {containers:?}"
            );
            assert_eq!(
                (containers[0].0.as_str(), containers[0].1.as_str()),
                ("running", next),
                "{context}"
            );
            assert_eq!(
                try_page(&containers[0].2).as_deref(),
                Some(page),
                "{context}"
            );
            assert_current_complete(&project, &commits, &context);
        }
    }
    eprintln!(
        "crash: {kills} kills in {attempts} deploys, {recoveries} needed the next deploy, \
             {:.1}s; kills by step: {phases:?}",
        started.elapsed().as_secs_f64()
    );
    // Compose writes to a file the agent follows, not to a pipe it holds, so a kill in the
    // middle of `compose up` no longer stops compose halfway: after every kill, once the
    // children are done, the site serves without help.
    assert_eq!(
        recoveries, 0,
        "kills that left the site down until the next deploy"
    );

    // A normal deploy of a new commit, through sshd, fetching over the crashed-on mirror.
    site.write("www/index.html", "C\n");
    let c = site.commit("c");
    let out = world.ssh(format!("deploy {name}")).run().ok();
    assert!(
        out.last_line()
            .starts_with(&format!("deployed {name} at {c}")),
        "{}",
        out.report()
    );
    assert_eq!(world.page(&name), "C\n");
    assert_eq!(web_containers(&name).len(), 1, "one `web` container");
    let status = world.status(&name);
    assert_eq!(status["state"], "running", "{status}");
    assert_eq!(status["commit"], c.as_str());
    assert_eq!(status["checkout"], c.as_str());
    let all = [
        (a.as_str(), "A\n"),
        (b.as_str(), "B\n"),
        (c.as_str(), "C\n"),
    ];
    assert_eq!(assert_current_complete(&project, &all, "after"), c);
    assert_eq!(assert_state_sound(&project, &all, "after"), c);
    assert_eq!(
        partial_releases(&project),
        Vec::<String>::new(),
        "no .tmp-* left"
    );
    let leftovers: Vec<String> = std::fs::read_dir(&project)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    eprintln!("crash: temporary files left in the project directory: {leftovers:?}");
}

/// A deploy killed while it prunes the release before it (a directory of many files, so
/// the removal takes a while) must not leave a half-deleted release that a later deploy of
/// that commit takes for a whole one.
#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Docker, sshd and lighttpd: run scripts/test (cargo test --features e2e)"
)]
fn sigkill_mid_prune_leaves_no_half_release_to_reuse() {
    let (world, site) = World::with_site("prune", "A\n");
    let files = many_files(&site, 4_000);
    let a = site.commit("many files");
    site.write("www/index.html", "B\n");
    let b = site.commit("b");
    world.write_config(&serde_json::json!({"keep_releases": 1}));
    let name = site.name.clone();
    let project = world.project_dir(&name);
    world.ssh(format!("deploy {name} {a}")).run().ok();

    // Deploy B; as soon as `current` moves to B the agent prunes A: kill it then.
    let mut child = world.local(&["deploy", &name, &b]).spawn();
    let stdout = drain(child.stdout.take().unwrap());
    let current = project.join("current");
    wait_every(
        "the deploy of B to switch `current`",
        Duration::from_secs(120),
        Duration::from_millis(2),
        || {
            assert!(
                child.try_wait().unwrap().is_none(),
                "the deploy ended before switching"
            );
            std::fs::read_link(&current).ok() == Some(Path::new("releases").join(&b))
        },
    );
    // Time itself: 30 ms into the prune that follows the switch.
    std::thread::sleep(Duration::from_millis(30));
    child.kill().unwrap();
    child.wait().unwrap();
    let _ = stdout.recv_timeout(Duration::from_secs(120));
    let release_a: PathBuf = project.join("releases").join(&a);
    eprintln!(
        "prune: after the kill releases/{a} {}",
        match count_files(&release_a.join("many")) {
            _ if !release_a.exists() => "is gone".to_owned(),
            n => format!("holds {n} of {files} files in many/"),
        }
    );

    // Going back to A must serve A from a whole checkout.
    world.ssh(format!("deploy {name} {a}")).run().ok();
    assert_eq!(world.page(&name), "A\n");
    let commits = [(a.as_str(), "A\n"), (b.as_str(), "B\n")];
    assert_eq!(assert_current_complete(&project, &commits, "after"), a);
    assert_eq!(
        count_files(&release_a.join("many")),
        files,
        "the release of A is whole"
    );
}

/// Add `n` small files under `many/` (kept out of the image by .dockerignore); returns `n`.
fn many_files(site: &Remote, n: usize) -> usize {
    for i in 0..n {
        site.write(&format!("many/{:03}/{i}.txt", i % 100), &format!("{i}\n"));
    }
    site.write(".dockerignore", "many\n");
    n
}

fn count_files(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| {
            if e.path().is_dir() {
                count_files(&e.path())
            } else {
                1
            }
        })
        .sum()
}

/// SIGTERM during a build: children stopped, no partial release, lock released, the old
/// release still serving, and the next deploy works.
#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Docker, sshd and lighttpd: run scripts/test (cargo test --features e2e)"
)]
fn sigterm_mid_build_aborts_cleanly() {
    let (world, site) = World::with_site("term", "old\n");
    world.ssh(format!("deploy {}", site.name)).run().ok();
    site.write("Dockerfile", &dockerfile(Some(&world.slow_step(30))));
    site.write("www/index.html", "new\n");
    let slow = site.commit("slow");

    let child = world.local(&["deploy", &site.name, &slow]).spawn();
    let pid = child.id() as i32;
    // Wait until the build runs its 30 s step, then ask the agent to stop.
    wait_until(
        "the deploy's build to run its 30 s step",
        Duration::from_secs(60),
        || world.slow_step_running(30),
    );
    terminate(pid);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("interrupted by SIGTERM"), "{stderr}");
    // The build was stopped, not left to run out its 30 s.
    wait_until(
        "the build's 30 s step to be stopped",
        Duration::from_secs(10),
        || !world.slow_step_running(30),
    );
    assert_eq!(world.page(&site.name), "old\n");
    assert_ne!(world.status(&site.name)["commit"], slow.as_str());
    // The lock is free again.
    site.write("Dockerfile", &dockerfile(None));
    let fixed = site.commit("fixed");
    world
        .ssh(format!("deploy {} {fixed}", site.name))
        .run()
        .ok();
    assert_eq!(world.page(&site.name), "new\n");
}

/// The CI job's ssh dies mid-build; the deploy still finishes on the host.
#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Docker, sshd and lighttpd: run scripts/test (cargo test --features e2e)"
)]
fn client_disconnect_does_not_abort() {
    let (world, site) = World::with_site("hangup", "before\n");
    site.write("Dockerfile", &dockerfile(Some(&world.slow_step(3))));
    site.write("www/index.html", "after\n");
    let commit = site.commit("slow");
    let mut client = world.ssh(format!("deploy {} {commit}", site.name)).spawn();
    wait_until(
        "the deploy's build to run its 3 s step",
        Duration::from_secs(60),
        || world.slow_step_running(3),
    );
    client.kill().unwrap();
    let _ = client.wait();
    wait_until(
        "the deploy to finish after the client left",
        Duration::from_secs(60),
        || {
            let status = world.status(&site.name);
            if status["commit"] == commit.as_str() && status["state"] == "running" {
                Ok(())
            } else {
                Err(status)
            }
        },
    );
    assert_eq!(world.page(&site.name), "after\n");
}

/// SIGTERM to `pid`, as systemd or an operator's `kill` sends it.
fn terminate(pid: i32) {
    kelev_e2e::Run::new("kill")
        .args(["-TERM", &pid.to_string()])
        .run()
        .ok();
}
