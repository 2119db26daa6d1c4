//! https remotes: libgit2 checks the server's certificate with OpenSSL against the system's
//! CA store, or against `SSL_CERT_FILE` when the agent's own environment names one. A
//! certificate that no trusted CA signed is refused and nothing changes. The same fetch runs
//! with the static release binary when `KELEV_E2E_STATIC_AGENT` names it (scripts/test does).

use std::path::PathBuf;

use kelev_e2e::World;

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Docker, sshd and lighttpd: run scripts/test (cargo test --features e2e)"
)]
fn an_https_remote_needs_a_certificate_the_agent_trusts() {
    let mut world = World::new();
    let (base, ca) = world.git_https();
    let site = world.site("tls", "over tls\n");
    let mut entry = world.entry(&site);
    entry["repo"] = serde_json::json!(format!("{base}/{}.git", site.name));
    world.install_manifest(&world.manifest(&[entry]));

    // Through sshd: the system's store does not hold the test's CA.
    let out = world.ssh(format!("deploy {}", site.name)).run().code(1);
    let errors: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("error: "))
        .collect();
    assert_eq!(errors.len(), 1, "{}", out.report());
    assert!(
        errors[0].contains("git fetch failed") && errors[0].contains("certificate"),
        "{}",
        out.report()
    );
    let project = world.project_dir(&site.name);
    assert!(!project.join("current").exists(), "a release was made");
    assert!(world.status(&site.name)["containers"]
        .as_array()
        .unwrap()
        .is_empty());

    // The agent's own environment names the CA, as an operator's could for a forge with a
    // private CA: fetched over TLS, deployed, served.
    world
        .local(&["deploy", &site.name])
        .env("SSL_CERT_FILE", &ca)
        .run()
        .ok();
    assert_eq!(world.page(&site.name), "over tls\n");

    // The CA in the system's certificate directory under OpenSSL's hashed name, and not in
    // the bundle file: the agent, with nothing in its environment, trusts it
    // (agent/src/release/trust.rs points OpenSSL at that directory alone; this guards that
    // the directory is still read, not that the bundle is not).
    let system = SystemCa::put(&ca);
    site.write("www/index.html", "trusted by the system\n");
    site.commit("system");
    world.ssh(format!("deploy {}", site.name)).run().ok();
    assert_eq!(world.page(&site.name), "trusted by the system\n");

    // The static release binary (vendored OpenSSL) fetches a new commit the same way.
    match std::env::var_os("KELEV_E2E_STATIC_AGENT") {
        Some(path) => {
            let path = PathBuf::from(path);
            site.write("www/index.html", "static over tls\n");
            site.commit("static");
            world
                .local_with(&path, &["deploy", &site.name])
                .env("SSL_CERT_FILE", &ca)
                .run()
                .ok();
            assert_eq!(world.page(&site.name), "static over tls\n");
            // And with the CA in the system's directory only, nothing in its environment.
            site.write("www/index.html", "static, trusted by the system\n");
            site.commit("static system");
            world
                .local_with(&path, &["deploy", &site.name])
                .env_remove("SSL_CERT_FILE")
                .env_remove("SSL_CERT_DIR")
                .run()
                .ok();
            assert_eq!(world.page(&site.name), "static, trusted by the system\n");
        }
        None => eprintln!(
            "https: the static release binary was not checked (KELEV_E2E_STATIC_AGENT unset)"
        ),
    }
    drop(system);
}

/// A CA certificate in the system's directory, `/etc/ssl/certs/<subject hash>.<n>`, for as long
/// as this lives.
struct SystemCa(PathBuf);

impl SystemCa {
    fn put(ca: &std::path::Path) -> SystemCa {
        let hash = kelev_e2e::Run::new("openssl")
            .args(["x509", "-hash", "-noout", "-in"])
            .arg(ca)
            .run()
            .ok()
            .stdout
            .trim()
            .to_owned();
        let path = (0..)
            .map(|n| PathBuf::from(format!("/etc/ssl/certs/{hash}.{n}")))
            .find(|p| !p.exists())
            .unwrap();
        std::fs::copy(ca, &path).unwrap();
        SystemCa(path)
    }
}

impl Drop for SystemCa {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
