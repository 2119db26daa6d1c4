//! The `kelev` binary on real git repositories and manifests, through the workspace's one
//! harness (`kelev_e2e::Run`, golden files with `assert_golden`).

mod allow_ssh;
mod decide;
mod gen_config;
mod hash;
mod infra;
mod output;
mod plan;
mod record;
mod summary;

use std::path::Path;

use kelev_e2e::{Output, Run};

/// `kelev` with `args`, through the workspace's harness ([`Run`]: sealed environment, exact
/// asserts on status and output, everything printed on failure).
pub fn kelev(args: &[&str]) -> Output {
    Run::new(env!("CARGO_BIN_EXE_kelev")).args(args).run()
}

/// Run one of the repository's entry-point scripts (a copy in a scratch tree, so that it works
/// on that tree) from `/`, sealed, with `KELEV_BIN` pointing at the built `kelev`.
pub fn script(path: &Path, args: &[&str]) -> Output {
    // Through its interpreter, not exec'd: the copy was just written, and a child another test
    // thread forks meanwhile may still hold it open for writing (exec would fail, ETXTBSY).
    let interpreter = match path.extension().and_then(|e| e.to_str()) {
        Some("py") => "python3",
        _ => "bash",
    };
    Run::new(interpreter)
        .arg(path)
        .args(args)
        .dir("/")
        .env("KELEV_BIN", env!("CARGO_BIN_EXE_kelev"))
        .run()
}

/// A scratch copy of the repository's layout for the entry-point scripts: `scripts/` with the
/// two scripts, `config.json` and `config/region-mapping.json` from the golden inputs.
pub fn scratch_tree() -> tempfile::TempDir {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let tmp = tempfile::tempdir().unwrap();
    for dir in ["scripts", "config"] {
        std::fs::create_dir(tmp.path().join(dir)).unwrap();
    }
    for script in [
        "scripts/gen_config.py",
        "scripts/allow_current_machine_ssh.sh",
    ] {
        std::fs::copy(repo.join(script), tmp.path().join(script)).unwrap();
    }
    for file in ["config.json", "projects.json"] {
        std::fs::copy(golden.join(file), tmp.path().join(file)).unwrap();
    }
    std::fs::copy(
        golden.join("region-mapping.json"),
        tmp.path().join("config/region-mapping.json"),
    )
    .unwrap();
    tmp
}

/// git in `dir` with a fixed identity and no user config; its stdout, trimmed.
#[track_caller]
pub fn git(dir: &Path, args: &[&str]) -> String {
    Run::new("git")
        .env("HOME", dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.invalid")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.invalid")
        .arg("-C")
        .arg(dir)
        .args(args)
        .run()
        .ok()
        .stdout
        .trim()
        .to_owned()
}
