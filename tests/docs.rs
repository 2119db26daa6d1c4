//! The operator docs checked against what exists: every repository file a doc names, every
//! link's anchor, every `kelev-agent` verb and `kelev` subcommand a command line in a doc runs
//! (with its flags), every exit code a doc mentions, and every `agent.json` field it documents.
//! A rename in the code that leaves a doc behind fails here, not in an operator's terminal.
//!
//! The binaries are asked for their own help (`cargo build --workspace --bins` first; scripts/test
//! does), so the verbs and flags are the ones the code really has.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use kelev_e2e::{workspace_binary, Run};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// README.md and every page of docs/, with their paths relative to the repository.
fn pages() -> Vec<(String, String)> {
    let mut names = vec!["README.md".to_owned()];
    for entry in std::fs::read_dir(repo().join("docs")).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name.ends_with(".md") {
            names.push(format!("docs/{name}"));
        }
    }
    names.sort();
    names
        .into_iter()
        .map(|name| {
            let text = std::fs::read_to_string(repo().join(&name)).unwrap();
            (name, text)
        })
        .collect()
}

/// Collects the problems of one check and fails once with all of them.
#[derive(Default)]
struct Problems(Vec<String>);

impl Problems {
    fn add(&mut self, page: &str, line: usize, what: String) {
        self.0.push(format!("{page}:{line}: {what}"));
    }

    #[track_caller]
    fn assert_none(self, check: &str) {
        assert!(self.0.is_empty(), "{check}:\n  {}", self.0.join("\n  "));
    }
}

/// The folders at the top of the repository: a word that starts with one of them and a slash
/// names a repository file.
const TOP: &[&str] = &[
    "agent/",
    "ci/",
    "core/",
    "tests/",
    "scripts/",
    "bootstrap/",
    "terraform/",
    "config/",
    "docs/",
    "examples/",
    ".github/",
    ".ci/",
];

/// The words of a line, split where a path cannot go on.
fn words(line: &str) -> impl Iterator<Item = &str> {
    line.split(|c: char| c.is_whitespace() || "`'\"()[],;|".contains(c))
        .filter(|word| !word.is_empty())
}

/// `agent/src/x.rs:12.` -> `agent/src/x.rs`; `docs/a.md#b` -> `docs/a.md`; a word with a
/// placeholder (`releases/<commit>`, `*.rs`, `${X}`) -> the folder before it.
fn repository_path(word: &str) -> Option<&str> {
    let word = word.trim_start_matches("./");
    if !TOP.iter().any(|top| word.starts_with(top)) {
        return None;
    }
    let word = word.split('#').next().unwrap();
    let word = match word.find(['<', '*', '{', '$', '…']) {
        Some(at) => &word[..word[..at].rfind('/').map_or(0, |slash| slash + 1)],
        None => word,
    };
    let word = word.trim_end_matches(['.', ':', '!', '?']);
    let word = match word.rsplit_once(':') {
        Some((path, line)) if line.chars().all(|c| c.is_ascii_digit() || c == '-') => path,
        _ => word,
    };
    Some(word.trim_end_matches("..."))
}

/// Paths a doc names that are not in the repository, each with its reason.
const NOT_REPOSITORY_FILES: &[(&str, &str)] = &[
    // The content hash's examples: paths inside a project's repository.
    ("docs/content-hash.md", "docs/a/b.md"),
    ("docs/content-hash.md", "docs/a/intro.md"),
    ("docs/content-hash.md", "docs/intro.md"),
    ("docs/content-hash.md", "docs/run.sh"),
    // Written by `terraform apply` in that folder, on the operator's laptop.
    ("docs/runbook.md", "bootstrap/state/terraform.tfstate"),
];

#[test]
fn every_repository_path_a_doc_names_exists() {
    let mut problems = Problems::default();
    for (page, text) in pages() {
        let dir = Path::new(&page).parent().unwrap().to_owned();
        for (n, line) in text.lines().enumerate() {
            for word in words(line) {
                if let Some(path) = repository_path(word) {
                    if !repo().join(path).exists()
                        && !NOT_REPOSITORY_FILES.contains(&(page.as_str(), path))
                    {
                        problems.add(
                            &page,
                            n + 1,
                            format!("names `{path}`, which does not exist"),
                        );
                    }
                }
            }
            // Relative links: [text](../agent/src/x.rs), [text](commands.md#status).
            for target in links(line) {
                let file = target.split('#').next().unwrap();
                if file.is_empty() || file.contains("://") || file.starts_with("mailto:") {
                    continue;
                }
                if !repo().join(&dir).join(file).exists() {
                    problems.add(
                        &page,
                        n + 1,
                        format!("links to `{target}`, which does not exist"),
                    );
                }
            }
        }
    }
    problems.assert_none("docs name files that do not exist");
}

/// The targets of the Markdown links on a line.
fn links(line: &str) -> Vec<&str> {
    line.match_indices("](")
        .filter_map(|(at, _)| {
            let rest = &line[at + 2..];
            rest.find(')').map(|end| rest[..end].trim())
        })
        .filter(|target| !target.is_empty() && !target.contains(' '))
        .collect()
}

/// GitHub's anchor for a heading: lowercase, punctuation dropped, spaces to hyphens.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The anchors of a page's headings (outside code blocks), with GitHub's `-1`, `-2` for repeats.
fn anchors(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for heading in prose(text).filter_map(|(_, line)| {
        let hashes = line.len() - line.trim_start_matches('#').len();
        (hashes > 0 && line[hashes..].starts_with(' ')).then(|| &line[hashes..])
    }) {
        let base = anchor(heading);
        let mut name = base.clone();
        let mut repeat = 0;
        while !out.insert(name.clone()) {
            repeat += 1;
            name = format!("{base}-{repeat}");
        }
    }
    out
}

/// The lines of a page outside fenced code blocks, numbered from 1.
fn prose(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut fenced = false;
    text.lines().enumerate().filter_map(move |(n, line)| {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            return None;
        }
        (!fenced).then_some((n + 1, line))
    })
}

#[test]
fn every_link_anchor_is_a_heading() {
    let pages = pages();
    let mut problems = Problems::default();
    for (page, text) in &pages {
        let dir = Path::new(page).parent().unwrap();
        for (n, line) in prose(text) {
            for target in links(line) {
                let Some((file, fragment)) = target.split_once('#') else {
                    continue;
                };
                if file.contains("://") || !(file.is_empty() || file.ends_with(".md")) {
                    continue;
                }
                let linked = if file.is_empty() {
                    page.clone()
                } else {
                    let path = dir.join(file);
                    let path = path.to_str().unwrap().trim_start_matches("./");
                    normalize(path)
                };
                let Some((_, linked_text)) = pages.iter().find(|(name, _)| *name == linked) else {
                    let text = std::fs::read_to_string(repo().join(&linked)).unwrap_or_default();
                    if !anchors(&text).contains(fragment) {
                        problems.add(page, n, format!("links to `{target}`: no such heading"));
                    }
                    continue;
                };
                if !anchors(linked_text).contains(fragment) {
                    problems.add(page, n, format!("links to `{target}`: no such heading"));
                }
            }
        }
    }
    problems.assert_none("links to headings that do not exist");
}

/// `docs/../README.md` -> `README.md`.
fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            ".." => {
                parts.pop();
            }
            "." | "" => {}
            part => parts.push(part),
        }
    }
    parts.join("/")
}

/// What `kelev-agent help` lists: each verb with the flags its usage line gives.
fn agent_verbs() -> Vec<(String, BTreeSet<String>)> {
    let help = Run::new(workspace_binary("kelev-agent"))
        .arg("help")
        .run()
        .ok();
    let mut verbs = Vec::new();
    for line in help
        .stdout
        .lines()
        .skip_while(|line| *line != "commands:")
        .skip(1)
    {
        let Some(usage) = line.strip_prefix("  ") else {
            break;
        };
        if usage.starts_with(' ') {
            continue;
        }
        if usage.starts_with("help, version") {
            verbs.push(("help".to_owned(), BTreeSet::new()));
            verbs.push(("version".to_owned(), BTreeSet::new()));
            continue;
        }
        let mut parts = usage.split_whitespace();
        let verb = parts.next().unwrap().to_owned();
        let flags = usage
            .split(['[', ']', ' '])
            .filter(|word| word.starts_with("--"))
            .map(str::to_owned)
            .collect();
        verbs.push((verb, flags));
    }
    assert!(
        verbs.len() > 5,
        "`kelev-agent help` lists no verbs:\n{}",
        help.stdout
    );
    verbs
}

/// The agent's own flags, before the command (docs/commands.md's first table).
const AGENT_FLAGS: &[&str] = &[
    "--config",
    "--key",
    "--check-config",
    "--init-groups",
    "--help",
    "--version",
];

/// What `kelev --help` lists, each subcommand with the flags of its own `--help`.
fn cli_subcommands() -> Vec<(String, BTreeSet<String>)> {
    let kelev = workspace_binary("kelev");
    let help = Run::new(&kelev).arg("--help").run().ok();
    let names: Vec<String> = help
        .stdout
        .lines()
        .skip_while(|line| *line != "Commands:")
        .skip(1)
        .take_while(|line| line.starts_with("  "))
        .filter_map(|line| line.split_whitespace().next().map(str::to_owned))
        .filter(|name| name != "help")
        .collect();
    assert!(
        names.len() > 3,
        "`kelev --help` lists no subcommands:\n{}",
        help.stdout
    );
    names
        .into_iter()
        .map(|name| {
            let help = Run::new(&kelev).args([name.as_str(), "--help"]).run().ok();
            let flags = words(&help.stdout)
                .flat_map(|word| word.split(['<', '=']).next())
                .filter(|word| word.starts_with("--"))
                .map(|word| word.trim_end_matches(',').to_owned())
                .collect();
            (name, flags)
        })
        .collect()
}

/// The command lines of a page: its code spans and the lines of its code blocks.
fn command_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut fenced = false;
    for (n, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            out.push((n + 1, line.trim().to_owned()));
        } else {
            for (i, span) in line.split('`').enumerate() {
                if i % 2 == 1 {
                    out.push((n + 1, span.to_owned()));
                }
            }
        }
    }
    out
}

/// What a command line runs, if it runs one of ours: `ssh [options] HOST VERB ...` and
/// `[sudo -u deploy -H] [env X=Y] .../kelev-agent [--key ID] VERB ...` run the agent;
/// `kelev SUBCOMMAND ...` runs the CLI. Words after the program, without it.
enum Runs<'a> {
    Agent(Vec<&'a str>),
    Cli(Vec<&'a str>),
}

fn runs(line: &str) -> Option<Runs<'_>> {
    let mut words = line.split_whitespace().peekable();
    words.next_if_eq(&"$");
    if words.next_if_eq(&"ssh").is_some() {
        // ssh's options, then the destination; `...` stands for options in the docs.
        while let Some(word) = words.next_if(|w| w.starts_with(['-', '$']) || *w == "...") {
            if ["-i", "-p", "-o", "-F", "-l", "-J", "-R", "-L", "-D", "-W"].contains(&word) {
                words.next();
            }
        }
        // The deploy user, or the host alias docs/ci.md's workflow gives it.
        let destination = words.next()?;
        if !(destination.starts_with("deploy@") || destination == "kelev") {
            return None;
        }
        return Some(Runs::Agent(words.collect()));
    }
    let mut user = false;
    while let Some(word) = words.next_if(|w| {
        ["sudo", "env", "-H"].contains(w) || w.contains('=') || w.starts_with('-') || user
    }) {
        user = word == "-u";
    }
    match words.next()? {
        program if program == "kelev-agent" || program.ends_with("/kelev-agent") => {
            Some(Runs::Agent(words.collect()))
        }
        "kelev" => Some(Runs::Cli(words.collect())),
        _ => None,
    }
}

/// Lines the check passes over, each with its reason.
const NOT_COMMANDS: &[(&str, &str)] = &[
    // The content hash's header line, a string, not a command.
    ("docs/architecture.md", "kelev content hash v1"),
    ("docs/content-hash.md", "kelev content hash v1"),
];

#[test]
fn every_verb_subcommand_and_flag_a_doc_runs_exists() {
    let verbs = agent_verbs();
    let subcommands = cli_subcommands();
    let mut problems = Problems::default();
    for (page, text) in pages() {
        let lines = command_lines(&text);
        for (i, (n, line)) in lines.iter().enumerate() {
            let n = *n;
            if NOT_COMMANDS
                .iter()
                .any(|(p, text)| *p == page && line.contains(text))
            {
                continue;
            }
            // A refused command shown with its error is meant not to exist.
            if lines
                .get(i + 1)
                .is_some_and(|(next, text)| *next == n + 1 && text.starts_with("error:"))
            {
                continue;
            }
            match runs(line) {
                Some(Runs::Agent(words)) => {
                    let mut parts = words.into_iter().peekable();
                    // The agent's own flags come first: `--key ci`, `--config PATH`.
                    while let Some(flag) = parts.next_if(|part| part.starts_with("--")) {
                        if !AGENT_FLAGS.contains(&flag) {
                            problems.add(&page, n, format!("`kelev-agent {flag}`: no such flag"));
                        }
                        parts.next();
                    }
                    let Some(verb) = parts.next() else { continue };
                    if !verb.chars().all(|c| c.is_ascii_lowercase() || c == '-') {
                        continue; // a placeholder: `<command>`, `VERB`, `"..."`
                    }
                    match verbs.iter().find(|(name, _)| name == verb) {
                        None => {
                            problems.add(&page, n, format!("`{verb}`: no such kelev-agent verb"))
                        }
                        Some((_, flags)) => {
                            for flag in parts.filter(|part| part.starts_with("--")) {
                                let flag = flag.split('=').next().unwrap();
                                if !flags.contains(flag) {
                                    problems.add(
                                        &page,
                                        n,
                                        format!("`{verb} {flag}`: no such flag"),
                                    );
                                }
                            }
                        }
                    }
                }
                Some(Runs::Cli(words)) => {
                    let Some(sub) = words.first() else { continue };
                    if sub.starts_with('-')
                        || !sub.chars().all(|c| c.is_ascii_lowercase() || c == '-')
                    {
                        continue; // `kelev --version`; a placeholder
                    }
                    match subcommands.iter().find(|(name, _)| name == sub) {
                        None => {
                            problems.add(&page, n, format!("`kelev {sub}`: no such subcommand"))
                        }
                        Some((_, flags)) => {
                            for flag in words[1..].iter().filter(|w| w.starts_with("--")) {
                                let flag = flag.split('=').next().unwrap();
                                if !flags.contains(flag) {
                                    problems.add(
                                        &page,
                                        n,
                                        format!("`kelev {sub} {flag}`: no such flag"),
                                    );
                                }
                            }
                        }
                    }
                }
                None => {}
            }
        }
    }
    problems.assert_none("docs run verbs, subcommands or flags that do not exist");
}

/// The exit codes `kelev-agent help` gives (`exit codes: 0 ok, 1 failed, ...`).
fn agent_exit_codes() -> BTreeSet<u32> {
    let help = Run::new(workspace_binary("kelev-agent"))
        .arg("help")
        .run()
        .ok();
    let at = help
        .stdout
        .find("exit codes:")
        .expect("help names its exit codes");
    help.stdout[at..]
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|number| number.parse().ok())
        .collect()
}

#[test]
fn every_exit_code_a_doc_gives_is_one_the_binaries_have() {
    let agent = agent_exit_codes();
    let (_, commands) = pages()
        .into_iter()
        .find(|(page, _)| page == "docs/commands.md")
        .unwrap();
    // docs/commands.md's table of exit codes: `| 65 | bad data | ... |`.
    let table: BTreeSet<u32> = commands
        .lines()
        .filter_map(|line| line.strip_prefix("| ")?.split(' ').next()?.parse().ok())
        .collect();
    assert_eq!(
        table, agent,
        "docs/commands.md's exit code table and `kelev-agent help` disagree"
    );
    // Besides the agent's: clap's usage error (2), ssh's own failure (255), a job killed by
    // SIGKILL (137) or SIGTERM (143).
    let known: BTreeSet<u32> = agent.iter().copied().chain([2, 137, 143, 255]).collect();
    let mut problems = Problems::default();
    for (page, text) in pages() {
        for (n, line) in text.lines().enumerate() {
            // A child's status inside a quoted message: ``error: ... failed (exit code 17)``.
            if line.trim_start().starts_with("error:") {
                continue;
            }
            let lower = line.to_lowercase();
            for phrase in [
                "exit code ",
                "exits with ",
                "exit status ",
                "exit ",
                "exits ",
            ] {
                for (at, _) in lower.match_indices(phrase) {
                    let digits: String = lower[at + phrase.len()..]
                        .chars()
                        .take_while(char::is_ascii_digit)
                        .collect();
                    if let Ok(code) = digits.parse::<u32>() {
                        if !known.contains(&code) {
                            problems.add(&page, n + 1, format!("gives exit code {code}"));
                        }
                    }
                }
            }
        }
    }
    problems.assert_none("docs give exit codes the binaries do not have");
}

/// The real agent's check of `config` as agent.json (`--check-config`: reads, touches nothing).
fn agent_reads(dir: &Path, config: &str) -> kelev_e2e::Output {
    let path = dir.join("agent.json");
    std::fs::write(&path, config).unwrap();
    Run::new(workspace_binary("kelev-agent"))
        .args(["--config", path.to_str().unwrap(), "--check-config"])
        .run()
}

/// The fields of agent.json as docs/commands.md's table lists them (`traefik.api` for nested).
fn documented_agent_json_fields() -> BTreeSet<String> {
    let text = std::fs::read_to_string(repo().join("docs/commands.md")).unwrap();
    let section = text
        .split("\n## agent.json\n")
        .nth(1)
        .expect("a `## agent.json` section");
    let section = section.split("\n## ").next().unwrap();
    section
        .lines()
        .filter_map(|line| line.strip_prefix("| `")?.split('`').next())
        .map(str::to_owned)
        .collect()
}

#[test]
fn agent_json_fields_are_the_ones_the_agent_reads() {
    // Each documented field, alone in a config the real agent reads: a field the agent does not
    // have is refused (unknown fields are, at every level).
    let dir = tempfile::tempdir().unwrap();
    let fields = documented_agent_json_fields();
    assert!(fields.contains("root") && fields.len() > 10, "{fields:?}");
    let value_for = |field: &str| match field {
        "root" | "manifest" | "traefik.network" | "traefik.cert_resolver" => {
            serde_json::json!(dir.path().join("x"))
        }
        "compose" | "docker" | "traefik.entrypoints" => serde_json::json!(["docker"]),
        "traefik.api" => serde_json::json!("http://127.0.0.1:8080"),
        "keys" => serde_json::json!({}),
        _ => serde_json::json!(5),
    };
    for field in &fields {
        let mut config = serde_json::json!({ "root": dir.path().join("root") });
        match field.split_once('.') {
            Some((outer, inner)) => config[outer] = serde_json::json!({ inner: value_for(field) }),
            None => config[field.as_str()] = value_for(field),
        }
        if field == "traefik.network" || field == "traefik.cert_resolver" {
            config["traefik"] = serde_json::json!({ field.split_once('.').unwrap().1: "web" });
        }
        let out = agent_reads(dir.path(), &config.to_string());
        assert!(
            !out.stderr.contains("unknown field"),
            "docs/commands.md documents agent.json's `{field}`, which the agent refuses:\n{}",
            out.stderr
        );
    }
    // And every field the agent reads is documented: the agent's own message for an unknown
    // field lists the ones it expects.
    for (json, prefix) in [
        (r#"{"root": "/x", "no_such_field": 1}"#, ""),
        (
            r#"{"root": "/x", "traefik": {"no_such_field": 1}}"#,
            "traefik.",
        ),
    ] {
        let out = agent_reads(dir.path(), json);
        let expected = out
            .stderr
            .split("expected one of ")
            .nth(1)
            .unwrap_or_else(|| panic!("no list of fields in: {}", out.stderr));
        let expected = expected.split(" at line ").next().unwrap();
        for field in expected
            .split(", ")
            .map(|f| f.trim_matches(|c: char| !c.is_alphanumeric() && c != '_'))
        {
            let field = format!("{prefix}{field}");
            let nested = format!("{field}.");
            assert!(
                fields.contains(&field) || fields.iter().any(|f| f.starts_with(&nested)),
                "the agent reads agent.json's `{field}`, which docs/commands.md's table does not document"
            );
        }
    }
}
