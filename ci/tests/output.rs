//! What `kelev` prints must arrive: `kelev decide` writes the deploy job's `$GITHUB_OUTPUT`, and
//! a failed write there would read as "unchanged" (issue 20, finding 6).

use std::path::Path;

use kelev_e2e::Run;

#[test]
fn output_that_cannot_be_written_is_exit_74() {
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let manifest = golden.join("projects.json");
    let manifest = manifest.to_str().unwrap();
    let hash = "a".repeat(64);
    for args in [
        &["decide", "--hash", &hash, "--running", ""][..],
        &["plan", "--manifest", manifest],
        &["completions", "bash"],
    ] {
        Run::new("sh")
            .args(["-c", "exec \"$0\" \"$@\" >/dev/full"])
            .arg(env!("CARGO_BIN_EXE_kelev"))
            .args(args)
            .run()
            .code(74)
            .stderr_is("error: cannot write the output: No space left on device (os error 28)\n");
    }
}

/// `kelev --version` names the commit, as `kelev-agent version` does (issue 20, finding 10).
#[test]
fn version_names_the_commit() {
    let out = crate::kelev(&["--version"]).ok();
    let version = out.stdout.trim_end();
    let commit = version
        .strip_prefix(&format!("kelev {} (commit ", env!("CARGO_PKG_VERSION")))
        .and_then(|rest| rest.strip_suffix(')'))
        .unwrap_or_else(|| panic!("{version}"));
    assert!(
        commit == "unknown" || commit.len() == 40 && commit.bytes().all(|b| b.is_ascii_hexdigit()),
        "{version}"
    );
}
