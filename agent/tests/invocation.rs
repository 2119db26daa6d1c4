//! Where commands come from and who may run them.

use kelev_e2e::Run;

use crate::Test;

const NO_KEY_ID: &str = "\
error: not permitted: no key id: the authorized_keys line must run `kelev-agent --key ID`
hint: inside an SSH session every run counts as remote; to run locally use `env -u SSH_CONNECTION kelev-agent ...`
";

#[test]
fn local_words_need_no_key() {
    let out = Test::new().args(&["version"]).run().ok().stderr_is("");
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
    // What `help` prints is golden.rs's.
    Test::new().args(&["help"]).run().ok().stderr_is("");
}

#[test]
fn over_ssh_the_key_policy_is_mandatory() {
    let test = Test::new();
    test.ssh(None, b"status")
        .run()
        .code(77)
        .stdout_is("")
        .stderr_is(NO_KEY_ID);
    test.ssh(Some("ghost"), b"status")
        .run()
        .code(77)
        .stderr_is("error: not permitted: key `ghost` is not in the agent config\n");
    test.ssh(Some("fun-ci"), b"rebuild fun-n-games")
        .run()
        .code(77)
        .stderr_is("error: not permitted: this key may not run `rebuild`\n");
    test.ssh(Some("fun-ci"), b"deploy other")
        .run()
        .code(77)
        .stderr_is("error: not permitted: this key may not touch project `other`\n");
    // SSH_CONNECTION alone (no SSH_ORIGINAL_COMMAND: an interactive login) is remote too.
    test.args(&["--key", "ci"])
        .env("SSH_CONNECTION", "1 2 3 4")
        .run()
        .code(64)
        .stderr_is("error: no command given\nhint: try `help`\n");
    test.args(&["status"])
        .env("SSH_CONNECTION", "1 2 3 4")
        .run()
        .code(77)
        .stderr_is(NO_KEY_ID);
}

#[test]
fn words_and_ssh_original_command_together_are_refused() {
    Test::new()
        .ssh(Some("ci"), b"status")
        .arg("version")
        .run()
        .code(64)
        .stdout_is("")
        .stderr_is(
            "error: words on the command line and SSH_ORIGINAL_COMMAND together: \
             the authorized_keys line must run `kelev-agent --key ID` with no words\n",
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
        let test = Test::new();
        let out = test
            .ssh(Some("ci"), raw)
            .run()
            .code(64)
            .stdout_is("")
            .stderr_has(reason);
        assert_eq!(
            out.stderr.lines().next().unwrap().matches("error:").count(),
            1
        );
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
    let test = Test::new();
    test.ssh(
        Some("fun-ci"),
        b"deploy other 0123456789abcdef0123456789abcdef01234567",
    )
    .run()
    .code(77)
    .stderr_is("error: not permitted: this key may not touch project `other`\n");
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
        .code(65)
        .stderr_has("must be an absolute path");
    let test = Test::new();
    std::fs::remove_file(test.config_path()).unwrap();
    test.args(&["status"])
        .run()
        .code(65)
        .stderr_has("cannot read config");
    let test = Test::new();
    test.config(
        &serde_json::json!({"root": "/r", "keys": {"k": {"verbs": ["shell"], "projects": ["*"]}}}),
    );
    test.args(&["status"])
        .run()
        .code(65)
        .stderr_has("unknown verb `shell`");
}

#[test]
fn unknown_project_is_65_and_missing_docker_is_69() {
    let test = Test::new();
    test.args(&["deploy", "nope"])
        .run()
        .code(65)
        .stdout_is("")
        .stderr_is("error: project `nope` is not in the manifest\n");
    test.args(&["status"])
        .run()
        .code(69)
        // The program, not its whole `ps --format` template (issue 20, finding 10).
        .stderr_is(
            "error: could not start `/nonexistent/docker`: No such file or directory (os error 2)\n\
             hint: install it; for Docker and compose, agent.json (`docker`, `compose`) may name its path\n",
        );
}

/// A call that ran and failed is 1, and says which call, how it ended and the end of its
/// stderr; 69 is for an engine out of reach alone. `ls` stands in for a `docker` that runs
/// and refuses its arguments: a real program, no engine needed.
#[test]
fn a_docker_call_that_ran_and_failed_is_1() {
    let test = Test::new();
    test.config(&serde_json::json!({
        "root": test.root(),
        "docker": ["/bin/ls", "--kelev-no-such-option"],
    }));
    test.args(&["status"]).run().code(1).stderr_is(
        "error: `/bin/ls --kelev-no-such-option ps -a --no-trunc --filter \
         label=com.docker.compose.project --format '{{.ID}}\t{{.State}}\t{{.Status}}\t\
         {{.Label \"com.docker.compose.project\"}}\t{{.Label \"com.docker.compose.service\"}}\t\
         {{.Label \"dev.kelev.commit\"}}\t{{.Label \"com.docker.compose.oneoff\"}}\t\
         {{.Label \"com.docker.compose.container-number\"}}\t{{.Label \"dev.kelev.one-shot\"}}'` failed (exit code 2): /bin/ls: \
         unrecognized option '--kelev-no-such-option'; Try '/bin/ls --help' for more \
         information.\n",
    );
}

#[test]
fn unknown_options_are_words_and_refused_64() {
    let test = Test::new();
    test.args(&["--bogus"])
        .run()
        .code(64)
        .stderr_is("error: unknown verb `--bogus`\nhint: try `help`\n");
    test.args(&["deploy", "fun-n-games", "--bogus"])
        .run()
        .code(64)
        .stderr_is("error: `deploy` takes no option `--bogus`\n");
}

#[test]
fn an_unknown_key_learns_nothing_about_the_grammar() {
    let test = Test::new();
    test.ssh(Some("ghost"), b"deploy ;id")
        .run()
        .code(77)
        .stderr_is("error: not permitted: key `ghost` is not in the agent config\n");
    test.ssh(None, b"\xff").run().code(77).stderr_is(NO_KEY_ID);
}

#[test]
fn deploy_json_failure_is_still_one_json_object() {
    let out = Test::new()
        .args(&["deploy", "nope", "--json"])
        .run()
        .code(65)
        .stderr_has("not in the manifest");
    let report: serde_json::Value = serde_json::from_str(out.stdout.trim()).unwrap();
    assert_eq!(report["result"], "failed");
    assert_eq!(report["project"], "nope");
    assert_eq!(report["exit_code"], 65);
    assert_eq!(report["error"], "project `nope` is not in the manifest");
}

#[test]
fn manifest_verb_without_a_manifest_is_65() {
    let test = Test::new();
    std::fs::remove_file(test.manifest_path()).unwrap();
    test.args(&["manifest"])
        .run()
        .code(65)
        .stderr_has("I/O error at");
}

/// `--check-config`: the check init.sh runs on the agent.json it is about to install (issue 20,
/// finding 1). A mistyped verb is the one error line the agent would give on every later run.
#[test]
fn check_config_names_the_problem_and_touches_nothing() {
    let test = Test::new();
    std::fs::remove_dir_all(test.root()).unwrap();
    let config = test.config_path();
    test.args(&["--check-config"])
        .run()
        .ok()
        .stdout_is(&format!("{}: valid; keys: ci, fun-ci\n", config.display()))
        .stderr_is("");
    test.config(&serde_json::json!({
        "root": test.root(),
        "keys": {"ci": {"verbs": ["depoy", "status"], "projects": ["Fun N Games"]}},
    }));
    test.args(&["--check-config"])
        .run()
        .code(65)
        .stdout_is("")
        .stderr_is(&format!(
            "error: config `{}`: key `ci`: `verbs`: unknown verb `depoy` (known: deploy, clone, \
             rebuild, rebuild-all, status, logs, run, manifest, manifest-put, remove, rollback, \
             secrets-put, secrets, secrets-unset, registry-login, help, version)\n",
            config.display()
        ));
    test.config(&serde_json::json!({
        "root": test.root(),
        "keys": {"ci": {"verbs": ["status"], "projects": ["Fun N Games"]}},
    }));
    test.args(&["--check-config"])
        .run()
        .code(65)
        .stderr_is(&format!(
            "error: config `{}`: key `ci`: `projects`: `Fun N Games` is not a project name \
         (^[a-z0-9][a-z0-9-]{{0,62}}$)\n",
            config.display()
        ));
    assert!(!test.root().exists(), "the check created the root");
    test.args(&["--check-config", "status"]).run().code(64);
}

/// Run by another user than the owner of `root` (here root, on a root owned by `nobody`: a
/// `sudo` without `-u deploy`), the agent stops before it makes a file there, locally and over
/// SSH (issue 20, finding 2).
#[test]
fn only_the_owner_of_root_may_run_the_agent() {
    use std::os::unix::fs::MetadataExt;
    let test = Test::new();
    let me = std::fs::metadata(test.root()).unwrap().uid();
    assert_eq!(
        me, 0,
        "this test runs as root, as scripts/test does (it chowns the root)"
    );
    std::os::unix::fs::chown(test.root(), Some(65534), Some(65534)).unwrap();
    let refusal = format!(
        "error: not permitted: kelev-agent runs as `nobody`, the owner of `{}`, not as `root`: \
         what it made would lock `nobody` out\nhint: sudo -u nobody kelev-agent ...\n",
        test.root().display()
    );
    for run in [
        test.args(&["secrets-put", "fun-n-games"]),
        test.ssh(Some("ci"), b"status"),
    ] {
        run.run().code(77).stdout_is("").stderr_is(&refusal);
    }
    let made: Vec<_> = std::fs::read_dir(test.root())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(made, ["projects.json"], "the refused runs made files");
    // The owner itself (root, once it owns the root again) runs.
    std::os::unix::fs::chown(test.root(), Some(0), Some(0)).unwrap();
    test.ssh(Some("ci"), b"manifest").run().ok();
}

/// A missing root is made 0750, as docs/security.md relies on (issue 20, finding 10).
#[test]
fn a_missing_root_is_made_0750() {
    use std::os::unix::fs::PermissionsExt;
    let test = Test::new();
    std::fs::remove_dir_all(test.root()).unwrap();
    test.ssh(Some("ci"), b"manifest").run().code(65);
    let mode = std::fs::metadata(test.root()).unwrap().permissions().mode();
    assert_eq!(mode & 0o7777, 0o750);
}

/// What the agent prints must arrive: stdout on a full disk is exit 74, not 0 (issue 20,
/// finding 6). `manifest` is what a CI job reads, `--check-config` what init.sh trusts.
#[test]
fn output_that_cannot_be_written_is_exit_74() {
    let test = Test::new();
    for words in [&["manifest"][..], &["help"], &["--check-config"]] {
        let run = Run::new("sh")
            .args(["-c", "exec \"$0\" \"$@\" >/dev/full"])
            .arg(env!("CARGO_BIN_EXE_kelev-agent"))
            .arg("--config")
            .arg(test.config_path())
            .args(words)
            .env("HOME", "/");
        run.run()
            .code(74)
            .stderr_is("error: cannot write the output: No space left on device (os error 28)\n");
    }
}

/// A secret typed on the command line instead of stdin is refused without echoing its value,
/// on stderr or in the audit log (issue 20, finding 7); one input naming a key twice, or none,
/// is refused too (finding 10).
#[test]
fn a_secret_on_the_command_line_is_never_echoed() {
    let test = Test::new();
    for (words, line) in [
        (
            &["secrets-put", "fun-n-games", "DB_PASSWORD=hunter2"][..],
            "error: `secrets-put` does not take the extra word `DB_PASSWORD=<value not shown>`\n",
        ),
        (
            &["secrets-put", "DB_PASSWORD=hunter2"],
            "error: `DB_PASSWORD=<value not shown>` is not a project name (^[a-z0-9][a-z0-9-]{0,62}$)\n",
        ),
        (
            &["DB_PASSWORD=hunter2"],
            "error: unknown verb `DB_PASSWORD=<value not shown>`\nhint: try `help`\n",
        ),
    ] {
        test.args(words).run().code(64).stdout_is("").stderr_is(line);
    }
    let log = std::fs::read_to_string(test.root().join("audit.log")).unwrap();
    assert!(!log.contains("hunter2"), "{log}");
    assert!(log.contains("DB_PASSWORD=<value not shown>"), "{log}");

    for (stdin, line) in [
        (
            "A=1\nB=2\nA=3\n",
            "error: project `fun-n-games`: secrets on stdin: line 3: `A` is given twice (first on line 1)\n",
        ),
        (
            "",
            "error: project `fun-n-games`: secrets on stdin: no `KEY=value` line\nhint: `secrets-put` reads the secrets from stdin, one `KEY=value` a line\n",
        ),
    ] {
        test.args(&["secrets-put", "fun-n-games"])
            .stdin(stdin)
            .run()
            .code(65)
            .stderr_is(line);
    }
}
