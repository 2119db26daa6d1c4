//! Per-project secrets: they reach the project's containers and nowhere else.

use std::os::unix::fs::MetadataExt;

use kelev_e2e::{docker, World};

const PLANTED: &str = "pl4nted-s3cret-$HOME-`id`-value";

fn env_of(world: &World, project: &str) -> Vec<String> {
    let container = world.container(project, "web");
    serde_json::from_str(&docker(&[
        "inspect",
        "-f",
        "{{json .Config.Env}}",
        &container,
    ]))
    .unwrap()
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Docker, sshd and lighttpd: run scripts/test (cargo test --features e2e)"
)]
fn secrets_reach_the_container_and_nowhere_else() {
    let syslog = kelev_e2e::SyslogCapture::start();
    let (world, sites) = World::with_sites(&[("fun", "s\n"), ("other", "o\n")]);
    let [site, other] = <[_; 2]>::try_from(sites).ok().unwrap();
    let name = site.name.clone();
    let put = format!("secrets-put {name}");

    // "*" does not reach secrets: the verbs must be named.
    world
        .ssh(put.as_str())
        .stdin(format!("DB_PASSWORD={PLANTED}\n"))
        .run()
        .code(77);
    world.write_config(&serde_json::json!({"keys": {
        "ci": {"verbs": ["*", "secrets-put", "secrets", "secrets-unset"], "projects": ["*"]},
        "fun-ci": {"verbs": ["deploy", "status"], "projects": [name]},
    }}));
    world
        .ssh_as("fun-ci", put.as_str())
        .stdin("A=b\n")
        .run()
        .code(77);

    let mut outputs = Vec::new();
    let out = world
        .ssh(put.as_str())
        .stdin(format!("DB_PASSWORD={PLANTED}\nAPI_KEY=k-1\n"))
        .run()
        .ok();
    assert!(
        out.stdout.contains("set for") && out.stdout.contains("API_KEY, DB_PASSWORD"),
        "{}",
        out.report()
    );
    outputs.push(out);
    let file = world.secrets_file(&name);
    let meta = std::fs::metadata(&file).unwrap();
    assert_eq!(meta.mode() & 0o777, 0o600);
    assert_eq!(
        meta.uid().to_string(),
        kelev_e2e::Run::new("id")
            .args(["-u", kelev_e2e::DEPLOY_USER])
            .run()
            .ok()
            .stdout
            .trim()
    );

    let out = world.ssh(format!("deploy {name}")).run().ok();
    outputs.push(out);
    let env = env_of(&world, &name);
    assert!(
        env.contains(&format!("DB_PASSWORD={PLANTED}")),
        "literal, not interpolated: {env:?}"
    );
    assert!(env.contains(&"API_KEY=k-1".to_owned()));
    // Only this project's containers get them.
    world.ssh(format!("deploy {}", other.name)).run().ok();
    assert!(!env_of(&world, &other.name)
        .iter()
        .any(|e| e.starts_with("DB_PASSWORD=")));

    let list = world.ssh(format!("secrets {name}")).run().ok();
    let lines: Vec<&str> = list.stdout.lines().collect();
    assert_eq!(lines.len(), 2);
    assert!(
        lines[0].starts_with("API_KEY sha256:") && lines[1].starts_with("DB_PASSWORD sha256:"),
        "{lines:?}"
    );
    outputs.push(list);
    outputs.push(world.ssh(format!("status {name} --json")).run().ok());
    outputs.push(world.ssh("status").run().ok());
    outputs.push(
        world
            .ssh(format!("deploy {name} --force --json"))
            .run()
            .ok(),
    );

    // Hostile input: refused (65), nothing changed, the value never echoed.
    let before = std::fs::read(&file).unwrap();
    for input in [
        format!("db_password={PLANTED}\n"),
        format!("DB PASSWORD={PLANTED}\n"),
        format!("DB=PASS={PLANTED}\n").replacen("DB=PASS", "DB\u{e4}", 1),
        format!("{PLANTED}\n"),
        format!("DB_PASSWORD={PLANTED}\0x\n"),
        "X=".to_owned() + &"a".repeat(70 * 1024),
    ] {
        let out = world.ssh(put.as_str()).stdin(input).run().code(65);
        outputs.push(out);
        assert_eq!(
            std::fs::read(&file).unwrap(),
            before,
            "refused input changed the secrets"
        );
    }

    // A new value reaches the containers with --restart, without a build.
    let images = world.images(&name);
    let out = world
        .ssh(format!("{put} --restart"))
        .stdin("API_KEY=k-2\n")
        .run()
        .ok();
    outputs.push(out);
    assert!(env_of(&world, &name).contains(&"API_KEY=k-2".to_owned()));
    assert_eq!(world.images(&name), images);

    // Unset: gone from the list, and the next deploy is not `unchanged`.
    world
        .ssh(format!("secrets-unset {name} API_KEY"))
        .run()
        .ok()
        .stdout_has("removed from");
    assert!(!world
        .ssh(format!("secrets {name}"))
        .run()
        .ok()
        .stdout
        .contains("API_KEY"));
    let out = world.ssh(format!("deploy {name}")).run().ok();
    assert!(out.last_line().starts_with("deployed"), "{}", out.report());
    assert!(!env_of(&world, &name)
        .iter()
        .any(|e| e.starts_with("API_KEY=")));

    // The planted value appears in no output, no error, no audit line, no status.
    let audit = std::fs::read_to_string(world.audit_log()).unwrap();
    let value_part = "pl4nted-s3cret";
    for out in &outputs {
        assert!(
            !out.stdout.contains(value_part) && !out.stderr.contains(value_part),
            "leaked:\n{}",
            out.report()
        );
    }
    assert!(!audit.contains(value_part), "leaked into the audit log");
    // Every invocation went to syslog too, under the ident kelev-agent, without the value.
    let logged = syslog.lines();
    let puts = logged
        .iter()
        .filter(|l| l.contains("kelev-agent[") && l.contains("\"verb\":\"secrets-put\""))
        .count();
    assert!(
        puts >= 8,
        "secrets-put calls in syslog: {puts} of {}",
        logged.len()
    );
    assert!(
        logged.iter().all(|l| !l.contains(value_part)),
        "leaked into syslog"
    );
    for path in walk(&world.root) {
        let is_store = path == file || path.to_string_lossy().contains("/overrides/");
        if !is_store && path.is_file() {
            let bytes = std::fs::read(&path).unwrap_or_default();
            assert!(
                !String::from_utf8_lossy(&bytes).contains(value_part),
                "leaked into {}",
                path.display()
            );
        } else if is_store && path.is_file() {
            assert_eq!(
                std::fs::metadata(&path).unwrap().mode() & 0o077,
                0,
                "{} is readable by others",
                path.display()
            );
        }
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() && !path.is_symlink() {
            if !path.ends_with("repo.git") {
                out.extend(walk(&path));
            }
        } else {
            out.push(path);
        }
    }
    out
}
