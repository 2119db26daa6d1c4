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
    std::fs::write(&config, original.replace("\"us-east-1\"", "\"zz-north-1\"")).unwrap();
    gen(tmp.path(), &[])
        .code(65)
        .stderr_has("region `zz-north-1` has no Ubuntu 22.04 AMI in the region mapping");
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

/// A change to a config.json.
type Edit = fn(&mut serde_json::Value);

/// The agent's pin and the repository: anything missing or malformed stops gen-config on the
/// laptop with one line naming the file and the field, and writes nothing.
#[test]
fn a_missing_or_malformed_pin_or_repository_is_one_error_line() {
    let table: &[(&str, Edit, String)] = &[
        (
            "no pin",
            |c| drop(c.as_object_mut().unwrap().remove("agent")),
            "missing field `agent` at line 30 column 1".into(),
        ),
        (
            "no repository",
            |c| drop(c.as_object_mut().unwrap().remove("github_repository")),
            "missing field `github_repository` at line 33 column 1".into(),
        ),
        (
            "no sha256",
            |c| drop(c["agent"].as_object_mut().unwrap().remove("sha256")),
            "missing field `sha256` at line 5 column 3".into(),
        ),
        (
            "an unknown field in the pin",
            |c| c["agent"]["url"] = "https://example.com/agent".into(),
            "unknown field `url`, expected `version` or `sha256` at line 5 column 9".into(),
        ),
        (
            "a version with its v",
            |c| c["agent"]["version"] = "v0.1.0".into(),
            "`agent.version` `v0.1.0` is not a release version like 0.1.0 (the tag v0.1.0 without its `v`)".into(),
        ),
        (
            "a version of two numbers",
            |c| c["agent"]["version"] = "0.1".into(),
            "`agent.version` `0.1` is not a release version like 0.1.0 (the tag v0.1.0 without its `v`)".into(),
        ),
        (
            "a short sha256",
            |c| c["agent"]["sha256"] = "abc123".into(),
            "`agent.sha256` `abc123` is not 64 lowercase hex digits (the kelev-agent-0.1.0-x86_64-linux-musl line of the release's SHA256SUMS)".into(),
        ),
        (
            "an upper-case sha256",
            |c| c["agent"]["sha256"] = "AB".repeat(32).into(),
            format!("`agent.sha256` `{}` is not 64 lowercase hex digits (the kelev-agent-0.1.0-x86_64-linux-musl line of the release's SHA256SUMS)", "AB".repeat(32)),
        ),
        (
            "a repository without its owner",
            |c| c["github_repository"] = "kelev".into(),
            "`github_repository` `kelev` is not a GitHub repository `owner/name`".into(),
        ),
        (
            "a repository URL",
            |c| c["github_repository"] = "https://github.com/o/kelev".into(),
            "`github_repository` `https://github.com/o/kelev` is not a GitHub repository `owner/name`".into(),
        ),
        (
            "a repository with a space",
            |c| c["github_repository"] = "o/ke lev".into(),
            "`github_repository` `o/ke lev` is not a GitHub repository `owner/name`".into(),
        ),
    ];
    assert_each_refused(table);
}

/// Each edit of the golden config.json stops gen-config with exit 65 and exactly
/// `error: `<config.json>`: LINE`, and nothing is written.
#[track_caller]
fn assert_each_refused(table: &[(&str, Edit, String)]) {
    let tmp = copy_golden(false);
    let config = tmp.path().join("config.json");
    let original: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&config).unwrap()).unwrap();
    let at = format!("error: `{}`: ", config.display());
    let mut wrong = Vec::new();
    for (case, edit, line) in table {
        let mut changed = original.clone();
        edit(&mut changed);
        std::fs::write(&config, serde_json::to_string_pretty(&changed).unwrap()).unwrap();
        let out = gen(tmp.path(), &[]);
        if (out.code, out.stderr.as_str()) != (Some(65), format!("{at}{line}\n").as_str()) {
            wrong.push(format!("{case}: exit {:?}: {}", out.code, out.stderr));
        }
        assert!(!tmp.path().join("terraform").exists(), "{case}: wrote");
    }
    assert!(wrong.is_empty(), "{}", wrong.join(""));
}

/// The example config.json's pin of zeros passes gen-config with a warning (so the shipped tree
/// can be generated and checked), and the host module refuses it at plan time.
#[test]
fn the_examples_placeholder_pin_is_named() {
    let tmp = copy_golden(false);
    let config = tmp.path().join("config.json");
    let mut changed: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&config).unwrap()).unwrap();
    changed["agent"]["sha256"] = "0".repeat(64).into();
    std::fs::write(&config, serde_json::to_string_pretty(&changed).unwrap()).unwrap();
    let out = gen(tmp.path(), &[]).ok();
    // A warning goes to stderr: stdout is what the command did (issue 20, finding 10).
    assert!(!out.stdout.contains("warning"), "{}", out.stdout);
    let warning = format!("warning: {}: `agent.sha256` is the example's placeholder, which `terragrunt plan` refuses: pin a published release first (docs/runbook.md, \"Pin the agent\")", config.display());
    assert!(out.stderr.lines().any(|l| l == warning), "{}", out.stderr);
    let variables = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../terraform/modules/host/variables.tf"),
    )
    .unwrap();
    assert!(variables.contains(&format!(
        "var.agent_release.sha256 != \"{}\"",
        "0".repeat(64)
    )));
}

/// What gen-config hands the host module for the agent: the pin, and the x86_64 binary of that
/// release of the repository.
#[test]
fn the_pin_becomes_the_agent_release_input() {
    let hcl =
        std::fs::read_to_string(golden().join("terraform/region/eu-central-1/terragrunt.hcl"))
            .unwrap();
    assert!(hcl.contains(
        r#"  github_repository    = "example/kelev-golden"
  agent_release        = {
    version = "0.1.0"
    sha256  = "cb3c6102d84226a2969ee276995854e95520e44d674bf4d7d7fa4ee304cddb58"
    url     = "https://github.com/example/kelev-golden/releases/download/v0.1.0/kelev-agent-0.1.0-x86_64-linux-musl"
  }
"#
    ), "{hcl}");
}

/// docs/runbook.md, "Pin the agent": its commands write a pin that gen-config takes, from the
/// release's SHA256SUMS (here a local one: the download is GitHub's).
#[test]
fn the_runbooks_pin_commands_write_a_pin_gen_config_takes() {
    let runbook =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/runbook.md"))
            .unwrap();
    let section = &runbook[runbook.find("### Pin the agent").unwrap()..];
    let line = |start: &str| {
        let line = section
            .lines()
            .map(str::trim)
            .find(|l| l.starts_with(start))
            .unwrap_or_else(|| panic!("no `{start}` line in the runbook"));
        line.to_owned()
    };
    let script = format!("{}\n{}\n", line("SUM=$(awk"), line("jq --arg v"));
    let tmp = copy_golden(false);
    let sum = "ab".repeat(32);
    std::fs::write(
        tmp.path().join("SHA256SUMS"),
        format!("{}  kelev-agent-0.2.0-aarch64-linux-musl\n{sum}  kelev-agent-0.2.0-x86_64-linux-musl\n", "cd".repeat(32)),
    )
    .unwrap();
    let status = std::process::Command::new("bash")
        .args(["-euo", "pipefail", "-c", &script])
        .current_dir(tmp.path())
        .env("V", "0.2.0")
        .env("BIN", "kelev-agent-0.2.0-x86_64-linux-musl")
        .env("D", tmp.path())
        .status()
        .unwrap();
    assert!(status.success());
    gen(tmp.path(), &[]).ok();
    let hcl = std::fs::read_to_string(tmp.path().join("terraform/region/us-east-1/terragrunt.hcl"))
        .unwrap();
    assert!(hcl.contains(&format!("    version = \"0.2.0\"\n    sha256  = \"{sum}\"\n    url     = \"https://github.com/example/kelev-golden/releases/download/v0.2.0/kelev-agent-0.2.0-x86_64-linux-musl\"\n")), "{hcl}");
}

/// What the agent, AWS or init.sh would refuse later (after the instance was replaced) is
/// refused on the laptop, with the field and the file named (issue 20, findings 1 and 8).
#[test]
fn what_the_host_or_aws_would_refuse_is_one_error_line() {
    let verbs = kelev_core::AGENT_VERBS.join(", ");
    let table: &[(&str, Edit, String)] = &[
        (
            "a mistyped verb",
            |c| c["deploy_keys"]["ci"]["verbs"] = serde_json::json!(["depoy", "status"]),
            format!("deploy key `ci`: `verbs`: unknown verb `depoy` (known: {verbs})"),
        ),
        (
            "a project's title for its name",
            |c| c["deploy_keys"]["ci"]["projects"] = serde_json::json!(["Fun N Games"]),
            "deploy key `ci`: `projects`: `Fun N Games` is not a project name (^[a-z0-9][a-z0-9-]{0,62}$)".into(),
        ),
        (
            "no verbs",
            |c| c["deploy_keys"]["ci"]["verbs"] = serde_json::json!([]),
            "deploy key `ci`: `verbs` is empty".into(),
        ),
        (
            "a verb twice",
            |c| c["deploy_keys"]["ci"]["verbs"] = serde_json::json!(["deploy", "deploy"]),
            "deploy key `ci`: `verbs` lists `deploy` twice".into(),
        ),
        (
            "a Xen instance type",
            |c| c["instance_type"] = "t2.micro".into(),
            "`instance_type` `t2.micro` is not a Nitro instance type: init.sh finds the data volume by its NVMe name (pick t3, m5 or newer)".into(),
        ),
        (
            "a Graviton instance type",
            |c| c["instance_type"] = "t4g.small".into(),
            "`instance_type` `t4g.small` is arm64 (Graviton); the AMIs in the region mapping are amd64 (pick an x86_64 type like t3.small)".into(),
        ),
        (
            "a Graviton type with local disks",
            |c| c["instance_type"] = "m6gd.large".into(),
            "`instance_type` `m6gd.large` is arm64 (Graviton); the AMIs in the region mapping are amd64 (pick an x86_64 type like t3.small)".into(),
        ),
        (
            "no instance type",
            |c| c["instance_type"] = "x;y".into(),
            "`instance_type` `x;y` is not an EC2 instance type like t3.small".into(),
        ),
        (
            "a CIDR with host bits",
            |c| c["allowed_ssh_cidrs"] = serde_json::json!(["1.2.3.4/8"]),
            "`allowed_ssh_cidrs`: `1.2.3.4/8` has bits set past its prefix: the network is `1.0.0.0/8`".into(),
        ),
        (
            "a CIDR twice",
            |c| c["allowed_ssh_cidrs"] = serde_json::json!(["203.0.113.7/32", "203.0.113.7/32"]),
            "`allowed_ssh_cidrs` lists `203.0.113.7/32` twice".into(),
        ),
        (
            "no regions",
            |c| c["regions"] = serde_json::json!([]),
            "`regions` is empty".into(),
        ),
        (
            "a region twice",
            |c| c["regions"] = serde_json::json!(["us-east-1", "us-east-1"]),
            "`regions` lists `us-east-1` twice".into(),
        ),
        (
            "a region that is no region",
            |c| c["regions"] = serde_json::json!(["us-east"]),
            "`regions`: `us-east` is not an AWS region name like eu-central-1".into(),
        ),
        (
            "a state region that is no region",
            |c| c["state_region"] = "frankfurt".into(),
            "`state_region`: `frankfurt` is not an AWS region name like eu-central-1".into(),
        ),
        (
            "a bucket with capitals",
            |c| c["state_bucket"] = "Golden_State".into(),
            "`state_bucket` `Golden_State` is not a name S3 accepts (3 to 63 of [a-z0-9.-], a letter or digit at each end, no `..`, not an IP address)".into(),
        ),
        (
            "a bucket named like an IP address",
            |c| c["state_bucket"] = "192.168.5.4".into(),
            "`state_bucket` `192.168.5.4` is not a name S3 accepts (3 to 63 of [a-z0-9.-], a letter or digit at each end, no `..`, not an IP address)".into(),
        ),
        (
            "a bucket of two letters",
            |c| c["state_bucket"] = "ab".into(),
            "`state_bucket` `ab` is not a name S3 accepts (3 to 63 of [a-z0-9.-], a letter or digit at each end, no `..`, not an IP address)".into(),
        ),
    ];
    assert_each_refused(table);
}
