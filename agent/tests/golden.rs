//! Whole outputs compared with the files in `tests/golden/`: `help`, and every refusal of the
//! command grammar as the binary prints it, with its exit code.

use std::fmt::Write;

use kelev_e2e::{assert_golden, expected};

use crate::{golden, Test};

#[test]
fn help_is_exactly_the_golden_text() {
    let help = expected(golden("help.expected"), &[]);
    let test = Test::new();
    test.args(&["help"])
        .run()
        .ok()
        .stdout_is(&help)
        .stderr_is("");
    test.ssh(Some("ci"), b"help")
        .run()
        .ok()
        .stdout_is(&help)
        .stderr_is("");
}

/// One command for each way the grammar refuses a line (each `GrammarError`).
const REFUSED: &[&[u8]] = &[
    b"",
    &[b'a'; 1025],
    b"deploy \xd0\xb0",
    b"status  fun-n-games",
    b"deploy fun-n-games; id",
    b"deploy fun-n-games\nid",
    b"launch x",
    b"deploy fun-n-games --bogus",
    b"status --json --json",
    b"logs fun-n-games --tail",
    b"deploy",
    b"deploy Fun",
    b"deploy fun-n-games HEAD",
    b"logs fun-n-games --tail 0",
    b"secrets-unset fun-n-games lower",
    b"secrets-unset fun-n-games",
    b"rebuild fun-n-games extra",
    b"status --config agent.json",
    b"secrets-put fun-n-games DB_PASSWORD=hunter2",
];

/// `$ <command>`, the exit code and stderr of each of [`REFUSED`] sent over ssh, as one text.
#[test]
fn grammar_refusals_are_exactly_the_golden_text() {
    let mut transcript = String::new();
    for raw in REFUSED {
        let test = Test::new();
        let out = test.ssh(Some("ci"), raw).run().stdout_is("");
        let shown = match raw.len() {
            0..=80 => raw.escape_ascii().to_string(),
            n => format!("<{n} bytes of `{}`>", raw[0] as char),
        };
        let code = out.code.map_or("signal".to_owned(), |c| c.to_string());
        write!(transcript, "$ {shown}\nexit {code}\n{}\n", out.stderr).unwrap();
        assert_eq!(test.audit()[0]["result"], "refused", "{shown}");
    }
    assert_golden(golden("grammar-refusals.expected"), &[], &transcript);
}
