//! Release tasks within a switch, without Docker: where their calls come (after the build,
//! before the start or the swap), and that a failing one starts nothing (`switch_tests.rs`'s
//! `Recorder` cases, with a project that declares tasks).

use super::switch_tests::{
    case, deploy, engine_of, opening_then, recreate, try_deploy, FILES, OLD, OVERRIDE,
};

/// `compose config` of a project with `web`, a database and a release task that needs it.
const CONFIG_WITH_TASKS: &str = r#"{"services":{
    "web":{"build":{"context":"."},"image":"x"},
    "db":{"image":"postgres"},
    "migrate":{"build":{"context":"."},"labels":{"dev.kelev.task":"migrate","dev.kelev.task.release":"true"},
               "depends_on":{"db":{"condition":"service_started"}}},
    "backfill":{"build":{"context":"."},"labels":{"dev.kelev.task":"backfill"}}}}"#;

/// The pull of `db`'s image (it names one and builds none), if missing.
fn pull() -> String {
    format!("{FILES} {OVERRIDE} pull --ignore-buildable --policy missing")
}

/// The release task's calls: its database started if it is not running, then the task.
fn release_task() -> Vec<String> {
    vec![
        format!("{FILES} {OVERRIDE} up -d --no-build --no-recreate --wait db"),
        format!(
            "{FILES} {OVERRIDE} --profile kelev-task run --rm --no-deps -T --name p-migrate-{} \
             migrate",
            std::process::id()
        ),
    ]
}

#[test]
fn release_tasks_run_after_the_build_before_the_start() {
    let case = case("recreate");
    let recorder = engine_of(CONFIG_WITH_TASKS, true, 0);
    let made = deploy(&case, &recorder, Some((OLD, 80)));
    let mut expected = recreate();
    expected.insert(1, pull());
    // Only the release task runs; `backfill` waits to be asked for.
    for (at, call) in release_task().into_iter().enumerate() {
        expected.insert(2 + at, call);
    }
    // `db`'s image, as pulled, recorded by digest.
    expected.push("docker image inspect --format '{{json .RepoDigests}}' postgres".into());
    assert_eq!(made, opening_then(&expected));
}

#[test]
fn release_tasks_run_before_a_zero_downtime_swap() {
    let case = case("zero-downtime");
    let recorder = engine_of(CONFIG_WITH_TASKS, true, 0);
    let made = deploy(&case, &recorder, Some((OLD, 80)));
    let build = made
        .iter()
        .position(|c| c.ends_with(" build"))
        .expect("a build");
    assert_eq!(made[build + 1], pull());
    assert_eq!(made[build + 2..build + 4], release_task()[..]);
    assert!(made[build + 4].contains("--scale web=2 web"), "{made:#?}");
}

#[test]
fn a_failing_release_task_starts_nothing() {
    let case = case("recreate");
    let recorder = engine_of(CONFIG_WITH_TASKS, true, 3);
    let (made, result, _) = try_deploy(&case, &recorder, Some((OLD, 80)));
    let mut expected = vec![
        format!("{FILES} {OVERRIDE} --profile kelev-task build"),
        pull(),
    ];
    expected.extend(release_task());
    assert_eq!(made, opening_then(&expected));
    assert_eq!(
        result.unwrap_err().to_string(),
        "project `p`: release task `migrate` failed (exit code 3); its last lines:\n\
         migrating\nno such table: users"
    );
}
