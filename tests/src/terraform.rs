//! The real Terraform (1.11.4 on PATH) and the real `hashicorp/aws` provider (5.100.0, from the
//! machine image's filesystem mirror at [`MIRROR`]; nothing is ever downloaded) against moto on
//! loopback.
//!
//! - [`Terraform`]: a working directory holding a copy of one folder of `.tf` files, run with
//!   its own CLI configuration and moto's endpoints (`moto_override.tf`).
//! - [`Region`]: what the real `kelev gen-config` writes for a region, handed to Terraform the
//!   way Terragrunt would (Terragrunt itself does not run here): `inputs` as variables with
//!   `get_repo_root()` resolved, root.hcl's `generate "provider"` as provider.tf and its
//!   `remote_state` as backend.tf, pointed at a bucket in moto.
//! - [`Host`]: bootstrap/state and the host module applied that way, with moto's gaps bridged
//!   in [`MOTO_GAPS`] and one `modify-instance-attribute` after the apply (printed, never a
//!   switch in the module). tests/e2e/terraform.rs and tests/e2e/userdata.rs each apply one.
//! - [`user_data`]: the instance's user data as EC2 hands it to cloud-init.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::command::{Output, Run};
use crate::moto::{Image, Moto};
use crate::wait::wait_every;
use crate::world::workspace_binary;

/// The image's provider mirror (`<MIRROR>/registry.terraform.io/hashicorp/aws/5.100.0/...`).
pub const MIRROR: &str = "/opt/tf-plugins";

/// An Amazon Linux 2 id that [`Host::apply`] registers in moto beside the region's image: a
/// plan with it must be refused by the module.
pub const AMAZON_LINUX_AMI: &str = "ami-0aa7d40eeae50c9a9";

/// Longer than any apply here; a hung provider fails the test instead of the suite.
const LIMIT: Duration = Duration::from_secs(600);

/// Written next to the host module's copy: each line bridges one gap of moto 5.2.5 (it does not
/// exist in the repository, and the module has no switch for tests).
pub const MOTO_GAPS: &str = r#"# Written by tests/src/terraform.rs, never part of the module: each setting bridges a gap of
# moto 5.2.5, and what it keeps from being applied is printed by the test.
resource "aws_subnet" "public" {
  ipv6_cidr_block = null # moto gap: a subnet's IPv6 block never reports `associated` (the provider waits 3 minutes, then fails)
}

resource "aws_instance" "host" {
  monitoring         = false # moto gap: MonitorInstances is not implemented (the provider retries it for 10 minutes)
  ipv6_address_count = 0     # moto gap: follows from the subnet above, which has no IPv6 block
}

resource "aws_dlm_lifecycle_policy" "data" {
  count = 0 # moto gap: no DLM backend (every call answers 500)
}

output "snapshot_policy_id" {
  value = null # moto gap: the DLM policy above is not created
}
"#;

/// The repository's root (what Terragrunt's `get_repo_root()` returns in a checkout).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

/// A Terraform working directory.
pub struct Terraform {
    pub dir: PathBuf,
    cli_config: PathBuf,
}

impl Terraform {
    /// `dir` with a copy of the `.tf` files of `module` (a folder of the repository, such as
    /// `terraform/modules/host`), a CLI configuration that installs providers from [`MIRROR`]
    /// only, and `moto_override.tf`, which points the `aws` provider at `moto` (the folder, or
    /// a `provider.tf` written with [`Terraform::write`] before `init`, must have the block).
    pub fn new(module: &str, dir: &Path, moto: &Moto) -> Terraform {
        let aws = Path::new(MIRROR).join("registry.terraform.io/hashicorp/aws");
        assert!(
            aws.is_dir(),
            "{} is missing: the machine image carries the hashicorp/aws provider there",
            aws.display()
        );
        std::fs::create_dir_all(dir).unwrap();
        for entry in std::fs::read_dir(repo_root().join(module)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "tf") {
                std::fs::copy(&path, dir.join(path.file_name().unwrap())).unwrap();
            }
        }
        let cli_config = dir.join(".terraformrc");
        std::fs::write(
            &cli_config,
            format!(
                "provider_installation {{\n  filesystem_mirror {{\n    path    = \"{MIRROR}\"\n    include = [\"registry.terraform.io/*/*\"]\n  }}\n  direct {{\n    exclude = [\"registry.terraform.io/*/*\"]\n  }}\n}}\n"
            ),
        )
        .unwrap();
        let terraform = Terraform {
            dir: dir.to_owned(),
            cli_config,
        };
        terraform.write("moto_override.tf", &provider_override(moto));
        terraform
    }

    /// Add (or replace) a file in the working directory.
    pub fn write(&self, name: &str, text: &str) -> &Terraform {
        std::fs::write(self.dir.join(name), text).unwrap();
        self
    }

    /// `terraform <args>` in the working directory, unchecked (killed after 10 minutes).
    pub fn run(&self, args: &[&str]) -> Output {
        let mut run = Run::new("terraform")
            .args(args)
            .dir(&self.dir)
            .env("TF_CLI_CONFIG_FILE", &self.cli_config)
            .env("TF_IN_AUTOMATION", "1")
            .env("TF_INPUT", "0")
            .env("CHECKPOINT_DISABLE", "1")
            .env("HOME", &self.dir)
            .env("AWS_REGION", Moto::REGION);
        for (k, v) in Moto::CREDENTIALS {
            run = run.env(k, v);
        }
        let started = Instant::now();
        let out = run.run_within(LIMIT);
        eprintln!(
            "terraform {} (in {}): {:?}",
            args.join(" "),
            self.dir.display(),
            started.elapsed()
        );
        out
    }

    #[track_caller]
    pub fn init(&self) {
        self.run(&["init", "-no-color"]).ok();
    }

    /// `apply -auto-approve` with `args` (`-var`, `-target`, ...); must succeed.
    #[track_caller]
    pub fn apply(&self, args: &[&str]) -> Output {
        self.run(&[&["apply", "-auto-approve", "-no-color"], args].concat())
            .ok()
    }

    /// `plan -detailed-exitcode` with `args`: 0 no change, 2 changes, 1 error (the caller
    /// asserts which).
    pub fn plan_exit(&self, args: &[&str]) -> Output {
        self.run(&[&["plan", "-detailed-exitcode", "-no-color"], args].concat())
    }

    /// The plan with `args` as `terraform show -json` prints it (`resource_changes`, ...).
    #[track_caller]
    pub fn plan_json(&self, args: &[&str]) -> serde_json::Value {
        static PLANS: AtomicUsize = AtomicUsize::new(0);
        let file = format!("test-{}.tfplan", PLANS.fetch_add(1, Ordering::SeqCst));
        let out = format!("-out={file}");
        self.run(&[&["plan", "-no-color", &out], args].concat())
            .ok();
        self.run(&["show", "-json", &file]).ok().json()
    }

    /// One output's value.
    #[track_caller]
    pub fn output(&self, name: &str) -> serde_json::Value {
        self.run(&["output", "-json", name]).ok().json()
    }

    /// The addresses in the state.
    #[track_caller]
    pub fn state_list(&self) -> Vec<String> {
        let out = self.run(&["state", "list"]).ok();
        out.stdout.lines().map(str::to_owned).collect()
    }
}

/// The resources a plan changes, as (address, actions), e.g.
/// `("aws_instance.host", ["delete", "create"])`; no-ops and reads are left out.
pub fn changes(plan: &serde_json::Value) -> Vec<(String, Vec<String>)> {
    plan["resource_changes"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|c| {
            let actions = c["change"]["actions"].as_array().unwrap();
            (
                c["address"].as_str().unwrap().to_owned(),
                actions
                    .iter()
                    .map(|a| a.as_str().unwrap().to_owned())
                    .collect::<Vec<_>>(),
            )
        })
        .filter(|(_, actions)| actions != &["no-op"] && actions != &["read"])
        .collect()
}

/// The `aws` provider's settings for moto, as an override file: merged into the folder's own
/// provider block, so region and default tags stay the configuration's.
pub fn provider_override(moto: &Moto) -> String {
    let endpoint = moto.endpoint();
    let endpoints: String = [
        "cloudwatch",
        "dlm",
        "ec2",
        "iam",
        "logs",
        "s3",
        "sns",
        "sts",
    ]
    .iter()
    .map(|service| format!("    {service:<10} = \"{endpoint}\"\n"))
    .collect();
    format!(
        "# moto on loopback instead of AWS (written by tests/src/terraform.rs).\nprovider \"aws\" {{\n  access_key                  = \"testing\"\n  secret_key                  = \"testing\"\n  skip_credentials_validation = true\n  skip_metadata_api_check     = true\n  skip_requesting_account_id  = true\n  s3_use_path_style           = true\n\n  endpoints {{\n{endpoints}  }}\n}}\n"
    )
}

/// What `kelev gen-config` wrote for one region, from copies of the repository's config.json
/// and projects.json.
pub struct Region {
    pub name: String,
    /// The generated tree (`root.hcl`, `region/<name>/terragrunt.hcl`).
    pub tree: PathBuf,
    pub config: serde_json::Value,
    root_hcl: String,
    unit: String,
}

impl Region {
    /// Run the real `kelev` binary's `gen-config` in `dir` on the repository's config.json
    /// (changed by `edit` first: a test's agent pin, say), projects.json and
    /// config/region-mapping.json; the region is config.json's first.
    #[track_caller]
    pub fn generate(dir: &Path, edit: impl FnOnce(&mut serde_json::Value)) -> Region {
        let repo = repo_root();
        std::fs::create_dir_all(dir).unwrap();
        let mut config: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(repo.join("config.json")).unwrap())
                .unwrap();
        edit(&mut config);
        let config_path = dir.join("config.json");
        std::fs::write(&config_path, serde_json::to_string_pretty(&config).unwrap()).unwrap();
        let tree = dir.join("terraform");
        Run::new(workspace_binary("kelev"))
            .arg("gen-config")
            .arg("--config")
            .arg(&config_path)
            .arg("--manifest")
            .arg(repo.join("projects.json"))
            .arg("--mapping")
            .arg(repo.join("config/region-mapping.json"))
            .arg("--out")
            .arg(&tree)
            .run()
            .ok();
        let name = config["regions"][0].as_str().unwrap().to_owned();
        let read = |path: PathBuf| {
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        };
        Region {
            root_hcl: read(tree.join("root.hcl")),
            unit: read(tree.join("region").join(&name).join("terragrunt.hcl")),
            name,
            tree,
            config,
        }
    }

    /// terragrunt.hcl's `inputs = { ... }` body as a `.tfvars` file, `get_repo_root()`
    /// resolved to this checkout: the variables Terragrunt would hand to Terraform.
    pub fn tfvars(&self) -> String {
        let body = block_body(&self.unit, "inputs = {")
            .unwrap_or_else(|| panic!("no `inputs = {{` block in terragrunt.hcl:\n{}", self.unit));
        let resolved = body.replace("${get_repo_root()}", &repo_root().display().to_string());
        assert!(
            !resolved.contains("${"),
            "an input uses a Terragrunt function this harness does not resolve:\n{resolved}"
        );
        resolved
    }

    /// The AMI id gen-config wrote.
    pub fn ami_id(&self) -> String {
        let line = self
            .unit
            .lines()
            .find(|l| l.trim_start().starts_with("ami_id "))
            .expect("ami_id in terragrunt.hcl");
        line.split('"').nth(1).unwrap().to_owned()
    }

    /// root.hcl's `generate "provider"` contents, as Terragrunt writes provider.tf.
    pub fn provider_tf(&self) -> String {
        let start = self
            .root_hcl
            .find("<<-PROVIDER\n")
            .expect("root.hcl generates provider.tf")
            + "<<-PROVIDER\n".len();
        let end = start + self.root_hcl[start..].find("PROVIDER\n").unwrap();
        let heredoc = &self.root_hcl[start..end];
        let indent = heredoc
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| l.len() - l.trim_start().len())
            .min()
            .unwrap_or(0);
        heredoc
            .lines()
            .map(|l| format!("{}\n", l.get(indent..).unwrap_or("").trim_end()))
            .collect::<String>()
            .replace("${local.region}", &self.name)
    }

    /// root.hcl's `remote_state` as Terragrunt writes backend.tf for this region, but in
    /// `bucket` of `moto`. Not the state bucket bootstrap/state makes: its policy denies
    /// requests without TLS, and moto cannot evaluate `aws:SecureTransport` (moto gap).
    pub fn backend_tf(&self, bucket: &str, moto: &Moto) -> String {
        let config = block_body(&self.root_hcl, "config = {").expect("remote_state config");
        let mut settings: String = config
            .lines()
            .map(|line| match line.trim_start().strip_prefix("bucket ") {
                Some(_) => format!("    bucket = \"{bucket}\"\n"),
                None => format!("  {line}\n"),
            })
            .collect::<String>()
            .replace(
                "${path_relative_to_include()}",
                &format!("region/{}", self.name),
            );
        settings.push_str(&format!(
            "    # moto on loopback instead of S3 (written by tests/src/terraform.rs)\n    endpoints                   = {{ s3 = \"{}\" }}\n    use_path_style              = true\n    skip_credentials_validation = true\n    skip_requesting_account_id  = true\n    skip_metadata_api_check     = true\n",
            moto.endpoint()
        ));
        format!("terraform {{\n  backend \"s3\" {{\n{settings}  }}\n}}\n")
    }
}

/// The lines between `opening` (a line ending in `{`) and its closing brace at the same
/// indentation.
fn block_body(text: &str, opening: &str) -> Option<String> {
    let mut lines = text.lines();
    let first = lines.find(|l| l.trim_start().starts_with(opening))?;
    let close = format!("{}}}", &first[..first.len() - first.trim_start().len()]);
    let body: Vec<&str> = lines.take_while(|l| *l != close).collect();
    Some(body.join("\n") + "\n")
}

/// bootstrap/state and the host module of one region, applied against moto the way the runbook
/// applies them (sections 2 and 3), with [`MOTO_GAPS`] bridged.
pub struct Host {
    pub moto: Moto,
    pub region: Region,
    pub bootstrap: Terraform,
    pub host: Terraform,
    /// What the module planned that moto's gaps kept from being created (addresses).
    pub not_applied: Vec<String>,
}

/// The test's state bucket in moto (see [`Region::backend_tf`]).
pub const BACKEND_BUCKET: &str = "kelev-tfstate-moto";

impl Host {
    /// gen-config (config.json changed by `edit`), moto with the region's AMI registered as
    /// Canonical's Ubuntu 22.04 amd64 (and [`AMAZON_LINUX_AMI`]), bootstrap/state applied (with
    /// the variables runbook section 2 passes), then the host module planned as it is and
    /// applied with [`MOTO_GAPS`]. Prints what was planned but not applied. Takes minutes:
    /// share one per test group.
    #[track_caller]
    pub fn apply(dir: &Path, edit: impl FnOnce(&mut serde_json::Value)) -> Host {
        let region = Region::generate(&dir.join("repo"), edit);
        assert_eq!(
            region.name,
            Moto::REGION,
            "moto's region is the region applied"
        );
        let moto = Moto::for_terraform(
            &dir.join("moto"),
            &[
                Image::jammy(&region.ami_id()),
                Image::amazon_linux(AMAZON_LINUX_AMI),
            ],
        );

        // bootstrap/state, in the background: its lifecycle rule alone takes about a minute
        // (the provider's wait for S3's eventual consistency). The host needs only its GitHub
        // OIDC provider, which comes first.
        let bootstrap = Terraform::new("bootstrap/state", &dir.join("bootstrap-state"), &moto);
        bootstrap.init();
        let bucket = format!("bucket={}", region.config["state_bucket"].as_str().unwrap());
        let bucket_region = format!("region={}", region.config["state_region"].as_str().unwrap());

        let host = Terraform::new("terraform/modules/host", &dir.join("host"), &moto);
        host.write("provider.tf", &region.provider_tf())
            .write("backend.tf", &region.backend_tf(BACKEND_BUCKET, &moto))
            .write("terragrunt.auto.tfvars", &region.tfvars());
        moto.aws()
            .args(["s3api", "create-bucket", "--bucket", BACKEND_BUCKET])
            .args(["--create-bucket-configuration"])
            .arg(format!("LocationConstraint={}", Moto::REGION))
            .run()
            .ok();

        let not_applied = std::thread::scope(|scope| {
            let background = scope.spawn(|| {
                bootstrap.apply(&["-var", &bucket, "-var", &bucket_region]);
            });
            host.init();
            let oidc_provider = || {
                assert!(
                    !background.is_finished() || oidc_provider_listed(&moto),
                    "bootstrap/state ended without GitHub's OIDC provider"
                );
                oidc_provider_listed(&moto)
            };
            wait_every(
                "bootstrap/state's OIDC provider",
                Duration::from_secs(300),
                Duration::from_millis(500),
                oidc_provider,
            );
            // The module as it is (local state, no gap bridged), planned beside the apply:
            // what moto's gaps keep from being applied shows against the state afterwards.
            let as_is = scope.spawn(|| {
                let as_is =
                    Terraform::new("terraform/modules/host", &dir.join("host-as-is"), &moto);
                as_is
                    .write("provider.tf", &region.provider_tf())
                    .write("terragrunt.auto.tfvars", &region.tfvars());
                as_is.init();
                as_is.plan_json(&[])
            });
            host.write("moto_gaps_override.tf", MOTO_GAPS);
            host.apply(&[]);
            let planned = as_is.join().expect("the module planned as it is");
            background.join().expect("bootstrap/state applied");
            let applied = host.state_list();
            changes(&planned)
                .into_iter()
                .map(|(address, _)| address)
                .filter(|a| !applied.contains(a))
                .collect::<Vec<_>>()
        });

        // moto gap: an instance launched with a network-interface specification (the
        // provider's way when associate_public_ip_address is set) reports no security groups
        // of its own, where EC2 reports its interface's. Set them as EC2 would report them.
        let instance = host.output("instance_id");
        let groups = moto
            .aws()
            .args(["ec2", "describe-instances", "--instance-ids"])
            .arg(instance.as_str().unwrap())
            .run()
            .ok()
            .json();
        let group = &groups["Reservations"][0]["Instances"][0]["NetworkInterfaces"][0]["Groups"][0]
            ["GroupId"];
        moto.aws()
            .args(["ec2", "modify-instance-attribute", "--instance-id"])
            .arg(instance.as_str().unwrap())
            .arg("--groups")
            .arg(
                group
                    .as_str()
                    .expect("the instance's interface has a group"),
            )
            .run()
            .ok();

        eprintln!(
            "planned but not applied (moto gaps): {not_applied:?}, and the settings of {}:\n{MOTO_GAPS}",
            host.dir.join("moto_gaps_override.tf").display()
        );
        Host {
            moto,
            region,
            bootstrap,
            host,
            not_applied,
        }
    }

    pub fn instance_id(&self) -> String {
        self.host.output("instance_id").as_str().unwrap().to_owned()
    }
}

/// The instance's user data as EC2 hands it to cloud-init: `DescribeInstanceAttribute
/// userData`, base64-decoded and gunzipped (the module sends `base64gzip` of a cloud-config),
/// so the `#cloud-config` text Terraform sent.
#[track_caller]
pub fn user_data(moto: &Moto, instance_id: &str) -> String {
    let attribute = moto
        .aws()
        .args([
            "ec2",
            "describe-instance-attribute",
            "--attribute",
            "userData",
        ])
        .args(["--instance-id", instance_id])
        .run()
        .ok()
        .json();
    let encoded = attribute["UserData"]["Value"]
        .as_str()
        .unwrap_or_else(|| panic!("no user data: {attribute}"));
    Run::new("sh")
        .args(["-c", "base64 -d | gunzip -c"])
        .stdin(encoded)
        .run()
        .ok()
        .stdout
}

/// Whether moto has an IAM OIDC provider (bootstrap/state makes GitHub's).
fn oidc_provider_listed(moto: &Moto) -> bool {
    let listed = moto
        .aws()
        .args(["iam", "list-open-id-connect-providers"])
        .run()
        .ok()
        .json();
    listed["OpenIDConnectProviderList"]
        .as_array()
        .is_some_and(|list| !list.is_empty())
}
