//! `kelev summary`: the closing table, with missing results counted as failures.

use crate::kelev;

#[test]
fn table_counts_deployed_unchanged_and_failed() {
    let tmp = tempfile::tempdir().unwrap();
    let h = "a".repeat(64);
    let c = "b".repeat(40);
    std::fs::write(
        tmp.path().join("one.json"),
        format!(r#"{{"name":"one","result":"deployed","commit":"{c}","hash":"{h}"}}"#),
    )
    .unwrap();
    std::fs::write(
        tmp.path().join("two.json"),
        format!(r#"{{"name":"two","result":"unchanged","commit":"{c}","hash":"{h}"}}"#),
    )
    .unwrap();
    let matrix = r#"{"include":[{"name":"one","repo":"r","ref":"main"},{"name":"two","repo":"r","ref":"main"},{"name":"three","repo":"r","ref":"main"}]}"#;
    let out = kelev(&[
        "summary",
        "--matrix",
        matrix,
        "--results",
        tmp.path().to_str().unwrap(),
    ])
    .expect(0, "");
    assert!(
        out.stdout.contains("1 deployed, 1 unchanged, 1 failed"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("| one | deployed | `bbbbbbbbbbbb` | `aaaaaaaaaaaa` |"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("| three | failed | - | - |"),
        "{}",
        out.stdout
    );
    kelev(&["summary", "--matrix", "nope", "--results", "/nonexistent"]).expect(65, "`--matrix`");
}
