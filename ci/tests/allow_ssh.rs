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
