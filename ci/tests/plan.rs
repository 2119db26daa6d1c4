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
    let out = kelev(&["plan", "--manifest", &manifest]).ok();
    assert_eq!(
        out.stdout,
        r#"{"include":[{"name":"fun-n-games","ref":"main","repo":"https://github.com/o/fun-n-games.git"},{"name":"zeta","ref":"prod","repo":"https://github.com/o/zeta.git"}]}"#
            .to_owned()
            + "\n"
    );
    let out = kelev(&["plan", "--manifest", &manifest, "--project", "zeta"]).ok();
    assert!(out.stdout.starts_with(r#"{"include":[{"name":"zeta""#));
    assert_eq!(out.stdout.lines().count(), 1);
    kelev(&["plan", "--manifest", &manifest, "--project", "nope"])
        .code(65)
        .stderr_has("project `nope` is not in the manifest");
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
        {{"checkout":"{c}","commit":"{c}","containers":[{{"health":null,"service":"web","state":"running"}}],
          "content_hash":"{h1}","deployed_at":"2026-11-27T15:10:28Z","name":"up","rollout":"recreate","state":"running"}}]}}"#
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
    .ok();
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
    .code(65)
    .stderr_has("expected value");
    kelev(&[
        "plan",
        "--manifest",
        &manifest,
        "--host-status",
        "/nonexistent",
    ])
    .code(65)
    .stderr_has("`/nonexistent`");
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
        kelev(&["plan", "--manifest", &manifest])
            .code(65)
            .stderr_has(message);
    }
    kelev(&["plan", "--manifest", "/nonexistent/projects.json"])
        .code(65)
        .stderr_has("I/O error at `/nonexistent/projects.json`");
}

/// Issue 20, findings 9 and 10: a refusal names the file given, in the manifest's words, and a
/// manifest without projects is refused before GitHub would refuse its empty matrix.
#[test]
fn refusals_name_the_file_in_the_fields_words() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("m.json");
    let file = path.display().to_string();
    for (json, line) in [
        (
            r#"{"domain":"d.dev"}"#,
            "missing field `projects` (a list, `[]` for none)",
        ),
        (
            r#"[{"name":"a","repo":"file:///a"}]"#,
            r#"must be an object, `{"domain": ..., "projects": [...]}`, not a list"#,
        ),
        (
            r#"{"domain":"d.dev","projects":[{"name":"a","repo":"https://tok@github.com/o/a"}]}"#,
            "project `a`: `repo` `https://***@github.com/o/a` carries credentials, which every \
             fetch, `manifest` and the CI log would print\nhint: put the token or deploy key on \
             the host instead (docs/security.md#private-repositories)",
        ),
        (
            r#"{"projects":[]}"#,
            "lists no projects, and GitHub Actions refuses an empty deploy matrix\nhint: to take \
             every project down, do it by hand (docs/runbook.md#removing-a-project)",
        ),
    ] {
        std::fs::write(&path, json).unwrap();
        let out = kelev(&["plan", "--manifest", &file]).code(65);
        assert_eq!(out.stdout, "");
        assert_eq!(out.stderr, format!("error: manifest `{file}`: {line}\n"));
    }
}

#[test]
fn help_and_completions() {
    for sub in ["hash", "plan", "decide", "summary", "completions"] {
        let out = kelev(&[sub, "--help"]).ok();
        assert!(out.stdout.contains("Usage: kelev"), "{sub}");
    }
    let out = kelev(&["completions", "bash"]).ok();
    assert!(out.stdout.contains("_kelev()"));
    kelev(&["frobnicate"])
        .code(64)
        .stderr_has("unrecognized subcommand");
}
