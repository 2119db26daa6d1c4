//! Where commands come from and who may run them.

use crate::Test;

#[test]
fn local_words_need_no_key() {
    let out = Test::new().args(&["version"]).run().expect(0, "");
    assert!(
        out.stdout.starts_with("kelev-agent 0.1.0 (commit "),
        "{}",
        out.stdout
    );
    let commit = out
        .stdout
        .trim()
        .trim_end_matches(')')
        .rsplit(' ')
        .next()
        .unwrap()
        .to_owned();
    assert!(commit == "unknown" || commit.len() == 40, "{commit}");
    Test::new().args(&["help"]).run().expect(0, "");
}

#[test]
fn over_ssh_the_key_policy_is_mandatory() {
    Test::new()
        .ssh(None, b"status")
        .run()
        .expect(77, "error: not permitted: no key id");
    Test::new()
        .ssh(Some("ghost"), b"status")
        .run()
        .expect(77, "key `ghost` is not in the agent config");
    Test::new()
        .ssh(Some("fun-ci"), b"rebuild fun-n-games")
        .run()
        .expect(77, "this key may not run `rebuild`");
    Test::new()
        .ssh(Some("fun-ci"), b"deploy other")
        .run()
        .expect(77, "this key may not touch project `other`");
    // SSH_CONNECTION alone (no SSH_ORIGINAL_COMMAND: an interactive login) is remote too.
    Test::new()
        .env("SSH_CONNECTION", b"1 2 3 4")
        .args(&["--key", "ci"])
        .run()
        .expect(64, "no command given");
    Test::new()
        .env("SSH_CONNECTION", b"1 2 3 4")
        .args(&["status"])
        .run()
        .expect(77, "no key id");
}

#[test]
fn words_and_ssh_original_command_together_are_refused() {
    Test::new()
        .ssh(Some("ci"), b"status")
        .args(&["version"])
        .run()
        .expect(
            64,
            "words on the command line and SSH_ORIGINAL_COMMAND together",
        );
}

#[test]
fn grammar_refusals_exit_64_with_one_line() {
    for (raw, reason) in [
        (&b"deploy fun-n-games; id"[..], "byte `;`"),
        (b"deploy ../etc", "byte `/`"),
        (b"deploy fun-n-games HEAD~1", "byte `~`"),
        (b"deploy \xd0\xb0", "non-ASCII byte 0xd0"),
        (b"deploy fun-n-games\nid", "0x0a"),
        (b"launch x", "unknown verb `launch`"),
    ] {
        let test = Test::new().ssh(Some("ci"), raw);
        let out = test.run().expect(64, reason);
        assert_eq!(
            out.stderr.lines().next().unwrap().matches("error:").count(),
            1
        );
        assert!(out.stdout.is_empty());
        let audit = test.audit();
        assert_eq!(audit.len(), 1);
        assert_eq!(audit[0]["exit_code"], 64);
        assert_eq!(audit[0]["result"], "refused");
        assert_eq!(audit[0]["key"], "ci");
        assert_eq!(audit[0]["command"], raw.escape_ascii().to_string());
    }
}

#[test]
fn audit_line_has_every_field() {
    let test = Test::new().ssh(
        Some("fun-ci"),
        b"deploy other 0123456789abcdef0123456789abcdef01234567",
    );
    test.run().expect(77, "may not touch");
    let line = &test.audit()[0];
    for field in [
        "time",
        "key",
        "verb",
        "project",
        "commit",
        "result",
        "exit_code",
        "duration_ms",
        "command",
    ] {
        assert!(line.get(field).is_some(), "{field} missing in {line}");
    }
    assert_eq!(line["verb"], "deploy");
    assert_eq!(line["project"], "other");
    assert_eq!(line["commit"], "0123456789abcdef0123456789abcdef01234567");
    assert_eq!(line["result"], "denied");
}

#[test]
fn config_errors_are_65() {
    let test = Test::new();
    test.config(&serde_json::json!({"root": "relative"}));
    test.args(&["status"])
        .run()
        .expect(65, "must be an absolute path");
    let test = Test::new();
    std::fs::remove_file(test.config_path()).unwrap();
    test.args(&["status"])
        .run()
        .expect(65, "cannot read config");
    let test = Test::new();
    test.config(
        &serde_json::json!({"root": "/r", "keys": {"k": {"verbs": ["shell"], "projects": ["*"]}}}),
    );
    test.args(&["status"])
        .run()
        .expect(65, "unknown verb `shell`");
}

#[test]
fn unknown_project_is_65_and_missing_docker_is_69() {
    Test::new()
        .args(&["deploy", "nope"])
        .run()
        .expect(65, "project `nope` is not in the manifest");
    Test::new()
        .args(&["status"])
        .run()
        .expect(69, "could not start `/nonexistent/docker");
}

#[test]
fn unknown_options_are_words_and_refused_64() {
    Test::new()
        .args(&["--bogus"])
        .run()
        .expect(64, "unknown verb `--bogus`");
    Test::new()
        .args(&["deploy", "fun-n-games", "--bogus"])
        .run()
        .expect(64, "takes no option `--bogus`");
}

#[test]
fn an_unknown_key_learns_nothing_about_the_grammar() {
    Test::new()
        .ssh(Some("ghost"), b"deploy ;id")
        .run()
        .expect(77, "key `ghost` is not in the agent config");
    Test::new().ssh(None, b"\xff").run().expect(77, "no key id");
}

#[test]
fn deploy_json_failure_is_still_one_json_object() {
    let out = Test::new()
        .args(&["deploy", "nope", "--json"])
        .run()
        .expect(65, "not in the manifest");
    let report: serde_json::Value = serde_json::from_str(out.stdout.trim()).unwrap();
    assert_eq!(report["result"], "failed");
    assert_eq!(report["project"], "nope");
    assert_eq!(report["exit_code"], 65);
    assert_eq!(report["error"], "project `nope` is not in the manifest");
}

#[test]
fn manifest_verb_without_a_manifest_is_65() {
    let test = Test::new().args(&["manifest"]);
    std::fs::remove_file(test.root().join("projects.json")).unwrap();
    test.run().expect(65, "I/O error at");
}
