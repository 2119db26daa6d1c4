//! Prebuilt images: a real registry (Distribution, TLS, htpasswd) on loopback, images built and
//! pushed in the test with the real docker CLI, pulled by the agent.

use kelev_e2e::{Registry, Run};

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Docker, sshd, moto and terraform: run scripts/test (cargo test --features e2e)"
)]
fn the_test_registry_takes_pushes_from_its_user_alone() {
    let registry = Registry::start();
    let context = tempfile::tempdir().unwrap();
    std::fs::write(
        context.path().join("Dockerfile"),
        "FROM scratch\nCOPY page /page\n",
    )
    .unwrap();
    std::fs::write(context.path().join("page"), "one\n").unwrap();
    let reference = format!("{}/probe:one", registry.host());
    let pusher = registry.pusher();
    let digest = registry.build_and_push(&pusher, context.path(), &reference);
    assert!(digest.starts_with("sha256:"), "{digest}");

    // Without a login the registry gives nothing (the engine, which takes 127.0.0.0/8 as
    // insecure, then tries plain HTTP too and reports that failure last).
    let anonymous = tempfile::tempdir().unwrap();
    Run::new("docker")
        .arg("--config")
        .arg(anonymous.path())
        .args(["pull", &reference])
        .run()
        .code(1);
    Run::new("docker")
        .arg("--config")
        .arg(&pusher)
        .args(["pull", &format!("{}/probe@{digest}", registry.host())])
        .run()
        .ok();
    Run::new("docker")
        .args(["rmi", &format!("{}/probe@{digest}", registry.host())])
        .run()
        .ok();
}
