//! manifest and manifest-put through sshd: good input installs atomically, bad input changes
//! nothing.

use kelev_e2e::World;

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Docker, sshd and lighttpd: run scripts/test (cargo test --features e2e)"
)]
fn manifest_put_validates_and_keeps_the_old_one() {
    let mut world = World::new();
    let site = world.site("m", "m\n");
    let first = world.manifest(&[world.entry(&site)]);
    world
        .ssh("manifest-put")
        .stdin(serde_json::to_vec(&first).unwrap())
        .run()
        .ok()
        .stdout_has(&format!("added {}", site.name));
    let installed = world.ssh("manifest").run().ok().stdout;
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&installed).unwrap(),
        first
    );

    let bad_inputs: Vec<(Vec<u8>, &str)> = vec![
            (b"not json".to_vec(), "not valid JSON"),
            (b"{\"projects\": [], \"surprise\": 1}".to_vec(), "unknown field `surprise`"),
            (
                br#"{"domain":"kelev.test","projects":[{"name":"Bad_Name","repo":"file:///x"}]}"#.to_vec(),
                "must match",
            ),
            (
                br#"{"domain":"kelev.test","projects":[{"name":"a","repo":"file:///x"},{"name":"a","repo":"file:///y"}]}"#.to_vec(),
                "listed twice",
            ),
            (
                br#"{"domain":"kelev.test","projects":[{"name":"a","repo":"file:///x","domains":["evil`) || PathPrefix(`/"]}]}"#.to_vec(),
                "not a valid lowercase host name",
            ),
            (vec![b' '; 1024 * 1024 + 10], "larger than"),
            (Vec::new(), "not valid JSON"),
        ];
    for (input, expected) in bad_inputs {
        world
            .ssh("manifest-put")
            .stdin(input)
            .run()
            .code(65)
            .stderr_has(expected);
        let now = world.ssh("manifest").run().ok().stdout;
        assert_eq!(now, installed, "the old manifest stays in force");
    }

    // A key limited to some projects may not replace the manifest.
    world
        .ssh_as("fun-ci", "manifest-put")
        .stdin(serde_json::to_vec(&first).unwrap())
        .run()
        .code(77);

    let mut entry = world.entry(&site);
    entry["domains"] = serde_json::json!(["other.kelev.test"]);
    world
        .ssh("manifest-put")
        .stdin(serde_json::to_vec(&world.manifest(&[entry])).unwrap())
        .run()
        .ok()
        .stdout_has(&format!("changed {}", site.name));
}
