//! Tasks (docs/commands.md, "Tasks"): a compose service labelled `dev.kelev.task` runs only
//! when asked, and never counts as the project's state; a release task runs from the new
//! images after the build, before the new release takes traffic, and a failing one stops the
//! deploy with the old release still serving.

use kelev_e2e::{docker, Remote, World};

/// The containers of `project`'s tasks there are, running or not (`docker ps -aq`).
fn task_containers(project: &str) -> String {
    docker(&[
        "ps",
        "-aq",
        "--filter",
        &format!("label=com.docker.compose.project={project}"),
        "--filter",
        "label=dev.kelev.task",
    ])
}

/// A site and its release task `migrate`, both sharing `./data`: the migration writes the
/// schema it brings to `data/schema` and notes the page the running release served while it
/// ran; the web service serves, from its start on, the schema it found then and its page.
const COMPOSE: &str = "\
services:
  web:
    build: .
    init: true
    volumes: [\"./data:/app/data\"]
  migrate:
    build: .
    command: [\"/bin/busybox\", \"sh\", \"/migrate.sh\"]
    volumes: [\"./data:/app/data\"]
    labels:
      dev.kelev.task: migrate
      dev.kelev.task.release: \"true\"
  backfill:
    build: .
    command: [\"/bin/busybox\", \"sh\", \"-c\", \"echo backfilling with $$GREETING; echo done > /app/data/backfilled\"]
    volumes: [\"./data:/app/data\"]
    labels:
      dev.kelev.task: backfill
  seed:
    build: .
    restart: \"no\"
    command: [\"/bin/busybox\", \"true\"]
  check:
    build: .
    command: [\"/bin/busybox\", \"sh\", \"-c\", \"echo 2 orphaned rows; exit 4\"]
    labels:
      dev.kelev.task: check
";

const DOCKERFILE: &str = "\
FROM scratch
COPY busybox /bin/busybox
COPY www /www
COPY start.sh migrate.sh /
CMD [\"/bin/busybox\", \"sh\", \"/start.sh\"]
";

/// The web service: the schema as it is at the start, then the page.
const START: &str = "\
/bin/busybox mkdir -p /tmp/www
{ /bin/busybox cat /app/data/schema; /bin/busybox cat /www/index.html; } > /tmp/www/index.html
exec /bin/busybox httpd -f -p 80 -h /tmp/www
";

/// A migration to `schema`, which first notes what the running `web` serves (busybox's own
/// resolver asking Docker's DNS: its libc lookup crashes in a scratch image).
fn migration(schema: u32) -> String {
    format!(
        "\
ip=$(/bin/busybox nslookup web 127.0.0.11 2>/dev/null | /bin/busybox awk '/^Address: /{{print $2; exit}}')
if [ -n \"$ip\" ]; then
  printf 'GET / HTTP/1.0\\r\\n\\r\\n' | /bin/busybox nc -w 3 \"$ip\" 80 | /bin/busybox tail -n 1 > /app/data/served-while-migrating
fi
echo \"migrating to schema {schema}\"
echo \"schema {schema}\" > /app/data/schema
"
    )
}

/// A migration that fails, saying why.
const FAILING: &str = "\
echo 'migrating to schema 3'
echo 'error: column users.email already exists' >&2
exit 3
";

/// A world with the site in its manifest, not deployed.
fn world_with_site() -> (World, Remote) {
    let mut world = World::new();
    let site = site(&mut world);
    world.install_manifest(&world.manifest(&[world.entry(&site)]));
    (world, site)
}

/// The site at schema 1, page 1: committed, not deployed.
fn site(world: &mut World) -> Remote {
    let site = world.site("tasks", "page 1\n");
    site.write("compose.yaml", COMPOSE);
    site.write("Dockerfile", DOCKERFILE);
    site.write("start.sh", START);
    site.write("migrate.sh", &migration(1));
    site.commit("a release task");
    site
}

/// The next release: its page and its migration.
fn release(site: &Remote, page: u32, migrate: &str) -> String {
    site.write("www/index.html", &format!("page {page}\n"));
    site.write("migrate.sh", migrate);
    site.commit(&format!("page {page}"))
}

/// The first deploy runs the migration before `web` first starts; the project is `running`
/// (its tasks and its one-shot `seed` count for nothing there), a second deploy is `unchanged` and runs no task; a
/// rebuild runs it again.
#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Docker, sshd, moto and terraform: run scripts/test (cargo test --features e2e)"
)]
fn a_task_is_not_the_projects_state_and_an_unchanged_deploy_runs_none() {
    let (world, site) = world_with_site();
    let name = site.name.clone();

    world
        .ssh(format!("deploy {name}"))
        .run()
        .ok()
        .stdout_has("running release task `migrate`")
        .stdout_has("migrating to schema 1");
    assert_eq!(world.page(&name), "schema 1\npage 1\n");
    let status = world.status(&name);
    assert_eq!(status["state"], "running", "{status}");
    let services: Vec<&str> = status["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["service"].as_str().unwrap())
        .collect();
    assert_eq!(services, ["web"], "{status}");
    // `seed` (`restart: "no"`, not a task) ran with `up` and exited; it is not counted either.
    let seed = docker(&[
        "ps",
        "-a",
        "--format",
        "{{.State}}",
        "--filter",
        &format!("label=com.docker.compose.project={name}"),
        "--filter",
        "label=com.docker.compose.service=seed",
    ]);
    assert_eq!(seed.trim(), "exited");

    let out = world.ssh(format!("deploy {name}")).run().ok();
    assert!(out.last_line().contains("unchanged"), "{}", out.report());
    out.stdout_lacks("release task");
    // No container of the task is left behind, running or not.
    assert_eq!(task_containers(&name).trim(), "");

    // A rebuild is a new build of the release: its release tasks run again.
    world
        .ssh(format!("rebuild {name}"))
        .run()
        .ok()
        .stdout_has("running release task `migrate`");
}

/// A release task runs before the new release takes traffic: the old release served while it
/// ran, the new one's first request sees the migrated data. A failing one leaves the old
/// release serving, `current` and `state.json` as they were, and exits 1 with its output. A
/// rollback runs none.
#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Docker, sshd, moto and terraform: run scripts/test (cargo test --features e2e)"
)]
fn a_release_task_runs_before_the_switch_and_a_failing_one_stops_the_deploy() {
    let (world, site) = world_with_site();
    let name = site.name.clone();
    world.ssh(format!("deploy {name}")).run().ok();
    let data = world.data_dir(&name).join("data");

    let second = release(&site, 2, &migration(2));
    world.ssh(format!("deploy {name} {second}")).run().ok();
    assert_eq!(
        std::fs::read_to_string(data.join("served-while-migrating")).unwrap(),
        "page 1\n",
        "the old release served while the migration ran"
    );
    assert_eq!(world.page(&name), "schema 2\npage 2\n");

    let web = world.container(&name, "web");
    let state = std::fs::read(world.state_file(&name)).unwrap();
    let current = std::fs::read_link(world.current_link(&name)).unwrap();
    let third = release(&site, 3, FAILING);
    world
        .ssh(format!("deploy {name} {third}"))
        .run()
        .code(1)
        .stdout_has("migrating to schema 3")
        .stderr_has(&format!(
            "error: project `{name}`: release task `migrate` failed (exit code 3); its last lines:"
        ))
        .stderr_has("error: column users.email already exists");
    assert_eq!(world.container(&name, "web"), web, "the old `web` runs on");
    assert_eq!(world.page(&name), "schema 2\npage 2\n");
    assert_eq!(std::fs::read(world.state_file(&name)).unwrap(), state);
    assert_eq!(
        std::fs::read_link(world.current_link(&name)).unwrap(),
        current
    );
    assert_eq!(
        std::fs::read_to_string(data.join("schema")).unwrap(),
        "schema 2\n"
    );

    // A rollback runs no task: the release it brings back finds the data as migrated since.
    world
        .ssh(format!("rollback {name}"))
        .run()
        .ok()
        .stdout_lacks("release task");
    assert_eq!(world.page(&name), "schema 2\npage 1\n");
}

/// `run` runs a task by name from the running release, with its secrets, and passes its
/// output through; a task that fails exits 1 naming its code; both are audited with the task's
/// name and code. `"*"` does not reach `run`.
#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Docker, sshd, moto and terraform: run scripts/test (cargo test --features e2e)"
)]
fn run_runs_a_task_by_name_from_the_running_release() {
    let (world, site) = world_with_site();
    let name = site.name.clone();
    let run = |task: &str| format!("run {name} {task}");

    // The suite's `ci` key holds `"*"`, which never covers `run`.
    world.ssh(run("backfill")).run().code(77);
    world.write_config(&serde_json::json!({"keys": {
        "ci": {"verbs": ["*", "run", "secrets-put"], "projects": ["*"]},
    }}));
    world
        .ssh(run("backfill"))
        .run()
        .code(65)
        .stderr_has("nothing runs, so no task can run from its release");
    world
        .ssh(format!("secrets-put {name}"))
        .stdin("GREETING=hello\n")
        .run()
        .ok();
    world.ssh(format!("deploy {name}")).run().ok();
    let data = world.data_dir(&name).join("data");

    world
        .ssh(run("backfill"))
        .run()
        .ok()
        .stdout_has("backfilling with hello");
    assert_eq!(
        std::fs::read_to_string(data.join("backfilled")).unwrap(),
        "done\n"
    );
    world
        .ssh(run("check"))
        .run()
        .code(1)
        .stdout_has("2 orphaned rows")
        .stderr_is("error: task `check` exited with code 4\n");
    world.ssh(run("nope")).run().code(65).stderr_is(&format!(
        "error: project `{name}`: has no task `nope` (it has: backfill, check, migrate)\n"
    ));
    assert_eq!(task_containers(&name).trim(), "", "removed afterwards");

    let audited: Vec<(String, i64)> = world
        .audit_lines()
        .iter()
        .filter(|l| l["verb"] == "run" && l["task_exit_code"].is_i64())
        .map(|l| {
            (
                l["task"].as_str().unwrap().to_owned(),
                l["task_exit_code"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        audited,
        [("backfill".to_owned(), 0), ("check".to_owned(), 4)]
    );
}

/// examples/migrations, as the runbook's "Migrating a database" walks through it: its two
/// migrations change `data/guests.csv` before `web` starts; the failing one, added, stops the
/// deploy and the guest list is served as before.
#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Docker, sshd, moto and terraform: run scripts/test (cargo test --features e2e)"
)]
fn the_migrations_example_migrates_and_its_failing_migration_stops_the_deploy() {
    let (world, site) = world_with_site();
    crate::stateful::from_example(&site, "migrations");
    let name = site.name.clone();
    let guests = || {
        let url = format!("http://{}:80/cgi-bin/guests", world.ip(&name, "web"));
        kelev_e2e::Run::new("curl")
            .args(["-sS", "--max-time", "10", &url])
            .run()
            .ok()
            .stdout
    };
    world.ssh(format!("deploy {name}")).run().ok().stdout_has(
        "applying 001-create-guests.sh\napplying 002-add-email.sh\nschema at version 2",
    );
    let data = world.data_dir(&name).join("data");
    assert_eq!(
        std::fs::read_to_string(data.join("guests.csv")).unwrap(),
        "name,email\nAda,\nGrace,\n"
    );
    assert_eq!(guests(), "Ada\nGrace\n");

    let failing = site.work.join("failing/003-require-email.sh");
    std::fs::copy(&failing, site.work.join("migrations/003-require-email.sh")).unwrap();
    let commit = site.commit("require an email");
    world
        .ssh(format!("deploy {name} {commit}"))
        .run()
        .code(1)
        .stderr_has("release task `migrate` failed (exit code 1); its last lines:")
        .stderr_has("error: 2 guests have no email; backfill them first");
    assert_eq!(guests(), "Ada\nGrace\n");
    assert_eq!(
        std::fs::read_to_string(data.join("version")).unwrap(),
        "2\n"
    );
}

/// A release task that outlasts `deploy_timeout_secs` stops the deploy like a failing one, and
/// its container does not outlive it.
#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Docker, sshd, moto and terraform: run scripts/test (cargo test --features e2e)"
)]
fn a_release_task_that_outlasts_the_deploy_timeout_stops_the_deploy() {
    let (world, site) = world_with_site();
    let name = site.name.clone();
    world.ssh(format!("deploy {name}")).run().ok();
    world.write_config(&serde_json::json!({"deploy_timeout_secs": 5}));
    let slow = release(
        &site,
        2,
        "echo migrating slowly\nexec /bin/busybox sleep 600\n",
    );
    // Behaviour, not speed: ended by its 5 s timeout, far from the 600 s the task would take.
    world
        .ssh(format!("deploy {name} {slow}"))
        .run_within(std::time::Duration::from_secs(120))
        .code(1)
        .stdout_has("migrating slowly")
        .stderr_has("interrupted by the deploy timeout");
    assert_eq!(world.page(&name), "schema 1\npage 1\n");
    kelev_e2e::wait_until(
        "the task's container is gone",
        std::time::Duration::from_secs(30),
        || task_containers(&name).trim().is_empty(),
    );
}
