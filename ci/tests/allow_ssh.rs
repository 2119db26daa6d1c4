//! `kelev allow-ssh --ip`: adds once, keeps the file's formatting.

use crate::kelev;

#[test]
fn adds_once_and_keeps_formatting() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("config.json");
    let golden = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/config.json");
    let original = std::fs::read_to_string(golden).unwrap();
    std::fs::write(&config, &original).unwrap();
    let path = config.to_str().unwrap();

    let out = kelev(&["allow-ssh", "--ip", "198.51.100.23", "--config", path]).ok();
    assert!(out.stdout.contains("added 198.51.100.23/32"));
    let after = std::fs::read_to_string(&config).unwrap();
    assert_eq!(
        after,
        original.replace(
            "\"203.0.113.7/32\"\n",
            "\"203.0.113.7/32\",\n    \"198.51.100.23/32\"\n"
        ),
        "only the list changed, in the file's own style"
    );

    let out = kelev(&["allow-ssh", "--ip", "198.51.100.23", "--config", path]).ok();
    assert_eq!(out.stdout, "198.51.100.23/32 is already allowed\n");
    assert_eq!(
        std::fs::read_to_string(&config).unwrap(),
        after,
        "idempotent"
    );

    let out = kelev(&["allow-ssh", "--ip", "2001:db8::7", "--config", path]).ok();
    assert!(
        out.stdout.starts_with("added 2001:db8::7/128"),
        "{}",
        out.stdout
    );
    kelev(&["allow-ssh", "--ip", "not-an-ip", "--config", path])
        .code(64)
        .stderr_has("invalid value");
    kelev(&[
        "allow-ssh",
        "--ip",
        "198.51.100.24",
        "--config",
        "/nonexistent.json",
    ])
    .code(65)
    .stderr_has("/nonexistent.json");
}

/// `scripts/allow_current_machine_ssh.sh --ip`: the address added, then the tree regenerated
/// through `scripts/gen_config.py`, from the repository's root wherever it is started.
#[test]
fn the_script_adds_and_regenerates_the_tree() {
    let tree = crate::scratch_tree();
    let script = tree.path().join("scripts/allow_current_machine_ssh.sh");
    let out = crate::script(&script, &["--ip", "198.51.100.23"]).ok();
    assert!(
        out.stdout.starts_with("added 198.51.100.23/32"),
        "{}",
        out.stdout
    );
    let config = std::fs::read_to_string(tree.path().join("config.json")).unwrap();
    assert!(config.contains("\"198.51.100.23/32\""));
    let hcl = std::fs::read_to_string(
        tree.path()
            .join("terraform/region/us-east-1/terragrunt.hcl"),
    )
    .unwrap();
    assert!(hcl.contains("198.51.100.23/32"), "{hcl}");
    let check = crate::script(&tree.path().join("scripts/gen_config.py"), &["--check"]);
    assert_eq!(check.ok().stdout, "up to date: 3 files\n");
    crate::script(&script, &["--ip", "not-an-ip"])
        .code(64)
        .stderr_has("invalid value");
}

/// An address no one could come from is refused; a failed lookup says what curl said (issue 20,
/// finding 9).
#[test]
fn local_addresses_are_refused_and_a_failed_lookup_says_why() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("config.json");
    let golden = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/config.json");
    std::fs::copy(golden, &config).unwrap();
    let path = config.to_str().unwrap();
    for ip in ["127.0.0.1", "0.0.0.0", "::1", "169.254.169.254"] {
        kelev(&["allow-ssh", "--ip", ip, "--config", path])
            .code(65)
            .stdout_is("")
            .stderr_is(&format!(
                "error: `--ip`: `{ip}` is not a public address: AWS sees this machine by its public one\n\
                 hint: leave out --ip to ask https://checkip.amazonaws.com\n"
            ));
    }
    // A proxy that is not there makes the lookup fail the same way on any machine.
    let out = crate::Run::new(env!("CARGO_BIN_EXE_kelev"))
        .args(["allow-ssh", "--config", path])
        .env("https_proxy", "http://127.0.0.1:9")
        .run()
        .code(69);
    assert!(
        out.stderr.starts_with(
            "error: cannot learn this machine's address from https://checkip.amazonaws.com: \
             curl failed (exit status: "
        ) && out.stderr.contains("127.0.0.1")
            && out.stderr.ends_with("\nhint: pass --ip ADDR\n"),
        "{}",
        out.stderr
    );
}
