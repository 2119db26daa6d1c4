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
    for sub in ["hash", "plan", "summary", "completions"] {
        let out = kelev(&[sub, "--help"]).expect(0, "");
        assert!(out.stdout.contains("Usage: kelev"), "{sub}");
    }
    let out = kelev(&["completions", "bash"]).expect(0, "");
    assert!(out.stdout.contains("_kelev()"));
    kelev(&["frobnicate"]).expect(64, "unrecognized subcommand");
}
