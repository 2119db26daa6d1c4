//! `kelev plan`: the matrix for good manifests, the agent's own refusals for bad ones.

use crate::kelev;

fn write(dir: &std::path::Path, json: &str) -> String {
    let path = dir.join("projects.json");
    std::fs::write(&path, json).unwrap();
    path.display().to_string()
}

#[test]
fn matrix_for_every_or_some_projects() {
    let tmp = tempfile::tempdir().unwrap();
    let manifest = write(
        tmp.path(),
        r#"{"domain":"kelev.dev","projects":[
            {"name":"zeta","repo":"https://github.com/o/zeta.git","ref":"prod"},
            {"name":"fun-n-games","repo":"https://github.com/o/fun-n-games.git"}]}"#,
    );
    let out = kelev(&["plan", "--manifest", &manifest]).expect(0, "");
    assert_eq!(
        out.stdout,
        r#"{"include":[{"name":"fun-n-games","ref":"main","repo":"https://github.com/o/fun-n-games.git"},{"name":"zeta","ref":"prod","repo":"https://github.com/o/zeta.git"}]}"#
            .to_owned()
            + "\n"
    );
    let out = kelev(&["plan", "--manifest", &manifest, "--project", "zeta"]).expect(0, "");
    assert!(out.stdout.starts_with(r#"{"include":[{"name":"zeta""#));
    assert_eq!(out.stdout.lines().count(), 1);
    kelev(&["plan", "--manifest", &manifest, "--project", "nope"])
        .expect(65, "project `nope` is not in the manifest");
}

#[test]
fn host_status_gives_each_entry_what_the_host_runs_with_its_containers_up() {
    let tmp = tempfile::tempdir().unwrap();
    let manifest = write(
        tmp.path(),
        r#"{"domain":"kelev.dev","projects":[
            {"name":"up","repo":"file:///up"},
            {"name":"degraded","repo":"file:///degraded"},
            {"name":"never","repo":"file:///never"},
            {"name":"absent","repo":"file:///absent"}]}"#,
    );
    let (h1, h2, c) = ("1".repeat(64), "2".repeat(64), "c".repeat(40));
    // The shape of `status --json` (docs/commands.md#status), fields the plan does not read
    // included.
    let status = format!(
        r#"{{"projects":[
        {{"checkout":null,"commit":"{c}","containers":[],"content_hash":"{h2}","deployed_at":null,"name":"degraded","rollout":"recreate","state":"degraded"}},
        {{"checkout":null,"commit":null,"containers":[],"content_hash":null,"deployed_at":null,"name":"never","rollout":"recreate","state":"not-deployed"}},
        {{"checkout":null,"commit":"{c}","containers":[],"content_hash":"{h2}","deployed_at":null,"name":"old","rollout":null,"state":"orphaned"}},
        {{"checkout":"{c}","commit":"{c}","containers":[{{"health":null,"service":"web","state":"running"}}],"content_hash":"{h1}","deployed_at":"2026-11-27T15:10:28Z","name":"up","rollout":"recreate","state":"running"}}]}}"#
    );
    let status_path = tmp.path().join("host-status.json");
    std::fs::write(&status_path, status).unwrap();
    let status_path = status_path.to_str().unwrap();
    let out = kelev(&[
        "plan",
        "--manifest",
        &manifest,
        "--host-status",
        status_path,
    ])
    .expect(0, "");
    let matrix: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let running: Vec<(&str, &str)> = matrix["include"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["name"].as_str().unwrap(), e["running"].as_str().unwrap()))
        .collect();
    assert_eq!(
        running,
        [
            ("absent", ""),
            ("degraded", ""),
            ("never", ""),
            ("up", h1.as_str())
        ]
    );

    std::fs::write(tmp.path().join("host-status.json"), "error: denied\n").unwrap();
    kelev(&[
        "plan",
        "--manifest",
        &manifest,
        "--host-status",
        status_path,
    ])
    .expect(65, "expected value");
    kelev(&[
        "plan",
        "--manifest",
        &manifest,
        "--host-status",
        "/nonexistent",
    ])
    .expect(65, "`/nonexistent`");
}

#[test]
fn bad_manifests_are_65_with_the_agents_messages() {
    let tmp = tempfile::tempdir().unwrap();
    for (json, message) in [
        (
            r#"{"projects":[{"name":"a","repo":"file:///a"}]}"#,
            "has no `domains`",
        ),
        (
            r#"{"domain":"d.dev","projects":[{"name":"a","repo":"file:///a","typo":1}]}"#,
            "unknown field `typo`",
        ),
        (
            r#"{"domain":"d.dev","projects":[{"name":"a","repo":"file:///a"},{"name":"a","repo":"file:///b"}]}"#,
            "listed twice",
        ),
        ("{", "not valid JSON"),
    ] {
        let manifest = write(tmp.path(), json);
        kelev(&["plan", "--manifest", &manifest]).expect(65, message);
    }
    kelev(&["plan", "--manifest", "/nonexistent/projects.json"])
        .expect(65, "I/O error at `/nonexistent/projects.json`");
}

#[test]
fn help_and_completions() {
    for sub in ["hash", "plan", "decide", "summary", "completions"] {
        let out = kelev(&[sub, "--help"]).expect(0, "");
        assert!(out.stdout.contains("Usage: kelev"), "{sub}");
    }
    let out = kelev(&["completions", "bash"]).expect(0, "");
    assert!(out.stdout.contains("_kelev()"));
    kelev(&["frobnicate"]).expect(64, "unrecognized subcommand");
}
