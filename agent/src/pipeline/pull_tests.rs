//! The pull step within a switch, without Docker: a project whose image CI built and pushed
//! is pulled after the build, before the start, and recorded by digest (`switch_tests.rs`'s
//! `Recorder` cases).

use super::switch_tests::{case, engine_of, opening_then, try_deploy, FILES, OLD, OVERRIDE, PS};

/// A project whose `web` image CI built and pushed as `r:5000/app:${KELEV_COMMIT}`.
const PULLED_CONFIG: &str =
    r#"{"services":{"web":{"image":"r:5000/app:2222222222222222222222222222222222222222"}}}"#;

#[test]
fn a_prebuilt_image_is_pulled_after_the_build_and_recorded_by_digest() {
    let case = case("recreate");
    let recorder = engine_of(PULLED_CONFIG, true, 0);
    let (made, result, state) = try_deploy(&case, &recorder, Some((OLD, 80)));
    result.unwrap();
    let expected = opening_then(&[
        format!("{FILES} {OVERRIDE} --profile kelev-task build"),
        format!("{FILES} {OVERRIDE} pull --ignore-buildable --policy missing"),
        format!("{FILES} {OVERRIDE} up -d --remove-orphans --no-build"),
        PS.into(),
        "docker image inspect --format '{{json .RepoDigests}}' \
         r:5000/app:2222222222222222222222222222222222222222"
            .into(),
    ]);
    assert_eq!(made.join("\n"), expected.join("\n"));
    let images = &state.running.unwrap().images;
    assert_eq!(
        images.iter().collect::<Vec<_>>(),
        [(&"web".to_owned(), &"r:5000/app@sha256:abcd".to_owned())]
    );
}
