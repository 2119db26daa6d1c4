//! `kelev amis` against moto through the real AWS CLI: Canonical's published parameter read in
//! each region, the image checked, config/region-mapping.json written with the day; an image
//! that is not Canonical's Ubuntu 22.04, a failing call and a missing `aws` write nothing.

use std::path::{Path, PathBuf};
use std::process::Command;

use kelev_e2e::{workspace_binary, Moto, Output, Run};

const PARAMETER: &str =
    "/aws/service/canonical/ubuntu/server/22.04/stable/current/amd64/hvm/ebs-gp2/ami-id";
const JAMMY: &str = "ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-20261201";
const CENTRAL: &str = "ami-0aaaaaaaaaaaaaaa1";
const WEST: &str = "ami-0bbbbbbbbbbbbbbb2";
/// Not Canonical's: an Amazon Linux 2 image, as config/region-mapping.json once shipped.
const AL2: &str = "ami-0ccccccccccccccc3";
const AL2_NAME: &str = "amzn2-ami-kernel-5.10-hvm-2.0.20220218.3-x86_64-gp2";

/// moto gap 1: moto 5.2.5 serves no /aws/service/canonical parameters (its package data holds
/// only ami-amazon-linux-latest, ecs and global-infrastructure) and, like AWS, refuses
/// PutParameter under /aws. This launcher puts Canonical's parameter into moto's SSM backend
/// before the real moto_server starts serving.
const LAUNCHER: &str = r#"
import datetime, json, sys
from moto.ssm.models import Parameter, ssm_backends
from moto.server import main
name, values = sys.argv[1], json.loads(sys.argv[2])
for region, ami in values.items():
    ssm_backends["123456789012"][region]._parameters[name].append(Parameter(
        account_id="123456789012", name=name, value=ami, parameter_type="String",
        description=None, allowed_pattern=None, keyid=None,
        last_modified_date=datetime.datetime.now(), version=1, data_type="aws:ec2:image"))
main(sys.argv[3:])
"#;

/// moto gap 2: moto knows only its own AMIs; `MOTO_AMIS_PATH` (read when it starts) names the
/// images this test needs, in every region.
fn images(dir: &Path) -> PathBuf {
    let image = |id: &str, owner: &str, name: &str| {
        serde_json::json!({
            "ami_id": id, "state": "available", "public": true, "owner_id": owner,
            "image_location": "amazon/test", "root_device_type": "ebs",
            "root_device_name": "/dev/sda1", "description": name, "image_type": "machine",
            "platform": null, "architecture": "x86_64", "name": name,
            "virtualization_type": "hvm", "hypervisor": "xen"
        })
    };
    let path = dir.join("moto-amis.json");
    let list = [
        image(CENTRAL, "099720109477", JAMMY),
        image(WEST, "099720109477", JAMMY),
        image(AL2, "137112412989", AL2_NAME),
    ];
    std::fs::write(&path, serde_json::to_string(&list).unwrap()).unwrap();
    path
}

/// moto, with Canonical's parameter in eu-central-1, eu-west-1 and (pointing at the Amazon
/// Linux image) us-east-1; no other region has it.
fn moto(dir: &Path) -> Moto {
    let mut server = Command::new(Moto::python());
    server
        .env("MOTO_AMIS_PATH", images(dir))
        .args(["-c", LAUNCHER, PARAMETER])
        .arg(
            serde_json::json!({"eu-central-1": CENTRAL, "eu-west-1": WEST, "us-east-1": AL2})
                .to_string(),
        );
    Moto::start_with(&dir.join("moto"), server)
}

/// The repository's config.json (one region, eu-central-1) and a mapping of `regions`, each
/// with the unverified id the repository ships for it.
fn setup(dir: &Path, regions: &[&str]) -> (PathBuf, PathBuf) {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let config = dir.join("config.json");
    std::fs::copy(repo.join("config.json"), &config).unwrap();
    let shipped: serde_json::Map<String, serde_json::Value> = serde_json::from_str(
        &std::fs::read_to_string(repo.join("config/region-mapping.json")).unwrap(),
    )
    .unwrap();
    let mut mapping = serde_json::Map::new();
    for region in regions {
        let mut entry = shipped.get(*region).cloned().unwrap_or_else(
            || serde_json::json!({"ami": "ami-0123456789abcdef0", "name": JAMMY, "verified": null}),
        );
        entry["verified"] = serde_json::Value::Null;
        mapping.insert((*region).to_owned(), entry);
    }
    let path = dir.join("region-mapping.json");
    std::fs::write(&path, serde_json::to_string_pretty(&mapping).unwrap()).unwrap();
    (config, path)
}

/// `kelev amis` with the venv's AWS CLI on PATH, pointed at `moto` by `AWS_ENDPOINT_URL`.
fn amis(dir: &Path, moto: &Moto, config: &Path, mapping: &Path) -> Output {
    amis_with_path(
        dir,
        moto,
        config,
        mapping,
        &format!("{}:/usr/bin:/bin", venv_bin()),
    )
}

fn amis_with_path(dir: &Path, moto: &Moto, config: &Path, mapping: &Path, path: &str) -> Output {
    let mut run = Run::new(workspace_binary("kelev"))
        .args(["amis", "--config"])
        .arg(config)
        .arg("--mapping")
        .arg(mapping)
        .env("PATH", path)
        .env("HOME", dir)
        .env("AWS_ENDPOINT_URL", moto.endpoint());
    for (k, v) in Moto::CREDENTIALS {
        run = run.env(k, v);
    }
    run.run()
}

fn venv_bin() -> String {
    Moto::cli().parent().unwrap().display().to_string()
}

/// Today in UTC, as `date` says it.
fn today() -> String {
    let out = Run::new("date").args(["-u", "+%F"]).run().ok();
    out.stdout.trim().to_owned()
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Docker, sshd, moto and terraform: run scripts/test (cargo test --features e2e)"
)]
fn amis_writes_canonicals_ids_with_the_day_it_read_them() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let moto = moto(dir);
    // config.json has eu-central-1; the mapping adds eu-west-1: both are read.
    let (config, mapping) = setup(dir, &["eu-west-1"]);
    let before = today();
    let out = amis(dir, &moto, &config, &mapping).ok();
    let day = today();
    assert_eq!(before, day, "the day changed during the test: run it again");
    let wrote = format!(
        "wrote {} (verified {day}); run `kelev gen-config` and commit both\n",
        mapping.display()
    );
    out.stdout_is(&format!(
        "eu-central-1: {CENTRAL} {JAMMY} (new)\neu-west-1: {WEST} {JAMMY} (was ami-0d75513e7706cf5d9)\n{wrote}"
    ))
    .stderr_is("");
    let expected = format!(
        r#"{{
  "eu-central-1": {{
    "ami": "{CENTRAL}",
    "name": "{JAMMY}",
    "verified": "{day}",
    "source": "ssm:{PARAMETER}"
  }},
  "eu-west-1": {{
    "ami": "{WEST}",
    "name": "{JAMMY}",
    "verified": "{day}",
    "source": "ssm:{PARAMETER}"
  }}
}}
"#
    );
    assert_eq!(std::fs::read_to_string(&mapping).unwrap(), expected);

    // Deterministic: a second read the same day gives the same bytes.
    amis(dir, &moto, &config, &mapping).ok().stdout_is(&format!(
        "eu-central-1: {CENTRAL} {JAMMY} (unchanged)\neu-west-1: {WEST} {JAMMY} (unchanged)\n{wrote}"
    ));
    assert_eq!(std::fs::read_to_string(&mapping).unwrap(), expected);

    // gen-config reads what amis wrote, and has nothing to warn about.
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    Run::new(workspace_binary("kelev"))
        .arg("gen-config")
        .arg("--config")
        .arg(&config)
        .arg("--manifest")
        .arg(repo.join("projects.json"))
        .arg("--mapping")
        .arg(&mapping)
        .arg("--out")
        .arg(dir.join("terraform"))
        .run()
        .ok();
    let hcl =
        std::fs::read_to_string(dir.join("terraform/region/eu-central-1/terragrunt.hcl")).unwrap();
    assert!(hcl.contains(&format!("\"{CENTRAL}\" # {JAMMY}")), "{hcl}");
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Docker, sshd, moto and terraform: run scripts/test (cargo test --features e2e)"
)]
fn amis_refuses_what_is_not_canonicals_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let moto = moto(dir);

    // us-east-1's parameter names an Amazon Linux 2 image: refused, by id and what it is.
    let (config, mapping) = setup(dir, &["us-east-1"]);
    let original = std::fs::read_to_string(&mapping).unwrap();
    amis(dir, &moto, &config, &mapping)
        .code(65)
        .stderr_is(&format!(
            "error: `{PARAMETER} in us-east-1`: `{AL2}` is `{AL2_NAME}`, owned by account 137112412989, not Canonical's (099720109477)\n"
        ));
    assert_eq!(std::fs::read_to_string(&mapping).unwrap(), original);

    // A region without the parameter: the CLI's own error, after the command that failed.
    let (config, mapping) = setup(dir, &["ap-south-1"]);
    let original = std::fs::read_to_string(&mapping).unwrap();
    amis(dir, &moto, &config, &mapping).code(69).stderr_is(&format!(
        "error: `aws ssm get-parameter --region ap-south-1 --name {PARAMETER}` failed (exit status: 255): An error occurred (ParameterNotFound) when calling the GetParameter operation: Parameter {PARAMETER} not found.\n"
    ));
    assert_eq!(std::fs::read_to_string(&mapping).unwrap(), original);

    // No AWS CLI on PATH.
    let out = amis_with_path(dir, &moto, &config, &mapping, "/usr/bin:/bin").code(69);
    assert!(
        out.stderr
            .starts_with("error: cannot run `aws`: No such file or directory"),
        "{}",
        out.report()
    );
    assert_eq!(std::fs::read_to_string(&mapping).unwrap(), original);
    let leftovers: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
