//! The order of Docker and compose calls in each rollout case, without Docker: the switch runs
//! against a `Recorder` that keeps every call as a reader would type it and answers `docker ps`
//! with the containers there would be at that point. The e2e suite runs the same cases against
//! a real engine; these say which calls, in which order.

use std::rc::Rc;

use kelev_core::{CommitId, ContentHash, Manifest, Project};

use crate::error::Locked;
use crate::host::config::Config;
use crate::host::layout::Layout;
use crate::host::lock::{Lock, ProjectLock};
use crate::host::secret_store::Secrets;
use crate::host::state::{Running, State};
use crate::pipeline::switch::Switch;
use crate::pipeline::Pipeline;
use crate::release::docker::Docker;
use crate::release::release::Release;
use crate::release::routing::{Recorded, Routing};
use crate::release::runner::{Answer, Recorder};

pub(super) const OLD: &str = "1111111111111111111111111111111111111111";
const NEW: &str = "2222222222222222222222222222222222222222";
/// `compose config` of a project with one service, `web`, built from the repository.
const CONFIG: &str = r#"{"services":{"web":{"build":{"context":"."},"image":"x"}}}"#;

pub(super) struct Case {
    _dir: tempfile::TempDir,
    config: Config,
    layout: Layout,
    project: Project,
}

/// A project of `rollout`, routed to port 80, its two releases on disk.
pub(super) fn case(rollout: &str) -> Case {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let json = serde_json::json!({"root": root, "settle_secs": 0, "drain_secs": 0});
    let config = Config::parse(json.to_string().as_bytes(), crate::verbs::VERBS).unwrap();
    let manifest = serde_json::json!({"projects": [
        {"name": "p", "repo": "file:///p.git", "service": "web", "rollout": rollout, "port": 80, "domains": ["p.test"]}
    ]});
    let manifest = Manifest::parse(
        manifest.to_string().as_bytes(),
        &kelev_core::ManifestOrigin::Stdin,
    )
    .unwrap();
    let project = manifest.projects[0].clone();
    let layout = Layout::new(&root);
    for commit in [OLD, NEW] {
        let release = layout.release(&project.name, &commit_id(commit));
        std::fs::create_dir_all(&release).unwrap();
        std::fs::write(release.join("compose.yaml"), "services: {}\n").unwrap();
    }
    Case {
        _dir: dir,
        config,
        layout,
        project,
    }
}

pub(super) fn commit_id(commit: &str) -> CommitId {
    CommitId::parse(commit).unwrap()
}

/// One line of `docker ps` (the fields of `DockerCall::ps`), a running container of `web`.
fn ps_line(id: &str, commit: &str, number: u32) -> String {
    format!("{id}\trunning\tUp 2 seconds\tp\tweb\t{commit}\tFalse\t{number}\t\n")
}

/// What Docker answers, as a deploy of `NEW` goes: `old` runs at first; a `--scale web=2`
/// creates `new` beside it; `docker rm --force old` removes it; a recreate replaces it.
fn engine(old_running: bool) -> Rc<Recorder> {
    engine_of(CONFIG, old_running, 0)
}

/// [`engine`] for a project whose `compose config` says `config`, its release tasks exiting
/// with `task_code`.
pub(super) fn engine_of(config: &'static str, old_running: bool, task_code: i32) -> Rc<Recorder> {
    Rc::new(Recorder::new(move |line, before| {
        let did = |what: &str| before.iter().any(|l| l.contains(what));
        if line.contains(" config --format json") {
            return Answer::out(config);
        }
        if line.starts_with("docker image inspect ") {
            return Answer::out("[\"r:5000/app@sha256:abcd\"]\n");
        }
        if line.contains(" run --rm ") {
            return Answer {
                code: task_code,
                stderr: "migrating\nno such table: users\n".into(),
                ..Answer::default()
            };
        }
        if line.starts_with("docker ps ") {
            let mut ps = String::new();
            let recreated = did(" up -d --remove-orphans --no-build");
            if old_running && !did("docker rm --force old") && !recreated {
                ps += &ps_line("old", OLD, 1);
            }
            if did("--scale web=2 web") || recreated {
                ps += &ps_line("new", NEW, 2);
            }
            return Answer::out(ps);
        }
        if line.starts_with("docker inspect ") {
            return Answer::out(r#"{"web":{"IPAddress":"172.18.0.5"}}"#);
        }
        Answer::default()
    }))
}

/// Switch `case`'s project from what `running` says runs (a commit, routed to a port) to a
/// build of `NEW`; the calls made, the case's root written `$ROOT`.
pub(super) fn deploy(
    case: &Case,
    recorder: &Rc<Recorder>,
    running: Option<(&str, u16)>,
) -> Vec<String> {
    let (calls, result, _) = try_deploy(case, recorder, running);
    result.unwrap();
    calls
}

/// [`deploy`], its result and the state after it returned: on success, `NEW` is what the state
/// says runs; on failure, what ran before still is.
pub(super) fn try_deploy(
    case: &Case,
    recorder: &Rc<Recorder>,
    running: Option<(&str, u16)>,
) -> (Vec<String>, Result<(), crate::error::Error>, State) {
    let name = &case.project.name;
    let mut state = State::default();
    if let Some((commit, port)) = running {
        let routed_as = Project {
            port,
            ..case.project.clone()
        };
        state.record_running(Running {
            commit: commit_id(commit),
            content_hash: ContentHash::parse(&"0".repeat(64)).unwrap(),
            deployed_at: "2026-12-07T00:00:00Z".into(),
            compose_files: Vec::new(),
            routing: Recorded::Routing(Routing::of(
                &case.config.traefik,
                &routed_as,
                &Secrets::default(),
            )),
            images: Default::default(),
        });
    }
    let lock = Lock::acquire(
        &case.layout.lock(name),
        Locked::Project(name.clone()),
        "test",
        std::time::Duration::from_secs(1),
        &mut std::io::sink(),
    )
    .unwrap();
    let held = ProjectLock::new(case.project.clone(), lock);
    let docker = Docker::new(Box::new(Rc::clone(recorder)));
    let pipeline = Pipeline {
        config: &case.config,
        layout: &case.layout,
        docker: &docker,
    };
    let release = Release::new(&case.layout, &case.project, &commit_id(NEW)).unwrap();
    let switch = Switch::building(&release, ContentHash::parse(&"0".repeat(64)).unwrap());
    let before = state.running_commit().cloned();
    let result = pipeline.switch(&held, switch, &mut state, &mut std::io::sink());
    let expected = match &result {
        Ok(()) => Some(commit_id(NEW)),
        Err(_) => before,
    };
    assert_eq!(state.running_commit(), expected.as_ref());
    let root = case.layout.projects();
    let root = root.parent().unwrap().display().to_string();
    let calls = recorder
        .calls()
        .into_iter()
        .map(|call| call.replace(&root, "$ROOT"))
        .collect();
    (calls, result, state)
}

pub(super) const FILES: &str = "compose -p p --project-directory $ROOT/projects/p/releases/2222222222222222222222222222222222222222 -f $ROOT/projects/p/releases/2222222222222222222222222222222222222222/compose.yaml";
pub(super) const OVERRIDE: &str =
    "-f $ROOT/projects/p/overrides/2222222222222222222222222222222222222222.json";
pub(super) const PS: &str = "docker ps -a --no-trunc --filter label=com.docker.compose.project=p --format '{{.ID}}\t{{.State}}\t{{.Status}}\t{{.Label \"com.docker.compose.project\"}}\t{{.Label \"com.docker.compose.service\"}}\t{{.Label \"dev.kelev.commit\"}}\t{{.Label \"com.docker.compose.oneoff\"}}\t{{.Label \"com.docker.compose.container-number\"}}\t{{.Label \"dev.kelev.one-shot\"}}'";

/// The calls every switch starts with: the compose file normalized, the network checked.
/// Then `then`, after it.
pub(super) fn opening_then(then: &[String]) -> Vec<String> {
    let mut calls = vec![
        format!("{FILES} config --format json"),
        "docker network inspect web".into(),
    ];
    calls.extend_from_slice(then);
    calls
}

/// A recreate: the build, `up` from the built images, and the gate's look at the containers.
pub(super) fn recreate() -> Vec<String> {
    vec![
        format!("{FILES} {OVERRIDE} --profile kelev-task build"),
        format!("{FILES} {OVERRIDE} up -d --remove-orphans --no-build"),
        PS.into(),
    ]
}

/// A deploy of a `rollout` project routed to port 80 now, from what `running` says runs, with
/// the old container there or not; the calls it made against `expected`.
#[track_caller]
fn assert_calls(rollout: &str, old_there: bool, running: Option<(&str, u16)>, expected: &[String]) {
    let case = case(rollout);
    let recorder = engine(old_there);
    let made = deploy(&case, &recorder, running).join("\n");
    let expected = expected.join("\n");
    assert_eq!(
        made, expected,
        "\n--- made:\n{made}\n--- expected:\n{expected}"
    );
}

#[test]
fn recreate_builds_then_ups_then_gates() {
    assert_calls(
        "recreate",
        true,
        Some((OLD, 80)),
        &opening_then(&recreate()),
    );
}

#[test]
fn zero_downtime_builds_then_swaps_behind_the_name() {
    let swap = [
        // The old containers of the routed service, to swap with.
        PS.to_owned(),
        format!("{FILES} {OVERRIDE} --profile kelev-task build"),
        // A second `web`, created, held out of the name, started, gated.
        format!(
            "{FILES} {OVERRIDE} up --no-start --no-build --no-deps --no-recreate --scale web=2 web"
        ),
        PS.into(),
        "docker network disconnect web new".into(),
        "docker network connect web new".into(),
        "docker start new".into(),
        PS.into(),
        // Into the name, at its address.
        "docker inspect --format '{{json .NetworkSettings.Networks}}' new".into(),
        "docker network disconnect web new".into(),
        "docker network connect --ip 172.18.0.5 --alias p.web web new".into(),
        // The old one out of the name, keeping its address for the drain, then gone.
        "docker inspect --format '{{json .NetworkSettings.Networks}}' old".into(),
        "docker network disconnect web old".into(),
        "docker network connect --ip 172.18.0.5 web old".into(),
        "docker stop --time 10 old".into(),
        "docker rm --force old".into(),
        format!("{FILES} {OVERRIDE} up -d --no-build --no-deps --no-recreate --scale web=1 web"),
        format!("{FILES} {OVERRIDE} up -d --remove-orphans --no-build"),
        PS.into(),
    ];
    assert_calls("zero-downtime", true, Some((OLD, 80)), &opening_then(&swap));
}

#[test]
fn zero_downtime_with_nothing_running_recreates() {
    assert_calls("zero-downtime", false, None, &opening_then(&recreate()));
}

#[test]
fn zero_downtime_with_no_container_to_swap_with_recreates() {
    let mut then = vec![PS.to_owned()];
    then.extend(recreate());
    assert_calls(
        "zero-downtime",
        false,
        Some((OLD, 80)),
        &opening_then(&then),
    );
}

#[test]
fn zero_downtime_across_a_port_change_recreates() {
    // What runs was routed to port 8080; the manifest now says 80.
    assert_calls(
        "zero-downtime",
        true,
        Some((OLD, 8080)),
        &opening_then(&recreate()),
    );
}
