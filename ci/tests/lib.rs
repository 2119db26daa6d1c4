//! The `kelev` binary on real git repositories and manifests.

mod allow_ssh;
mod decide;
mod gen_config;
mod hash;
mod infra;
mod plan;
mod summary;

use std::path::Path;
use std::process::Command;

pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Run `kelev` with `args` in a sealed environment.
pub fn kelev(args: &[&str]) -> Output {
    output(sealed(Path::new(env!("CARGO_BIN_EXE_kelev"))).args(args))
}

/// Run one of the repository's entry-point scripts (a copy in a scratch tree, so that it works
/// on that tree) from `/`, sealed, with `KELEV_BIN` pointing at the built `kelev`.
pub fn script(path: &Path, args: &[&str]) -> Output {
    output(
        sealed(path)
            .args(args)
            .current_dir("/")
            .env("KELEV_BIN", env!("CARGO_BIN_EXE_kelev")),
    )
}

/// `program` with no inherited environment but a PATH.
fn sealed(program: &Path) -> Command {
    let mut command = Command::new(program);
    command.env_clear().env("PATH", "/usr/bin:/bin");
    command
}

fn output(command: &mut Command) -> Output {
    let out = command.output().unwrap();
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

impl Output {
    #[track_caller]
    pub fn expect(self, code: i32, stderr_has: &str) -> Output {
        assert!(
            self.code == code && self.stderr.contains(stderr_has),
            "expected exit {code} with {stderr_has:?} on stderr, got {}\n--- stdout\n{}--- stderr\n{}",
            self.code,
            self.stdout,
            self.stderr
        );
        self
    }
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

/// git in `dir` with a fixed identity and no user config.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("HOME", dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.invalid")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.invalid")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}
