//! `kelev decide`: the deploy job's `$GITHUB_OUTPUT` lines, and refusals of what is not a hash.

use crate::kelev;

#[test]
fn prints_the_decision_and_the_reason_for_github_output() {
    let (h, other) = ("a".repeat(64), "b".repeat(64));
    for (args, expected) in [
        (vec!["--running", &h], "deploy=false\nreason=host runs it\n"),
        (
            vec!["--running", &h, "--artifacts", "2"],
            "deploy=false\nreason=host runs it\n",
        ),
        (
            vec!["--running", &h, "--force"],
            "deploy=true\nreason=forced\n",
        ),
        (
            vec!["--running", "", "--artifacts", "1"],
            "deploy=true\nreason=host lacks it\n",
        ),
        (
            vec!["--running", &other, "--artifacts", "1"],
            "deploy=true\nreason=host lacks it\n",
        ),
        (
            vec!["--artifacts", "0"],
            "deploy=true\nreason=new content\n",
        ),
    ] {
        let mut all = vec!["decide", "--hash", &h];
        all.extend(&args);
        let out = kelev(&all).ok();
        assert_eq!(out.stdout, expected, "{args:?}");
    }
}

#[test]
fn refuses_what_is_not_a_content_hash() {
    let h = "a".repeat(64);
    kelev(&["decide", "--hash", ""])
        .code(65)
        .stderr_has("`--hash`: `` is not a content hash");
    kelev(&["decide", "--hash", &h.to_uppercase()])
        .code(65)
        .stderr_has("is not a content hash");
    kelev(&["decide", "--hash", &h, "--running", "abc"])
        .code(65)
        .stderr_has("`--running`: `abc` is not a content hash");
    kelev(&["decide", "--hash", &h, "--artifacts", "x"])
        .code(64)
        .stderr_has("invalid value");
    kelev(&["decide"]).code(64).stderr_has("--hash");
}
