//! Project repositories: a working tree the test edits and commits, pushed to a bare remote
//! that the agent fetches over file:// or smart HTTP.

use std::path::{Path, PathBuf};

use crate::command::Run;

pub struct Remote {
    pub name: String,
    pub work: PathBuf,
    pub bare: PathBuf,
}

fn git(dir: &Path) -> Run {
    Run::new("git")
        .env("HOME", dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "kelev test")
        .env("GIT_AUTHOR_EMAIL", "test@kelev.invalid")
        .env("GIT_COMMITTER_NAME", "kelev test")
        .env("GIT_COMMITTER_EMAIL", "test@kelev.invalid")
        .arg("-C")
        .arg(dir)
}

/// A Dockerfile for a busybox httpd serving `www/`, optionally running `extra` (exec form
/// arguments to busybox) at build time.
pub fn dockerfile(build_step: Option<&str>) -> String {
    let step = build_step
        .map(|args| format!("RUN [\"/bin/busybox\", {args}]\n"))
        .unwrap_or_default();
    format!(
        "FROM scratch\nCOPY busybox /bin/busybox\n{step}COPY www /www\nCMD [\"/bin/busybox\", \"httpd\", \"-f\", \"-p\", \"80\", \"-h\", \"/www\"]\n"
    )
}

pub const COMPOSE: &str = "services:\n  web:\n    build: .\n    init: true\n";

/// The site's compose file with a healthcheck that fetches `path` from the site itself, every
/// second, unhealthy after two failures.
pub fn healthchecked(path: &str) -> String {
    format!(
        r#"{COMPOSE}    healthcheck:
      test: ["CMD", "/bin/busybox", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1{path}"]
      interval: 1s
      timeout: 2s
      retries: 2
"#
    )
}

impl Remote {
    /// A repository holding a one-service busybox site whose page says `page`.
    pub fn site(base: &Path, name: &str, page: &str) -> Remote {
        let work = base.join("work").join(name);
        let bare = base.join("remotes").join(format!("{name}.git"));
        std::fs::create_dir_all(&work).unwrap();
        git(&work).args(["init", "-q", "-b", "main"]).run().ok();
        std::fs::copy("/bin/busybox", work.join("busybox")).expect("busybox-static is installed");
        let remote = Remote {
            name: name.to_owned(),
            work,
            bare,
        };
        remote.write("compose.yaml", COMPOSE);
        remote.write("Dockerfile", &dockerfile(None));
        remote.write("www/index.html", page);
        remote.commit("first");
        Run::new("git")
            .args(["clone", "-q", "--bare"])
            .arg(&remote.work)
            .arg(&remote.bare)
            .run()
            .ok();
        git(&remote.work)
            .args(["remote", "add", "origin"])
            .arg(&remote.bare)
            .run()
            .ok();
        // git http-backend (run as root by lighttpd) and the agent (as the deploy user) read it.
        Run::new("chmod")
            .args(["-R", "a+rX"])
            .arg(base.join("remotes"))
            .run()
            .ok();
        remote
    }

    pub fn write(&self, path: &str, content: &str) {
        let path = self.work.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }

    /// Commit everything and push it to the bare remote; returns the commit id.
    pub fn commit(&self, message: &str) -> String {
        git(&self.work).args(["add", "-A"]).run().ok();
        git(&self.work)
            .args(["commit", "-q", "--allow-empty", "-m", message])
            .run()
            .ok();
        if self.bare.exists() {
            git(&self.work)
                .args(["push", "-q", "origin", "main"])
                .run()
                .ok();
            Run::new("chmod")
                .args(["-R", "a+rX"])
                .arg(&self.bare)
                .run()
                .ok();
        }
        self.head()
    }

    pub fn head(&self) -> String {
        git(&self.work)
            .args(["rev-parse", "HEAD"])
            .run()
            .ok()
            .stdout
            .trim()
            .to_owned()
    }

    pub fn file_url(&self) -> String {
        format!("file://{}", self.bare.display())
    }
}
