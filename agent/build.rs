//! Stamp the commit the agent is built from into `kelev-agent version`: from KELEV_GIT_COMMIT if
//! the release build sets it, else from the checkout (`git rev-parse HEAD`), else "unknown".

use std::process::Command;

pub fn main() {
    println!("cargo:rerun-if-env-changed=KELEV_GIT_COMMIT");
    let commit = std::env::var("KELEV_GIT_COMMIT").ok().or_else(|| {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        if let Ok(head) = std::fs::read_to_string(root.join(".git/HEAD")) {
            println!(
                "cargo:rerun-if-changed={}",
                root.join(".git/HEAD").display()
            );
            if let Some(reference) = head.trim().strip_prefix("ref: ") {
                println!(
                    "cargo:rerun-if-changed={}",
                    root.join(".git").join(reference).display()
                );
            }
        }
        let out = Command::new("git")
            .args(["-C", root.to_str()?, "rev-parse", "HEAD"])
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
    });
    println!(
        "cargo:rustc-env=KELEV_GIT_COMMIT={}",
        commit.unwrap_or_else(|| "unknown".into())
    );
}
