//! The shape of this crate, checked: every verb in the table has its section in
//! docs/commands.md, every file is in docs/architecture.md's module map, no file is over the
//! size the codebase keeps to, and no two files import each other, even through others.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::verbs::VERBS;

/// Lines of code before a file's tests, at most.
const MAX_LINES: usize = 300;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every `.rs` file under `agent/src`, relative to it.
fn sources() -> Vec<String> {
    fn walk(dir: &Path, base: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, base, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path.strip_prefix(base).unwrap().display().to_string());
            }
        }
    }
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = Vec::new();
    walk(&base, &base, &mut out);
    out.sort();
    out
}

fn code_of(file: &str) -> String {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(file))
            .unwrap();
    match text.find("#[cfg(test)]\nmod tests") {
        Some(at) => text[..at].to_owned(),
        None => text,
    }
}

/// `verbs/deploy.rs` -> `verbs::deploy`; `verbs/mod.rs` -> `verbs`.
fn module_of(file: &str) -> String {
    let module = file.trim_end_matches(".rs").trim_end_matches("/mod");
    match module {
        "lib" | "main" => "crate".into(),
        module => module.replace('/', "::"),
    }
}

#[test]
fn every_verb_has_its_section_in_commands_md() {
    let doc = std::fs::read_to_string(repo().join("docs/commands.md")).unwrap();
    let documented: BTreeSet<&str> = doc
        .lines()
        .filter_map(|line| line.strip_prefix("### "))
        .flat_map(|heading| heading.split(", "))
        .collect();
    for spec in VERBS {
        assert!(
            documented.contains(spec.name),
            "docs/commands.md has no `### {}` section",
            spec.name
        );
    }
}

#[test]
fn every_file_is_in_the_module_map() {
    let doc = std::fs::read_to_string(repo().join("docs/architecture.md")).unwrap();
    for file in sources() {
        assert!(
            doc.contains(&format!("`{file}`")),
            "docs/architecture.md's module map does not name `{file}`"
        );
    }
}

#[test]
fn files_stay_small() {
    for file in sources() {
        let lines = code_of(&file).lines().count();
        assert!(
            lines <= MAX_LINES,
            "`{file}` has {lines} lines of code (at most {MAX_LINES})"
        );
    }
}

#[test]
fn no_file_imports_itself_through_others() {
    let files = sources();
    let modules: BTreeSet<String> = files.iter().map(|f| module_of(f)).collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let me = module_of(file);
        let code = code_of(file);
        let mut deps = BTreeSet::new();
        for (at, _) in code.match_indices("crate::") {
            let path: Vec<&str> = code[at + 7..]
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
                .next()
                .unwrap_or("")
                .split("::")
                .collect();
            let found = (1..=path.len())
                .rev()
                .map(|n| path[..n].join("::"))
                .find(|candidate| modules.contains(candidate));
            if let Some(dep) = found.filter(|dep| *dep != me) {
                deps.insert(dep);
            }
        }
        edges.insert(me, deps);
    }
    fn reaches(
        edges: &BTreeMap<String, BTreeSet<String>>,
        from: &str,
        to: &str,
        seen: &mut BTreeSet<String>,
    ) -> bool {
        edges
            .get(from)
            .into_iter()
            .flatten()
            .any(|next| next == to || (seen.insert(next.clone()) && reaches(edges, next, to, seen)))
    }
    for module in edges.keys() {
        assert!(
            !reaches(&edges, module, module, &mut BTreeSet::new()),
            "`{module}` imports itself through other files: {:?}",
            edges[module]
        );
    }
}
