//! `kelev gen-config`: golden output, `--check`, and clear errors.

use std::path::{Path, PathBuf};

use kelev_e2e::{assert_golden, Output, Run};

use crate::kelev;

fn golden() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn gen(dir: &Path, extra: &[&str]) -> Output {
    let config = dir.join("config.json");
    let manifest = dir.join("projects.json");
    let mapping = dir.join("region-mapping.json");
    let out = dir.join("terraform");
    let mut args = vec![
        "gen-config",
        "--config",
        config.to_str().unwrap(),
        "--manifest",
        manifest.to_str().unwrap(),
        "--mapping",
        mapping.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend(extra);
    kelev(&args)
}

/// A copy of the golden inputs (and, if `with_tree`, outputs) to play with.
fn copy_golden(with_tree: bool) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    for file in ["config.json", "projects.json", "region-mapping.json"] {
        std::fs::copy(golden().join(file), tmp.path().join(file)).unwrap();
    }
    if with_tree {
        crate::git(tmp.path(), &["init", "-q"]);
        Run::new("cp")
            .arg("-r")
            .arg(golden().join("terraform"))
            .arg(tmp.path())
            .run()
            .ok();
    }
    tmp
}

/// `dir/terraform` holds exactly the golden files' bytes (`KELEV_BLESS=1` rewrites them).
#[track_caller]
fn assert_golden_tree(dir: &Path) {
    for file in [
        "root.hcl",
        "region/us-east-1/terragrunt.hcl",
        "region/eu-central-1/terragrunt.hcl",
    ] {
        let made = std::fs::read_to_string(dir.join("terraform").join(file)).unwrap();
        assert_golden(golden().join("terraform").join(file), &[], &made);
    }
}

#[test]
fn output_matches_the_golden_files_byte_for_byte() {
    let tmp = copy_golden(false);
    gen(tmp.path(), &[]).ok();
    assert_golden_tree(tmp.path());
    // Templates cannot be smuggled in through config values.
    let hcl = std::fs::read_to_string(golden().join("terraform/region/us-east-1/terragrunt.hcl"))
        .unwrap();
    assert!(hcl.contains(r#""ops+$${alerts}@example.com""#));
    // Deterministic: a second run writes nothing.
    let again = gen(tmp.path(), &[]).ok();
    assert_eq!(again.stdout, "");
}

/// `./scripts/gen_config.py`, the runbook's command, writes the same tree from the repository's
/// root wherever it is started, and passes `--check` and its exit code on.
#[test]
fn gen_config_py_is_the_same_command() {
    let tree = crate::scratch_tree();
    let script = tree.path().join("scripts/gen_config.py");
    let out = crate::script(&script, &[]).ok();
    assert_eq!(out.stdout.lines().count(), 3, "{}", out.stdout);
    assert_golden_tree(tree.path());
    let out = crate::script(&script, &["--check"]).ok();
    assert_eq!(out.stdout, "up to date: 3 files\n");
    std::fs::write(tree.path().join("terraform/root.hcl"), "edited\n").unwrap();
    crate::script(&script, &["--check"]).code(1);
    crate::script(&script, &["--frobnicate"])
        .code(64)
        .stderr_has("--frobnicate");
}

#[test]
fn check_names_stale_and_orphaned_files() {
    let tmp = copy_golden(true);
    let out = gen(tmp.path(), &["--check"]).ok();
    assert_eq!(out.stdout, "up to date: 3 files\n");

    let file = tmp.path().join("terraform/region/us-east-1/terragrunt.hcl");
    std::fs::write(&file, "edited by hand\n").unwrap();
    std::fs::create_dir_all(tmp.path().join("terraform/region/ap-south-1")).unwrap();
    let out = gen(tmp.path(), &["--check"]).code(1);
    assert!(
        out.stdout.contains(&format!("stale: {}", file.display())),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("ap-south-1 (region not in config.json)"),
        "{}",
        out.stdout
    );
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "edited by hand\n",
        "--check writes nothing"
    );
}

#[test]
fn unknown_region_and_bad_config_are_clear_errors() {
    let tmp = copy_golden(false);
    let config = tmp.path().join("config.json");
    let original = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        original.replace("\"us-east-1\"", "\"mars-north-1\""),
    )
    .unwrap();
    gen(tmp.path(), &[])
        .code(65)
        .stderr_has("region `mars-north-1` has no Ubuntu 22.04 AMI in the region mapping");
    assert!(
        !tmp.path().join("terraform").exists(),
        "nothing written on error"
    );
    std::fs::write(&config, original.replace("203.0.113.7/32", "0.0.0.0/0")).unwrap();
    gen(tmp.path(), &[])
        .code(65)
        .stderr_has("opens SSH to the whole internet");
    std::fs::write(
        &config,
        original.replace("\"log_retention_days\": 30", "\"log_retention_days\": 45"),
    )
    .unwrap();
    gen(tmp.path(), &[])
        .code(65)
        .stderr_has("not a CloudWatch Logs retention period");
    std::fs::write(&config, original.replace("\"name\"", "\"nmae\"")).unwrap();
    gen(tmp.path(), &[])
        .code(65)
        .stderr_has("unknown field `nmae`");
}

#[test]
fn the_repositorys_own_tree_is_current() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    // Exit 0, or terraform/ is stale against config.json (the report names the files).
    Run::new(env!("CARGO_BIN_EXE_kelev"))
        .args(["gen-config", "--check"])
        .dir(&root)
        .run()
        .ok();
}
