//! The verb table against the key policy and `help`: what `"*"` covers is each verb's grant.

use super::{Command, VERBS};
use crate::wire::policy::{policy, Denied};
use crate::wire::spec::Grant;

fn check(policy: &crate::wire::policy::KeyPolicy, line: &str) -> Result<(), Denied> {
    let command = Command::parse_line(line.as_bytes()).unwrap();
    policy.check(command.spec(), command.project())
}

#[test]
fn table() {
    let ci = policy(&["*"], &["*"]);
    let fun = policy(&["deploy", "status"], &["fun-n-games"]);
    let nothing = policy(&[], &[]);
    let cases = [
        (&ci, "deploy anything", true),
        (&ci, "manifest-put", true),
        (&ci, "remove x", true),
        (&fun, "deploy fun-n-games", true),
        (&fun, "status fun-n-games --json", true),
        (&fun, "status", true),
        (&fun, "deploy other", false),
        (&fun, "status other", false),
        (&fun, "rebuild fun-n-games", false),
        (&fun, "logs fun-n-games", false),
        (&fun, "manifest-put", false),
        (&fun, "rebuild-all", false),
        (&fun, "help", true),
        (&fun, "version", true),
        (&nothing, "status", false),
        (&nothing, "version", true),
        (&policy(&["manifest-put"], &["a"]), "manifest-put", false),
        (&ci, "secrets-put a", false),
        (&ci, "secrets a", false),
        (&ci, "secrets-unset a KEY", false),
        (&policy(&["*", "secrets"], &["*"]), "secrets a", true),
        (&policy(&["secrets-put"], &["a"]), "secrets-put a", true),
        (&policy(&["secrets-put"], &["a"]), "secrets-put b", false),
    ];
    for (policy, line, allowed) in cases {
        assert_eq!(
            check(policy, line).is_ok(),
            allowed,
            "{line} with {policy:?}"
        );
    }
}

#[test]
fn refusals_say_why() {
    let fun = policy(&["deploy"], &["fun-n-games"]);
    assert_eq!(
        check(&fun, "deploy other").unwrap_err().to_string(),
        "this key may not touch project `other`"
    );
    assert_eq!(
        check(&fun, "rebuild fun-n-games").unwrap_err().to_string(),
        "this key may not run `rebuild`"
    );
    assert_eq!(
        check(&policy(&["manifest-put"], &["a"]), "manifest-put")
            .unwrap_err()
            .to_string(),
        "only a key for all projects (`\"*\"`) may run `manifest-put`"
    );
}

/// `"*"` reaches exactly the verbs whose grant is `Star`: a verb that reads secrets or would
/// run something in a container must be declared `Named`, and this list must then change too.
#[test]
fn star_covers_exactly_the_star_verbs() {
    let named: Vec<&str> = VERBS
        .iter()
        .filter(|s| s.grant == Grant::Named)
        .map(|s| s.name)
        .collect();
    assert_eq!(
        named,
        [
            "run",
            "secrets-put",
            "secrets",
            "secrets-unset",
            "registry-login"
        ]
    );
    let star = policy(&["*"], &["*"]);
    for spec in VERBS {
        assert_eq!(
            star.check(spec, None).is_ok(),
            spec.grant != Grant::Named,
            "{}",
            spec.name
        );
    }
}

#[test]
fn every_verb_is_declared_whole() {
    let mut names: Vec<&str> = VERBS.iter().map(|s| s.name).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), VERBS.len(), "a verb name is declared twice");
    for spec in VERBS {
        let public = spec.grant == Grant::Anyone;
        assert_eq!(
            spec.about.is_empty(),
            public,
            "`{}`: only the verbs any key may run go without a help line",
            spec.name
        );
        for option in spec.options {
            assert!(
                spec.usage.contains(option.name),
                "`{}`: option `{}` is not in its usage",
                spec.name,
                option.name
            );
        }
    }
}

/// `help` is the table rendered: the same text the binary's golden test expects.
#[test]
fn help_is_the_table() {
    let expected = include_str!("../../tests/golden/help.expected");
    assert_eq!(super::help::text(VERBS), expected);
}
