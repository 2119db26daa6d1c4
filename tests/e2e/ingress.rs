//! CI's way to sshd, rehearsed against moto: GitHub's OIDC provider from bootstrap/state and the
//! host module's CI role (terraform/modules/host/ci_access.tf) applied with the real Terraform and
//! provider, then deploy.yml's own port 22 steps (scripts/ci/ssh-ingress) run with the role's
//! credentials, and the host's security group read back after each step.
//!
//! What moto cannot do, measured on moto 5.2.5 and bridged here in the open:
//! - AssumeRoleWithWebIdentity does not read the token or the role's trust policy: it hands out
//!   credentials for any token, even for a role that does not exist. The trust (this repository,
//!   tags only) is checked as the policy document Terraform stored, not evaluated.
//! - With IAM enforcement on (`/moto-api/reset-auth`, what INITIAL_NO_AUTH_ACTION_COUNT sets),
//!   moto checks actions but hands every EC2 call the resource "*": a statement naming one
//!   security group's ARN never matches, so the role is refused on its own group as on any
//!   other. That the role can touch no other group is therefore not shown by moto; the test
//!   shows what moto can: the role may call nothing but the three EC2 actions, and the stored
//!   policy names this host's group alone.
//! - An unsigned AssumeRoleWithWebIdentity (what STS takes) fails with a 500 while enforcement
//!   is on, so the role is assumed before enforcement is switched on.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};

use yaml_rust2::{Yaml, YamlLoader};

use kelev_e2e::{Moto, Output, Run};

const REPOSITORY: &str = "owner/kelev";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The image's provider mirror: Terraform installs hashicorp/aws from it and downloads nothing.
fn terraform_rc(dir: &Path) -> PathBuf {
    let found = Run::new("find")
        .args(["/", "-xdev", "-maxdepth", "6", "-path"])
        .args(["*registry.terraform.io/hashicorp/aws", "-print", "-quit"])
        .run();
    let aws = found.stdout.trim();
    assert!(
        !aws.is_empty(),
        "no hashicorp/aws provider mirror on this machine"
    );
    let mirror = Path::new(aws).ancestors().nth(3).unwrap();
    let rc = dir.join("terraformrc");
    std::fs::write(
        &rc,
        format!(
            "provider_installation {{\n  filesystem_mirror {{\n    path    = \"{}\"\n    include = [\"registry.terraform.io/hashicorp/aws\"]\n  }}\n  direct {{\n    exclude = [\"registry.terraform.io/hashicorp/aws\"]\n  }}\n}}\n",
            mirror.display()
        ),
    )
    .unwrap();
    rc
}

/// The AWS provider pointed at moto. In bootstrap/state it is an override file, merged into the
/// module's own provider block; the test root of the host module has none of its own.
fn moto_provider(moto: &Moto) -> String {
    let e = moto.endpoint();
    format!(
        "provider \"aws\" {{\n  access_key                  = \"testing\"\n  secret_key                  = \"testing\"\n  skip_credentials_validation = true\n  skip_metadata_api_check     = true\n  endpoints {{\n    ec2 = \"{e}\"\n    iam = \"{e}\"\n    sts = \"{e}\"\n  }}\n}}\n"
    )
}

/// A Terraform root in a directory of its own, with the real terraform binary.
struct Root {
    dir: PathBuf,
    rc: PathBuf,
    vars: Vec<String>,
}

impl Root {
    fn new(dir: PathBuf, rc: &Path, files: &[(String, String)], vars: &[(&str, &str)]) -> Root {
        std::fs::create_dir_all(&dir).unwrap();
        for (name, text) in files {
            std::fs::write(dir.join(name), text).unwrap();
        }
        let root = Root {
            dir,
            rc: rc.to_owned(),
            vars: vars.iter().map(|(k, v)| format!("-var={k}={v}")).collect(),
        };
        root.terraform(&["init", "-input=false"]).ok();
        root
    }

    fn terraform(&self, args: &[&str]) -> Output {
        Run::new("terraform")
            .arg(format!("-chdir={}", self.dir.display()))
            .args(args)
            .env("TF_CLI_CONFIG_FILE", &self.rc)
            .env("TF_IN_AUTOMATION", "1")
            .env("HOME", &self.dir)
            .run()
    }

    fn with_vars(&self, command: &[&str]) -> Output {
        let mut args: Vec<&str> = command.to_vec();
        args.extend(["-input=false", "-no-color"]);
        args.extend(self.vars.iter().map(String::as_str));
        self.terraform(&args)
    }

    /// One attribute of one resource in the state.
    fn attribute(&self, address: &str, key: &str) -> String {
        let state = self.terraform(&["show", "-json"]).ok().json();
        state["values"]["root_module"]["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["address"] == address)
            .unwrap_or_else(|| panic!("no {address} in the state"))["values"][key]
            .as_str()
            .unwrap()
            .to_owned()
    }
}

/// A module folder's files, by name.
fn module_file(dir: &str, name: &str) -> (String, String) {
    let text = std::fs::read_to_string(repo().join(dir).join(name)).unwrap();
    (name.to_owned(), text)
}

/// What ci_access.tf takes from the rest of the host module, stood in for: the whole module
/// would need an AMI, user data and DLM that this test is not about. The lines that mirror
/// main.tf are checked to be in main.tf as written here.
const STAND_IN_MIRRORS: [&str; 3] = [
    "data \"aws_partition\" \"current\" {}",
    "iam_prefix = \"${var.name}-${var.region}\"",
    "resource \"aws_security_group\" \"host\" {",
];

fn host_stand_in() -> String {
    let [partition, prefix, group] = STAND_IN_MIRRORS;
    format!(
        "variable \"name\" {{\n  type = string\n}}\nvariable \"region\" {{\n  type = string\n}}\nvariable \"github_repository\" {{\n  type = string\n}}\n{partition}\nlocals {{\n  {prefix}\n}}\nresource \"aws_vpc\" \"this\" {{\n  cidr_block = \"10.42.0.0/16\"\n}}\n{group}\n  name   = \"${{var.name}}-host\"\n  vpc_id = aws_vpc.this.id\n}}\n"
    )
}

/// checkip.amazonaws.com's stand-in on loopback: answers each request with the address in its
/// path, so that each rehearsed job has a runner address of its own.
fn checkip() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut line = String::new();
            let _ = BufReader::new(&stream).read_line(&mut line);
            let address = line
                .split(' ')
                .nth(1)
                .unwrap_or("/")
                .trim_start_matches('/');
            let body = format!("{address}\n");
            let _ = (&stream).write_all(
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                )
                .as_bytes(),
            );
        }
    });
    format!("http://127.0.0.1:{port}")
}

/// The AWS CLI against moto with moto's own credentials (the operator's view).
fn admin(moto: &Moto, args: &[&str]) -> serde_json::Value {
    let out = moto.aws().args(args).run().ok();
    if out.stdout.trim().is_empty() {
        serde_json::Value::Null
    } else {
        out.json()
    }
}

/// The group's ingress rules as (cidr, description), sorted.
fn ingress(moto: &Moto, group: &str) -> Vec<(String, String)> {
    let filter = format!("Name=group-id,Values={group}");
    let rules = admin(
        moto,
        &["ec2", "describe-security-group-rules", "--filters", &filter],
    );
    let mut found: Vec<(String, String)> = rules["SecurityGroupRules"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["IsEgress"] == false)
        .map(|r| {
            assert_eq!(
                (&r["IpProtocol"], &r["FromPort"], &r["ToPort"]),
                (&"tcp".into(), &22.into(), &22.into())
            );
            (
                r["CidrIpv4"].as_str().unwrap().to_owned(),
                r["Description"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    found.sort();
    found
}

/// Add a port 22 rule as someone else would have.
fn add_rule(moto: &Moto, group: &str, cidr: &str, description: &str) {
    let permissions = serde_json::json!([{
        "IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
        "IpRanges": [{"CidrIp": cidr, "Description": description}],
    }]);
    admin(
        moto,
        &[
            "ec2",
            "authorize-security-group-ingress",
            "--group-id",
            group,
            "--ip-permissions",
            &permissions.to_string(),
        ],
    );
}

fn minutes_ago(minutes: u64) -> String {
    let out = Run::new("date")
        .args(["-u", "-d"])
        .arg(format!("{minutes} minutes ago"))
        .arg("+%Y-%m-%dT%H:%M:%SZ")
        .run()
        .ok();
    out.stdout.trim().to_owned()
}

/// One job of deploy.yml on its runner: the run: steps named, with what GitHub and
/// configure-aws-credentials put into their environment.
struct Job<'a> {
    workflow: &'a Yaml,
    name: &'static str,
    env: Vec<(String, String)>,
}

impl Job<'_> {
    fn step(&self, id: &str) -> &Yaml {
        self.workflow["jobs"][self.name]["steps"]
            .as_vec()
            .unwrap()
            .iter()
            .find(|s| s["id"].as_str() == Some(id))
            .unwrap_or_else(|| panic!("no step {id} in job {}", self.name))
    }

    /// Run step `id` as GitHub's `bash` shell does, in a checkout of this repository.
    fn run(&self, id: &str) -> Output {
        let step = self.step(id);
        let mut run = Run::new("bash")
            .args(["--noprofile", "--norc", "-eo", "pipefail", "-c"])
            .arg(step["run"].as_str().unwrap())
            .dir(repo());
        for (k, v) in &self.env {
            run = run.env(k, v);
        }
        // Its own env: only the security group, from the repository variable.
        let own = step["env"].as_hash().unwrap();
        assert_eq!(
            own.iter()
                .map(|(k, v)| (k.as_str().unwrap(), v.as_str().unwrap()))
                .collect::<Vec<_>>(),
            [(
                "KELEV_SECURITY_GROUP_ID",
                "${{ vars.KELEV_SECURITY_GROUP_ID }}"
            )],
            "step {id}"
        );
        run.run()
    }
}

/// Where each job gets its credentials, opens and closes: before its first ssh, after its last,
/// and the close whatever happened in between.
fn check_job_shape(workflow: &Yaml, job: &str, open_if: Option<&str>) {
    let steps = workflow["jobs"][job]["steps"].as_vec().unwrap();
    assert_eq!(
        workflow["jobs"][job]["permissions"]["id-token"].as_str(),
        Some("write"),
        "{job}: configure-aws-credentials needs GitHub's OIDC token"
    );
    let index = |pred: &dyn Fn(&Yaml) -> bool| steps.iter().position(pred);
    let runs = |s: &Yaml, what: &str| s["run"].as_str().is_some_and(|r| r.contains(what));
    let credentials = index(&|s| {
        s["uses"]
            .as_str()
            .is_some_and(|u| u.starts_with("aws-actions/configure-aws-credentials@"))
    })
    .unwrap_or_else(|| panic!("{job}: no configure-aws-credentials step"));
    let with = &steps[credentials]["with"];
    assert_eq!(
        with["role-to-assume"].as_str(),
        Some("${{ vars.KELEV_AWS_ROLE_ARN }}")
    );
    assert_eq!(
        with["aws-region"].as_str(),
        Some("${{ vars.KELEV_AWS_REGION }}")
    );
    let open = index(&|s| s["id"].as_str() == Some("open")).unwrap();
    let close = index(&|s| s["id"].as_str() == Some("close")).unwrap();
    let first_ssh = index(&|s| runs(s, "ssh -F")).unwrap();
    let last_ssh = steps.iter().rposition(|s| runs(s, "ssh -F")).unwrap();
    assert!(
        credentials < open && open < first_ssh && last_ssh < close,
        "{job}"
    );
    assert_eq!(steps[open]["if"].as_str(), open_if, "{job}");
    assert_eq!(steps[credentials]["if"].as_str(), open_if, "{job}");
    // Runs when the job failed or was cancelled; skipped only when nothing was opened.
    assert_eq!(
        steps[close]["if"].as_str(),
        Some("always() && steps.open.outcome != 'skipped'"),
        "{job}"
    );
}

fn post_auth(moto: &Moto, count: &str) {
    Run::new("curl")
        .args(["--silent", "--show-error", "--fail", "-X", "POST"])
        .args(["-H", "Content-Type: text/plain", "--data", count])
        .arg(format!("{}/moto-api/reset-auth", moto.endpoint()))
        .run()
        .ok();
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Docker, sshd, moto and terraform: run scripts/test (cargo test --features e2e)"
)]
fn ci_opens_port_22_to_its_runner_for_the_job_only() {
    let tmp = tempfile::tempdir().unwrap();
    let moto = Moto::start(&tmp.path().join("moto"));
    let rc = terraform_rc(tmp.path());

    // The host module's CI role, on its own: planned before the account has GitHub's provider,
    // it stops at the provider's lookup.
    let main_tf = std::fs::read_to_string(repo().join("terraform/modules/host/main.tf")).unwrap();
    for line in STAND_IN_MIRRORS {
        assert!(main_tf.contains(line), "main.tf no longer has {line:?}");
    }
    let host_dir = "terraform/modules/host";
    let mut stand_in = host_stand_in();
    stand_in.push_str(&moto_provider(&moto).replacen(
        "provider \"aws\" {\n",
        "provider \"aws\" {\n  region                      = var.region\n",
        1,
    ));
    let host = Root::new(
        tmp.path().join("host"),
        &rc,
        &[
            module_file(host_dir, "ci_access.tf"),
            module_file(host_dir, "versions.tf"),
            ("stand_in.tf".into(), stand_in),
        ],
        &[
            ("name", "kelev"),
            ("region", Moto::REGION),
            ("github_repository", REPOSITORY),
        ],
    );
    host.with_vars(&["plan"]).code(1).stderr_has(
        "finding IAM OIDC Provider by url (https://token.actions.githubusercontent.com): not found",
    );

    // bootstrap/state's provider (the state bucket beside it is not this test's business).
    let mut boot_files: Vec<(String, String)> = [
        "main.tf",
        "variables.tf",
        "outputs.tf",
        "versions.tf",
        "github_oidc.tf",
    ]
    .map(|name| module_file("bootstrap/state", name))
    .into();
    boot_files.push(("moto_override.tf".into(), moto_provider(&moto)));
    let boot = Root::new(
        tmp.path().join("bootstrap-state"),
        &rc,
        &boot_files,
        &[("bucket", "kelev-tfstate-test"), ("region", Moto::REGION)],
    );
    boot.with_vars(&[
        "apply",
        "-auto-approve",
        "-target=aws_iam_openid_connect_provider.github",
    ])
    .ok();
    let provider_arn = boot.attribute("aws_iam_openid_connect_provider.github[0]", "arn");
    assert_eq!(
        provider_arn,
        "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
    );

    // Now the role applies, and a second plan has nothing to do.
    host.with_vars(&["apply", "-auto-approve"]).ok();
    host.with_vars(&["plan", "-detailed-exitcode"]).ok();
    let role_arn = host.attribute("aws_iam_role.ci", "arn");
    let group = host.attribute("aws_security_group.host", "id");
    let group_arn = host.attribute("aws_security_group.host", "arn");

    // The trust and the permissions, as stored in IAM (moto evaluates neither: see the top).
    let role = admin(
        &moto,
        &["iam", "get-role", "--role-name", "kelev-eu-central-1-ci"],
    );
    assert_eq!(
        role["Role"]["AssumeRolePolicyDocument"],
        serde_json::json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Principal": {"Federated": provider_arn},
                "Condition": {
                    "StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"},
                    "StringLike": {"token.actions.githubusercontent.com:sub": format!("repo:{REPOSITORY}:ref:refs/tags/*")},
                },
            }],
        })
    );
    let policy = admin(
        &moto,
        &[
            "iam",
            "get-role-policy",
            "--role-name",
            "kelev-eu-central-1-ci",
            "--policy-name",
            "ssh-ingress",
        ],
    );
    let statements = policy["PolicyDocument"]["Statement"].as_array().unwrap();
    assert_eq!(statements.len(), 2, "{policy}");
    let mut actions: Vec<&str> = statements[0]["Action"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    actions.sort();
    assert_eq!(
        actions,
        [
            "ec2:AuthorizeSecurityGroupIngress",
            "ec2:RevokeSecurityGroupIngress"
        ]
    );
    assert_eq!(
        statements[0]["Resource"],
        serde_json::json!([
            group_arn,
            "arn:aws:ec2:eu-central-1:123456789012:security-group-rule/*"
        ])
    );
    assert_eq!(
        (&statements[1]["Action"], &statements[1]["Resource"]),
        (&"ec2:DescribeSecurityGroupRules".into(), &"*".into())
    );

    // What the group holds before the run: an allowed_ssh_cidrs rule, a rule an earlier run left
    // three hours ago, one a job of another run opened five minutes ago (still running), and one
    // that says it is CI's without a time.
    let allowed = (
        "203.0.113.7/32".to_owned(),
        "SSH from an allowed source (allowed_ssh_cidrs)".to_owned(),
    );
    let stale = (
        "192.0.2.10/32".to_owned(),
        format!("kelev-ci run=5/1 job=deploy/a at={}", minutes_ago(180)),
    );
    let concurrent = (
        "192.0.2.11/32".to_owned(),
        format!("kelev-ci run=6/2 job=deploy/b at={}", minutes_ago(5)),
    );
    let timeless = ("192.0.2.12/32".to_owned(), "kelev-ci by hand".to_owned());
    for (cidr, description) in [&allowed, &stale, &concurrent, &timeless] {
        add_rule(&moto, &group, cidr, description);
    }
    let other_group = admin(
        &moto,
        &[
            "ec2",
            "create-security-group",
            "--group-name",
            "another-host",
            "--description",
            "another host",
        ],
    )["GroupId"]
        .as_str()
        .unwrap()
        .to_owned();

    // configure-aws-credentials: the role, assumed with a web identity token (moto reads none).
    let credentials = moto
        .aws()
        .args(["sts", "assume-role-with-web-identity", "--role-arn"])
        .arg(&role_arn)
        .args(["--role-session-name", "kelev-plan-7"])
        .args([
            "--web-identity-token",
            "github-oidc-token-moto-does-not-read",
        ])
        .run()
        .ok()
        .json()["Credentials"]
        .clone();
    let role_env = |key: &str| credentials[key].as_str().unwrap().to_owned();
    let checkip = checkip();
    let runner = |address: &str, job: &str, name: Option<&str>| -> Vec<(String, String)> {
        let path = format!(
            "{}:/usr/local/bin:/usr/bin:/bin",
            Moto::cli().parent().unwrap().display()
        );
        let mut env: Vec<(String, String)> = [
            ("PATH", path),
            ("HOME", tmp.path().display().to_string()),
            ("AWS_ACCESS_KEY_ID", role_env("AccessKeyId")),
            ("AWS_SECRET_ACCESS_KEY", role_env("SecretAccessKey")),
            ("AWS_SESSION_TOKEN", role_env("SessionToken")),
            ("AWS_REGION", Moto::REGION.to_owned()),
            ("AWS_DEFAULT_REGION", Moto::REGION.to_owned()),
            // The only redirections: AWS to moto, checkip.amazonaws.com to its stand-in.
            ("AWS_ENDPOINT_URL", moto.endpoint()),
            ("KELEV_CHECKIP_URL", format!("{checkip}/{address}")),
            ("KELEV_SECURITY_GROUP_ID", group.clone()),
            ("GITHUB_RUN_ID", "7".to_owned()),
            ("GITHUB_RUN_ATTEMPT", "1".to_owned()),
            ("GITHUB_JOB", job.to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        if let Some(name) = name {
            env.push(("NAME".into(), name.into()));
        }
        env
    };
    let workflow = YamlLoader::load_from_str(
        &std::fs::read_to_string(repo().join(".github/workflows/deploy.yml")).unwrap(),
    )
    .unwrap()
    .remove(0);
    check_job_shape(&workflow, "plan", None);
    check_job_shape(
        &workflow,
        "deploy",
        Some("steps.decide.outputs.deploy == 'true'"),
    );
    // A rule is stale only once no job can still be running.
    let script = std::fs::read_to_string(repo().join("scripts/ci/ssh-ingress")).unwrap();
    let stale_minutes: i64 = script
        .lines()
        .find_map(|l| l.strip_prefix("readonly STALE_MINUTES="))
        .unwrap()
        .parse()
        .unwrap();
    for (name, job) in workflow["jobs"].as_hash().unwrap() {
        let timeout = job["timeout-minutes"].as_i64().unwrap();
        assert!(timeout < stale_minutes, "{name:?}: {timeout} minutes");
    }

    // The plan job: sweep, open, (ssh), close.
    let plan = Job {
        workflow: &workflow,
        name: "plan",
        env: runner("198.51.100.20", "plan", None),
    };
    let out = plan.run("sweep").ok();
    assert!(out.stdout.contains("swept 1 rule(s)"), "{}", out.report());
    assert!(
        out.stdout.contains("has no time; left alone"),
        "{}",
        out.report()
    );
    let mut before = vec![allowed.clone(), concurrent.clone(), timeless.clone()];
    before.sort();
    assert_eq!(ingress(&moto, &group), before);
    plan.run("open").ok();
    let mut rules = ingress(&moto, &group);
    rules.retain(|rule| !before.contains(rule));
    assert_eq!(rules.len(), 1, "{rules:?}");
    assert_eq!(rules[0].0, "198.51.100.20/32");
    assert!(
        rules[0].1.starts_with("kelev-ci run=7/1 job=plan at="),
        "{rules:?}"
    );
    plan.run("close").ok();
    assert_eq!(ingress(&moto, &group), before);

    // Two deploy jobs in parallel, each on its own runner, and a third on the address of the
    // second (GitHub does not promise distinct addresses): it finds the port open and leaves
    // the rule to the job that made it.
    let jobs = [
        ("198.51.100.21", "a"),
        ("198.51.100.22", "b"),
        ("198.51.100.22", "c"),
    ]
    .map(|(address, name)| Job {
        workflow: &workflow,
        name: "deploy",
        env: runner(address, "deploy", Some(name)),
    });
    for job in &jobs {
        job.run("open").ok();
    }
    let opened = |address: &str, name: &str| {
        let rules = ingress(&moto, &group);
        rules
            .iter()
            .find(|(cidr, _)| cidr == &format!("{address}/32"))
            .is_some_and(|(_, d)| d.starts_with(&format!("kelev-ci run=7/1 job=deploy/{name} at=")))
    };
    assert!(opened("198.51.100.21", "a") && opened("198.51.100.22", "b"));
    assert_eq!(ingress(&moto, &group).len(), before.len() + 2);
    jobs[0].run("close").ok();
    assert!(!opened("198.51.100.21", "a") && opened("198.51.100.22", "b"));
    jobs[2]
        .run("close")
        .ok()
        .stdout_has("closed 0 rule(s) of this job");
    assert!(opened("198.51.100.22", "b"));
    jobs[1].run("close").ok();
    assert_eq!(ingress(&moto, &group), before);
    // The other host's group was never touched.
    assert_eq!(ingress(&moto, &other_group), []);

    // IAM enforcement on: the role reads rules, and may do nothing outside its policy. Its own
    // group is refused as well: moto's gap (see the top), asserted so that a moto that learns
    // resources fails here and this part can show that the other group stays closed.
    post_auth(&moto, "0");
    let as_role = |args: &[&str]| -> Output {
        let mut run = Run::new(Moto::cli()).args(["--output", "json"]).args(args);
        for (k, v) in &jobs[0].env {
            run = run.env(k, v);
        }
        run.run()
    };
    let filter = format!("Name=group-id,Values={group}");
    as_role(&["ec2", "describe-security-group-rules", "--filters", &filter]).ok();
    let permissions = r#"[{"IpProtocol":"tcp","FromPort":22,"ToPort":22,"IpRanges":[{"CidrIp":"198.51.100.30/32"}]}]"#;
    for target in [&other_group, &group] {
        as_role(&[
            "ec2",
            "authorize-security-group-ingress",
            "--group-id",
            target,
            "--ip-permissions",
            permissions,
        ])
        .code(255)
        .stderr_has("(AccessDenied)");
    }
    as_role(&[
        "ec2",
        "create-security-group",
        "--group-name",
        "x",
        "--description",
        "x",
    ])
    .code(255)
    .stderr_has("(AccessDenied)");
    as_role(&["iam", "list-roles"])
        .code(255)
        .stderr_has("(AccessDenied)");
    post_auth(&moto, "inf");
    assert_eq!(ingress(&moto, &group), before);
}
