//! `kelev record` and `kelev removed`: what deploy.yml's deploy job and plan job read, from the
//! agent's typed report and manifest-put's documented lines; `kelev summary` reads what
//! `record` writes.

use crate::kelev;

const COMMIT: &str = "cccccccccccccccccccccccccccccccccccccccc";

/// `kelev record` for project `p` in `dir` with `deploy=` and, if given, the agent's report.
fn record(dir: &std::path::Path, deploy: &str, report: Option<&str>) -> String {
    if let Some(report) = report {
        std::fs::write(dir.join("deploy.json"), report).unwrap();
    }
    let hash = "a".repeat(64);
    let at = |p: &str| dir.join(p).display().to_string();
    let (report, results, marker) = (at("deploy.json"), at("results"), at("marker"));
    kelev(&[
        "record",
        "--name",
        "p",
        "--commit",
        COMMIT,
        "--hash",
        &hash,
        "--deploy",
        deploy,
        "--reason",
        "new content",
        "--report",
        &report,
        "--results",
        &results,
        "--marker",
        &marker,
    ])
    .ok()
    .stdout
}

fn read(path: std::path::PathBuf) -> Option<serde_json::Value> {
    let bytes = std::fs::read(path).ok()?;
    Some(serde_json::from_slice(&bytes).unwrap())
}

#[test]
fn the_result_file_and_the_marker_follow_the_agents_report() {
    let h = "a".repeat(64);
    let deployed = format!(
        r#"{{"commit":"{COMMIT}","content_hash":"{h}","duration_ms":5,"project":"p","result":"deployed"}}"#
    );
    let unchanged = deployed.replace("\"deployed\"", "\"unchanged\"");
    let failed = r#"{"commit":null,"error":"project `p`: compose config failed","exit_code":65,"project":"p","result":"failed"}"#;
    for (deploy, report, result, marker) in [
        ("true", Some(deployed.as_str()), "deployed", true),
        ("true", Some(unchanged.as_str()), "unchanged", true),
        ("true", Some(failed), "failed", false),
        // ssh or the agent died before the report
        ("true", None, "failed", false),
        ("true", Some("{\"res"), "failed", false),
        // decide said the host runs it: no deploy step, no report
        ("false", None, "unchanged", false),
        // decide never succeeded
        ("", None, "failed", false),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        assert_eq!(record(tmp.path(), deploy, report), format!("p {result}\n"));
        assert_eq!(
            read(tmp.path().join("results/p.json")),
            Some(serde_json::json!({
                "name": "p", "result": result, "reason": "new content", "commit": COMMIT, "hash": h
            })),
            "{deploy} {report:?}"
        );
        assert_eq!(
            read(tmp.path().join("marker/deployed.json")),
            marker.then(|| serde_json::json!({"name": "p", "commit": COMMIT, "hash": h})),
            "{deploy} {report:?}"
        );
    }
    let tmp = tempfile::tempdir().unwrap();
    kelev(&["record", "--name", "p", "--deploy", "yes", "--results"])
        .code(64)
        .stderr_has("--results");
    kelev(&[
        "record",
        "--name",
        "p",
        "--deploy",
        "yes",
        "--results",
        tmp.path().to_str().unwrap(),
    ])
    .code(65)
    .stderr_has("`--deploy`: `yes` is not true, false or empty");
}

#[test]
fn summary_reads_what_record_wrote() {
    let tmp = tempfile::tempdir().unwrap();
    record(
        tmp.path(),
        "true",
        Some(r#"{"commit":null,"error":"x","exit_code":1,"project":"p","result":"failed"}"#),
    );
    let matrix = r#"{"include":[{"name":"p","repo":"r","ref":"main"}]}"#;
    let results = tmp.path().join("results");
    let out = kelev(&[
        "summary",
        "--matrix",
        matrix,
        "--results",
        results.to_str().unwrap(),
    ])
    .ok();
    assert!(
        out.stdout.contains("0 deployed, 0 unchanged, 1 failed"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("| p | failed | new content | `cccccccccccc` | `aaaaaaaaaaaa` |"),
        "{}",
        out.stdout
    );
    // A result that is not one of the agent's results is bad data, not a quiet `failed`.
    std::fs::write(results.join("p.json"), r#"{"name":"p","result":"done"}"#).unwrap();
    kelev(&[
        "summary",
        "--matrix",
        matrix,
        "--results",
        results.to_str().unwrap(),
    ])
    .code(65)
    .stderr_has("unknown variant `done`");
}

#[test]
fn removed_names_each_project_manifest_put_removed() {
    let tmp = tempfile::tempdir().unwrap();
    let changes = tmp.path().join("changes.txt");
    let file = changes.to_str().unwrap();
    std::fs::write(
        &changes,
        "waiting for the lock on the manifest, held by ci\nadded blog\nchanged shop\nremoved old-site\nremoved gone\n",
    )
    .unwrap();
    assert_eq!(kelev(&["removed", file]).ok().stdout, "old-site\ngone\n");
    std::fs::write(&changes, "unchanged\n").unwrap();
    assert_eq!(kelev(&["removed", file]).ok().stdout, "");
    std::fs::write(
        &changes,
        "removed old-site\nerror: the manifest is locked\n",
    )
    .unwrap();
    kelev(&["removed", file])
        .code(65)
        .stderr_has("`error: the manifest is locked` is not a line manifest-put prints");
}
