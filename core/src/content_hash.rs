//! The content hash: what a commit would deploy, independent of history, clone or checkout path.
//!
//! Defined in `docs/content-hash.md`. In short: SHA-256 over a header line and, for every
//! non-tree entry of the commit's tree not left out by `hash_ignore`, sorted by path bytes,
//! `<mode as 6 octal digits> <object id>\t<path>\0`. Blob ids already hash the bytes, so the cost
//! grows with the number of entries, not their size.

use std::fmt;

use git2::{ObjectType, Oid, Repository};
use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use sha2::{Digest, Sha256};

const HEADER: &[u8] = b"kelev content hash v1\n";

/// 64 lowercase hex digits, checked on the way in from JSON too.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ContentHash(String);

impl ContentHash {
    /// Exactly 64 lowercase hex digits, as [`content_hash`] writes them.
    pub fn parse(s: &str) -> Option<ContentHash> {
        let hex = s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        (hex && s.len() == 64).then(|| ContentHash(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ContentHash {
    type Error = String;

    fn try_from(text: String) -> Result<ContentHash, String> {
        ContentHash::parse(&text).ok_or_else(|| {
            format!(
                "`{}` is not a content hash (64 lowercase hex digits)",
                text.escape_default()
            )
        })
    }
}

impl From<ContentHash> for String {
    fn from(hash: ContentHash) -> String {
        hash.0
    }
}

impl fmt::Display for ContentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The project's `hash_ignore` globs. `*` and `?` stay within one path component, `**` crosses
/// them; a glob that matches a directory leaves out everything below it.
#[derive(Clone, Debug)]
pub struct HashIgnore {
    patterns: Vec<String>,
    set: GlobSet,
}

impl PartialEq for HashIgnore {
    fn eq(&self, other: &Self) -> bool {
        self.patterns == other.patterns
    }
}

impl HashIgnore {
    pub fn new(patterns: Vec<String>) -> Result<HashIgnore, String> {
        let mut builder = GlobSetBuilder::new();
        for pattern in &patterns {
            let glob = GlobBuilder::new(pattern)
                .literal_separator(true)
                .backslash_escape(true)
                .build()
                .map_err(|e| format!("`hash_ignore` glob `{pattern}`: {}", e.kind()))?;
            builder.add(glob);
        }
        let set = builder.build().map_err(|e| format!("`hash_ignore`: {e}"))?;
        Ok(HashIgnore { patterns, set })
    }

    pub fn none() -> HashIgnore {
        HashIgnore {
            patterns: Vec::new(),
            set: GlobSet::empty(),
        }
    }

    pub fn patterns(&self) -> &[String] {
        &self.patterns
    }

    fn ignores(&self, path: &[u8]) -> bool {
        !self.patterns.is_empty()
            && std::str::from_utf8(path).is_ok_and(|path| self.set.is_match(path))
    }
}

/// Hash the tree of `commit` in `repo`.
pub fn content_hash(
    repo: &Repository,
    commit: Oid,
    ignore: &HashIgnore,
) -> Result<ContentHash, git2::Error> {
    let tree = repo.find_commit(commit)?.tree()?;
    let mut entries: Vec<(Vec<u8>, i32, Oid)> = Vec::new();
    collect(repo, &tree, &mut Vec::new(), ignore, &mut entries)?;
    entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));

    let mut hasher = Sha256::new();
    hasher.update(HEADER);
    for (path, mode, id) in &entries {
        hasher.update(format!("{mode:06o} {id}\t").as_bytes());
        hasher.update(path);
        hasher.update([0]);
    }
    let digest = hasher.finalize();
    let mut hex = String::with_capacity(64);
    for byte in digest.iter() {
        hex.push_str(&format!("{byte:02x}"));
    }
    Ok(ContentHash(hex))
}

/// Every non-tree entry below `tree`, with its path from the root as bytes (git allows any
/// bytes but NUL and `/` in a name, not only UTF-8).
fn collect(
    repo: &Repository,
    tree: &git2::Tree,
    prefix: &mut Vec<u8>,
    ignore: &HashIgnore,
    out: &mut Vec<(Vec<u8>, i32, Oid)>,
) -> Result<(), git2::Error> {
    for entry in tree.iter() {
        let len = prefix.len();
        prefix.extend_from_slice(entry.name_bytes());
        if !ignore.ignores(prefix) {
            if entry.kind() == Some(ObjectType::Tree) {
                prefix.push(b'/');
                collect(repo, &repo.find_tree(entry.id())?, prefix, ignore, out)?;
            } else {
                out.push((prefix.clone(), entry.filemode(), entry.id()));
            }
        }
        prefix.truncate(len);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_hash_values_are_checked_on_the_way_in() {
        let hash = ContentHash::parse(&"ab".repeat(32)).unwrap();
        let json = serde_json::to_string(&hash).unwrap();
        assert_eq!(json, format!("\"{}\"", "ab".repeat(32)));
        assert_eq!(serde_json::from_str::<ContentHash>(&json).unwrap(), hash);
        for bad in [
            "a".repeat(63),
            "A".repeat(64),
            "g".repeat(64),
            "a".repeat(65),
        ] {
            assert!(
                ContentHash::parse(&bad).is_none(),
                "{bad:?} should be refused"
            );
        }
        let err = serde_json::from_str::<ContentHash>("\"h1\"").unwrap_err();
        assert_eq!(
            err.to_string(),
            "`h1` is not a content hash (64 lowercase hex digits)"
        );
    }

    struct Fixture {
        _dir: tempfile::TempDir,
        repo: Repository,
    }

    impl Fixture {
        fn new() -> Fixture {
            let dir = tempfile::tempdir().unwrap();
            let repo = Repository::init(dir.path()).unwrap();
            Fixture { _dir: dir, repo }
        }

        /// Commit exactly `files` (path, bytes, executable) as the whole tree.
        fn commit(&self, files: &[(&str, &[u8], bool)]) -> Oid {
            let mut index = git2::Index::new().unwrap();
            for (path, bytes, exec) in files {
                let id = self.repo.blob(bytes).unwrap();
                let mut entry = index_entry(path, id);
                if *exec {
                    entry.mode = 0o100755;
                }
                index.add(&entry).unwrap();
            }
            let tree_id = index.write_tree_to(&self.repo).unwrap();
            let tree = self.repo.find_tree(tree_id).unwrap();
            let sig = git2::Signature::now("t", "t@example.invalid").unwrap();
            self.repo
                .commit(
                    None,
                    &sig,
                    &sig,
                    &format!("m{}", next_message()),
                    &tree,
                    &[],
                )
                .unwrap()
        }

        fn hash(&self, commit: Oid, ignore: &[&str]) -> String {
            let ignore = HashIgnore::new(ignore.iter().map(|s| s.to_string()).collect()).unwrap();
            content_hash(&self.repo, commit, &ignore)
                .unwrap()
                .to_string()
        }
    }

    fn next_message() -> usize {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        COUNTER.fetch_add(1, Ordering::Relaxed)
    }

    fn index_entry(path: &str, id: Oid) -> git2::IndexEntry {
        git2::IndexEntry {
            ctime: git2::IndexTime::new(0, 0),
            mtime: git2::IndexTime::new(0, 0),
            dev: 0,
            ino: 0,
            mode: 0o100644,
            uid: 0,
            gid: 0,
            file_size: 0,
            id,
            flags: path.len() as u16,
            flags_extended: 0,
            path: path.as_bytes().to_vec(),
        }
    }

    #[test]
    fn independent_of_history_and_repository() {
        let a = Fixture::new();
        let b = Fixture::new();
        let files: &[(&str, &[u8], bool)] = &[("x", b"1", false), ("d/y", b"2", false)];
        let ca = a.commit(files);
        let cb = b.commit(files);
        assert_ne!(
            ca, cb,
            "different commits (different times or repos) are expected"
        );
        assert_eq!(a.hash(ca, &[]), b.hash(cb, &[]));
        assert_eq!(a.hash(ca, &[]).len(), 64);
    }

    #[test]
    fn changes_with_bytes_mode_and_path() {
        let f = Fixture::new();
        let base = f.hash(f.commit(&[("a/b", b"1", false)]), &[]);
        for changed in [
            f.commit(&[("a/b", b"2", false)]),
            f.commit(&[("a/b", b"1", true)]),
            f.commit(&[("a/c", b"1", false)]),
            f.commit(&[("a/b", b"1", false), ("e", b"", false)]),
        ] {
            assert_ne!(f.hash(changed, &[]), base);
        }
    }

    #[test]
    fn hash_ignore_leaves_out_files_and_directories() {
        let f = Fixture::new();
        let plain = f.commit(&[("src/main", b"1", false)]);
        let noisy = f.commit(&[
            ("src/main", b"1", false),
            ("docs/a/b.md", b"x", false),
            ("README.md", b"y", false),
            ("src/notes.md", b"z", false),
        ]);
        let ignore = ["docs", "*.md", "src/*.md"];
        assert_eq!(f.hash(plain, &[]), f.hash(noisy, &ignore));
        // `*` does not cross `/`: only the top-level README is left out.
        assert_ne!(f.hash(plain, &[]), f.hash(noisy, &["docs", "*.md"]));
        assert_ne!(f.hash(plain, &[]), f.hash(noisy, &[]));
    }

    #[test]
    fn names_need_not_be_utf8() {
        let f = Fixture::new();
        let mut index = git2::Index::new().unwrap();
        let id = f.repo.blob(b"x").unwrap();
        let mut entry = index_entry("caf\u{e9}/a", id);
        entry.path = b"caf\xe9/a".to_vec();
        entry.flags = entry.path.len() as u16;
        index.add(&entry).unwrap();
        let tree = f
            .repo
            .find_tree(index.write_tree_to(&f.repo).unwrap())
            .unwrap();
        let sig = git2::Signature::now("t", "t@example.invalid").unwrap();
        let commit = f
            .repo
            .commit(None, &sig, &sig, "latin-1", &tree, &[])
            .unwrap();
        assert_eq!(f.hash(commit, &[]).len(), 64);
        assert_eq!(
            f.hash(commit, &["*"]),
            f.hash(commit, &["nothing"]),
            "non-UTF-8 paths are never ignored"
        );
    }

    #[test]
    fn pinned_value() {
        // Pins the definition in docs/content-hash.md: a change here breaks every deployed hash.
        let f = Fixture::new();
        let c = f.commit(&[("a", b"hello\n", false)]);
        // sha256 of "kelev content hash v1\n" + "100644 ce013625030ba8dba906f756967f9e9ca394464a\ta\0"
        let mut h = Sha256::new();
        h.update(b"kelev content hash v1\n100644 ce013625030ba8dba906f756967f9e9ca394464a\ta\0");
        let expected: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(f.hash(c, &[]), expected);
    }
}
