//! `kelev hash`: stable across clones and paths, sensitive to bytes, modes and paths, and
//! blind to what `hash_ignore` names.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::{git, kelev};

fn repo(dir: &Path) {
    std::fs::create_dir_all(dir.join("src")).unwrap();
    git(dir, &["init", "-q", "-b", "main"]);
    std::fs::write(dir.join("src/app"), "v1\n").unwrap();
    std::fs::write(dir.join("README.md"), "readme\n").unwrap();
    std::fs::create_dir_all(dir.join("docs")).unwrap();
    std::fs::write(dir.join("docs/guide.md"), "guide\n").unwrap();
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "one"]);
}

fn hash(dir: &Path, extra: &[&str]) -> String {
    let mut args = vec!["hash", dir.to_str().unwrap()];
    args.extend(extra);
    let out = kelev(&args).ok();
    let hash = out.stdout.trim().to_owned();
    assert_eq!(hash.len(), 64, "{hash}");
    assert!(hash
        .bytes()
        .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
    hash
}

#[test]
fn stable_across_clones_paths_and_history() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a");
    repo(&a);
    let original = hash(&a, &[]);
    // A clone elsewhere, a shallow clone, and a bare clone hash alike.
    for (name, extra) in [
        ("b", vec![]),
        ("c/deeper/path", vec!["--depth", "1"]),
        ("d.git", vec!["--bare"]),
    ] {
        let target = tmp.path().join(name);
        let url = format!("file://{}", a.display());
        let mut args = vec!["clone", "-q"];
        args.extend(extra);
        args.extend([url.as_str(), target.to_str().unwrap()]);
        git(tmp.path(), &args);
        assert_eq!(hash(&target, &[]), original, "{name}");
    }
    // Another commit with the same tree (new message, new parent) hashes alike.
    git(&a, &["commit", "-q", "--allow-empty", "-m", "empty"]);
    assert_eq!(hash(&a, &[]), original);
    assert_eq!(hash(&a, &["--rev", "HEAD~1"]), original);
}

#[test]
fn changes_with_bytes_mode_and_path() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a");
    repo(&a);
    let mut seen = vec![hash(&a, &[])];
    std::fs::write(a.join("src/app"), "v2\n").unwrap();
    git(&a, &["commit", "-qam", "bytes"]);
    seen.push(hash(&a, &[]));
    std::fs::set_permissions(a.join("src/app"), std::fs::Permissions::from_mode(0o755)).unwrap();
    git(&a, &["commit", "-qam", "mode"]);
    seen.push(hash(&a, &[]));
    git(&a, &["mv", "src/app", "src/app2"]);
    git(&a, &["commit", "-qm", "path"]);
    seen.push(hash(&a, &[]));
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(
        unique.len(),
        seen.len(),
        "every change changes the hash: {seen:?}"
    );
}

#[test]
fn hash_ignore_from_the_manifest() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a");
    repo(&a);
    let manifest = tmp.path().join("projects.json");
    std::fs::write(
        &manifest,
        r#"{"domain":"d.dev","projects":[{"name":"app","repo":"file:///x","hash_ignore":["*.md","docs"]}]}"#,
    )
    .unwrap();
    let args = ["--manifest", manifest.to_str().unwrap(), "--project", "app"];
    let before = hash(&a, &args);
    assert_ne!(
        before,
        hash(&a, &[]),
        "ignoring files changes what is hashed"
    );
    std::fs::write(a.join("README.md"), "edited\n").unwrap();
    std::fs::write(a.join("docs/new.md"), "new\n").unwrap();
    git(&a, &["add", "-A"]);
    git(&a, &["commit", "-qm", "docs only"]);
    assert_eq!(hash(&a, &args), before, "docs-only commits keep the hash");
    std::fs::write(a.join("src/app"), "v2\n").unwrap();
    git(&a, &["commit", "-qam", "code"]);
    assert_ne!(hash(&a, &args), before);
}

#[test]
fn errors() {
    let tmp = tempfile::tempdir().unwrap();
    kelev(&["hash", tmp.path().to_str().unwrap()])
        .code(1)
        .stderr_has("cannot open repository");
    let a = tmp.path().join("a");
    repo(&a);
    kelev(&["hash", a.to_str().unwrap(), "--rev", "nope"])
        .code(1)
        .stderr_has("revision `nope`");
    kelev(&["hash", a.to_str().unwrap(), "--project", "x"])
        .code(64)
        .stderr_has("--manifest");
    let manifest = tmp.path().join("projects.json");
    std::fs::write(&manifest, r#"{"projects":[],"x":1}"#).unwrap();
    kelev(&[
        "hash",
        a.to_str().unwrap(),
        "--manifest",
        manifest.to_str().unwrap(),
        "--project",
        "x",
    ])
    .code(65)
    .stderr_has("unknown field `x`");
}

/// `kelev hash` of HEAD with uncommitted changes says that they are not in it, on stderr; an
/// empty repository is one line in the tool's words, not libgit2's (issue 20, finding 10).
#[test]
fn uncommitted_changes_are_named_and_an_empty_repository_is_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("a");
    repo(&dir);
    let clean = kelev(&["hash", dir.to_str().unwrap()]).ok().stderr_is("");
    std::fs::write(dir.join("src/app"), "v2, not committed\n").unwrap();
    let dirty = kelev(&["hash", dir.to_str().unwrap()])
        .ok()
        .stderr_is(&format!(
            "warning: `{}` has uncommitted changes; this is the hash of HEAD, without them\n",
            dir.display()
        ));
    assert_eq!(dirty.stdout, clean.stdout);

    let empty = tmp.path().join("empty");
    git(tmp.path(), &["init", "-q", empty.to_str().unwrap()]);
    kelev(&["hash", empty.to_str().unwrap()])
        .code(1)
        .stdout_is("")
        .stderr_is(&format!(
            "error: revision `HEAD`: `{}` has no commit yet: the content hash is of a commit\n",
            empty.display()
        ));
}
