//! `kelev summary`: the closing table, with missing results counted as failures, as Markdown for
//! the job summary and as the webhook message.

use crate::kelev;

const MATRIX: &str = r#"{"include":[{"name":"one","repo":"r","ref":"main"},{"name":"two","repo":"r","ref":"main"},{"name":"three","repo":"r","ref":"main"}]}"#;

/// Results for `one` (deployed) and `two` (unchanged); `three` has none.
fn results() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let h = "a".repeat(64);
    let c = "b".repeat(40);
    std::fs::write(
        tmp.path().join("one.json"),
        format!(
            r#"{{"name":"one","result":"deployed","reason":"host lacks it","commit":"{c}","hash":"{h}"}}"#
        ),
    )
    .unwrap();
    std::fs::write(
        tmp.path().join("two.json"),
        format!(
            r#"{{"name":"two","result":"unchanged","reason":"host runs it","commit":"{c}","hash":"{h}"}}"#
        ),
    )
    .unwrap();
    tmp
}

fn summary(results: &std::path::Path, extra: &[&str]) -> String {
    let mut args = vec![
        "summary",
        "--matrix",
        MATRIX,
        "--results",
        results.to_str().unwrap(),
    ];
    args.extend(extra);
    kelev(&args).ok().stdout
}

#[test]
fn table_counts_deployed_unchanged_and_failed_and_says_why() {
    let tmp = results();
    assert_eq!(
        summary(tmp.path(), &[]),
        "### kelev deploy

1 deployed, 1 unchanged, 1 failed

| project | result | why | commit | content hash |
|---|---|---|---|---|
| one | deployed | host lacks it | `bbbbbbbbbbbb` | `aaaaaaaaaaaa` |
| two | unchanged | host runs it | `bbbbbbbbbbbb` | `aaaaaaaaaaaa` |
| three | failed | - | - | - |
"
    );
    // The matrix from a file reads the same; a file that is not there is named (issue 20,
    // finding 9: `--matrix` took text alone where `plan --host-status` takes a file).
    let elsewhere = tempfile::tempdir().unwrap();
    let file = elsewhere.path().join("matrix.json");
    std::fs::write(&file, MATRIX).unwrap();
    assert_eq!(
        summary(tmp.path(), &[]),
        kelev(&[
            "summary",
            "--matrix",
            file.to_str().unwrap(),
            "--results",
            tmp.path().to_str().unwrap()
        ])
        .ok()
        .stdout
    );
    kelev(&["summary", "--matrix", "nope", "--results", "/nonexistent"])
        .code(65)
        .stderr_is("error: `nope`: No such file or directory (os error 2)\n");
    kelev(&[
        "summary",
        "--matrix",
        "{\"x\": 1}",
        "--results",
        "/nonexistent",
    ])
    .code(65)
    .stderr_has("error: `--matrix`: ");
}

#[test]
fn older_results_without_a_reason_still_read() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("one.json"),
        r#"{"name":"one","result":"deployed","commit":"c","hash":"h"}"#,
    )
    .unwrap();
    let out = summary(tmp.path(), &[]);
    assert!(out.contains("| one | deployed | - | `c` | `h` |"), "{out}");
}

#[test]
fn webhook_message_is_one_json_object_for_slack_and_discord() {
    let tmp = results();
    let out = summary(
        tmp.path(),
        &[
            "--format",
            "webhook",
            "--run-url",
            "https://github.com/o/k/actions/runs/7",
        ],
    );
    assert_eq!(out.lines().count(), 1, "{out}");
    let message: serde_json::Value = serde_json::from_str(&out).unwrap();
    let text = "kelev deploy: 1 deployed, 1 unchanged, 1 failed
```
project  result     why            commit
one      deployed   host lacks it  bbbbbbbbbbbb
two      unchanged  host runs it   bbbbbbbbbbbb
three    failed     -              -
```
https://github.com/o/k/actions/runs/7";
    assert_eq!(
        message,
        serde_json::json!({"text": text, "content": text}),
        "Slack reads `text`, Discord `content`"
    );
}

#[test]
fn webhook_message_stays_within_discords_limit() {
    let tmp = tempfile::tempdir().unwrap();
    let names: Vec<String> = (0..60)
        .map(|i| format!("{}{i:02}", "p".repeat(40)))
        .collect();
    let include: Vec<_> = names
        .iter()
        .map(|n| serde_json::json!({"name": n, "repo": "r", "ref": "main"}))
        .collect();
    let matrix = serde_json::json!({ "include": include }).to_string();
    let out = kelev(&[
        "summary",
        "--matrix",
        &matrix,
        "--results",
        tmp.path().to_str().unwrap(),
        "--format",
        "webhook",
    ])
    .ok()
    .stdout;
    let message: serde_json::Value = serde_json::from_str(&out).unwrap();
    let content = message["content"].as_str().unwrap();
    assert!(content.chars().count() <= 2000, "{}", content.len());
    assert!(content.starts_with("kelev deploy: 0 deployed, 0 unchanged, 60 failed\n"));
    assert!(content.contains(&format!("{} ", names[0])));
    assert!(content.contains(" more (see the run)\n```"), "{content}");
}

/// A mistyped `--results` directory is an error, not every project "failed" and exit 0 (issue 20,
/// finding 9).
#[test]
fn a_missing_results_directory_is_an_error() {
    kelev(&["summary", "--matrix", MATRIX, "--results", "/nonexistent/reslts"])
        .code(65)
        .stdout_is("")
        .stderr_is(
            "error: `/nonexistent/reslts`: cannot read the `--results` directory: No such file or directory (os error 2)\n",
        );
}
