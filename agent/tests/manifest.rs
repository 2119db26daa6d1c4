//! manifest and manifest-put without Docker: validation, atomic install, the diff printed.

use crate::{Test, MANIFEST};

#[test]
fn manifest_put_installs_and_reports_changes() {
    let next = r#"{"domain":"kelev.test","projects":[{"name":"fun-n-games","repo":"file:///nonexistent/fun.git","port":8080},{"name":"new","repo":"https://example.invalid/new.git"}]}"#;
    let test = Test::new();
    test.ssh(Some("ci"), b"manifest-put")
        .stdin(next)
        .run()
        .ok()
        .stdout_is("added new\nchanged fun-n-games\nremoved other\n")
        .stderr_is("");
    assert_eq!(std::fs::read_to_string(test.manifest_path()).unwrap(), next);
    Test::new()
        .ssh(Some("ci"), b"manifest")
        .run()
        .ok()
        .stdout_is(MANIFEST);
}

#[test]
fn bad_manifest_changes_nothing() {
    for (input, reason) in [
        (
            &br#"{"projects":[{"name":"x","repo":"file:///x","flavour":1}]}"#[..],
            "unknown field `flavour`",
        ),
        (
            br#"{"projects":[{"name":"x","repo":"file:///x"}]}"#,
            "has no `domains`",
        ),
        (b"[1,2", "not valid JSON"),
    ] {
        let test = Test::new();
        test.ssh(Some("ci"), b"manifest-put")
            .stdin(input)
            .run()
            .code(65)
            .stdout_is("")
            .stderr_has(reason);
        assert_eq!(
            std::fs::read_to_string(test.manifest_path()).unwrap(),
            MANIFEST
        );
    }
    let big = vec![b' '; 1024 * 1024 + 1];
    Test::new()
        .args(&["manifest-put"])
        .stdin(big)
        .run()
        .code(65)
        .stderr_has("larger than 1048576 bytes");
}

/// Issue 20, findings 5 and 9: a refusal names where the manifest came from, and a token in a
/// `repo` is refused on the way in and on the way out, never printed.
#[test]
fn refusals_name_stdin_or_the_file_and_never_print_a_token() {
    let with_token = r#"{"domain":"kelev.test","projects":[{"name":"a","repo":"https://x-access-token:ghp_S3CR3T@github.com/o/a.git"}]}"#;
    let refusal = "project `a`: `repo` `https://***@github.com/o/a.git` carries credentials, \
                   which every fetch, `manifest` and the CI log would print\nhint: put the token \
                   or deploy key on the host instead (docs/security.md#private-repositories)\n";
    let test = Test::new();
    test.ssh(Some("ci"), b"manifest-put")
        .stdin(with_token)
        .run()
        .code(65)
        .stdout_is("")
        .stderr_is(&format!("error: manifest on stdin: {refusal}"));
    // Installed by hand, before the agent refused it: not shown either.
    std::fs::write(test.manifest_path(), with_token).unwrap();
    let file = test.manifest_path().display().to_string();
    for verb in [&b"manifest"[..], b"status fun-n-games"] {
        test.ssh(Some("ci"), verb)
            .run()
            .code(65)
            .stdout_is("")
            .stderr_is(&format!("error: manifest `{file}`: {refusal}"));
    }
}

#[test]
fn restricted_key_may_not_put_the_manifest() {
    let test = Test::new();
    test.config(&serde_json::json!({
        "root": test.root(),
        "keys": {"half": {"verbs": ["manifest-put"], "projects": ["fun-n-games"]}},
    }));
    test.ssh(Some("half"), b"manifest-put")
        .stdin(MANIFEST)
        .run()
        .code(77)
        .stderr_has("only a key for all projects");
}
