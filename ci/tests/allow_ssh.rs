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

    let out = kelev(&["allow-ssh", "--ip", "198.51.100.23", "--config", path]).expect(0, "");
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

    let out = kelev(&["allow-ssh", "--ip", "198.51.100.23", "--config", path]).expect(0, "");
    assert_eq!(out.stdout, "198.51.100.23/32 is already allowed\n");
    assert_eq!(
        std::fs::read_to_string(&config).unwrap(),
        after,
        "idempotent"
    );

    let out = kelev(&["allow-ssh", "--ip", "2001:db8::7", "--config", path]).expect(0, "");
    assert!(
        out.stdout.starts_with("added 2001:db8::7/128"),
        "{}",
        out.stdout
    );
    kelev(&["allow-ssh", "--ip", "not-an-ip", "--config", path]).expect(64, "invalid value");
    kelev(&[
        "allow-ssh",
        "--ip",
        "198.51.100.24",
        "--config",
        "/nonexistent.json",
    ])
    .expect(65, "/nonexistent.json");
}
