//! moto, an emulated AWS, on a loopback port: the CloudWatch Logs endpoint of a private
//! engine's awslogs driver, the CloudWatch endpoint of bootstrap/probe.sh, and the AWS that
//! Terraform applies the host module to ([`Moto::for_terraform`], [`crate::terraform`]).
//! `scripts/setup` installs it, with the AWS CLI these tests query it through, into `MOTO_VENV`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::command::Run;
use crate::port::Port;
use crate::wait::wait_until;

/// Keep in step with scripts/setup (MOTO_VERSION).
const MOTO_VENV: &str = "/usr/local/lib/kelev-tools/moto-5.2.5";

/// A moto_server, stopped when dropped.
pub struct Moto {
    pub port: u16,
    /// Held for the whole life of this, restarts included (see [`Port`]).
    _held: Port,
    child: Option<Child>,
    log: PathBuf,
}

impl Moto {
    /// moto accepts any credentials; the engine and the CLI must send some.
    pub const CREDENTIALS: [(&'static str, &'static str); 2] = [
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
    ];
    pub const REGION: &'static str = "eu-central-1";

    /// The AWS CLI of moto's venv (the one bootstrap/probe.sh is tested with).
    pub fn cli() -> PathBuf {
        Path::new(MOTO_VENV).join("bin/aws")
    }

    pub fn start(dir: &Path) -> Moto {
        Moto::start_with(
            dir,
            Command::new(Path::new(MOTO_VENV).join("bin/moto_server")),
        )
    }

    /// The venv's Python, for a launcher of moto that puts in what moto's API cannot.
    pub fn python() -> PathBuf {
        Path::new(MOTO_VENV).join("bin/python")
    }

    /// moto for Terraform's AWS provider: the AWS managed IAM policies the host module attaches
    /// (moto gap: loaded only with `MOTO_IAM_LOAD_MANAGED_POLICIES=true`), and `images` as the
    /// only AMIs (moto gap: it knows no AMI id it was not given through `MOTO_AMIS_PATH`).
    pub fn for_terraform(dir: &Path, images: &[Image]) -> Moto {
        std::fs::create_dir_all(dir).unwrap();
        let amis = dir.join("amis.json");
        let list: Vec<serde_json::Value> = images.iter().map(Image::moto_json).collect();
        std::fs::write(&amis, serde_json::to_string_pretty(&list).unwrap()).unwrap();
        let mut server = Command::new(Path::new(MOTO_VENV).join("bin/moto_server"));
        server
            .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
            .env("MOTO_AMIS_PATH", &amis);
        Moto::start_with(dir, server)
    }

    /// moto started by `server`, which gets `-H 127.0.0.1 -p PORT` after its own arguments:
    /// for a test that must bridge a gap of moto before it serves (each use says which).
    pub fn start_with(dir: &Path, server: Command) -> Moto {
        std::fs::create_dir_all(dir).unwrap();
        let held = Port::hold();
        let mut moto = Moto {
            port: held.number(),
            _held: held,
            child: None,
            log: dir.join("moto.log"),
        };
        moto.up(server);
        moto
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The `aws` CLI of the venv, against this moto.
    pub fn aws(&self) -> Run {
        let mut run = Run::new(Moto::cli())
            .args([
                "--region",
                Moto::REGION,
                "--output",
                "json",
                "--endpoint-url",
            ])
            .arg(self.endpoint());
        for (k, v) in Moto::CREDENTIALS {
            run = run.env(k, v);
        }
        run
    }

    fn up(&mut self, mut server: Command) {
        let log = std::fs::File::create(&self.log).unwrap();
        let child = server
            .args(["-H", "127.0.0.1", "-p", &self.port.to_string()])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("moto_server (scripts/setup installs it)");
        self.child = Some(child);
        let port = self.port;
        let log = &self.log;
        wait_until(
            &format!("moto_server to listen on port {port}"),
            Duration::from_secs(60),
            || {
                std::net::TcpStream::connect(("127.0.0.1", port)).map_err(|e| {
                    format!("{e}\n{}", std::fs::read_to_string(log).unwrap_or_default())
                })
            },
        );
    }

    /// Stop it, as an unreachable CloudWatch.
    pub fn down(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The messages of one log stream, oldest first; empty if the stream does not exist.
    pub fn log_events(&self, group: &str, stream: &str) -> Vec<String> {
        let out = self
            .aws()
            .args(["logs", "get-log-events", "--start-from-head"])
            .args(["--log-group-name", group, "--log-stream-name", stream])
            .run();
        if out.code != Some(0) {
            return Vec::new();
        }
        out.json()["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["message"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// The names of a log group's streams.
    pub fn log_streams(&self, group: &str) -> Vec<String> {
        let out = self
            .aws()
            .args(["logs", "describe-log-streams", "--log-group-name", group])
            .run()
            .ok();
        out.json()["logStreams"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["logStreamName"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// Every datapoint of a metric with the dimension Project=`project`, as their Minimum,
    /// over the last hour.
    pub fn datapoints(&self, namespace: &str, metric: &str, project: &str) -> Vec<f64> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let out = self
            .aws()
            .args([
                "cloudwatch",
                "get-metric-statistics",
                "--namespace",
                namespace,
            ])
            .args(["--metric-name", metric, "--statistics", "Minimum"])
            .args(["--period", "60", "--dimensions"])
            .arg(format!("Name=Project,Value={project}"))
            .arg("--start-time")
            .arg((now - 3600).to_string())
            .arg("--end-time")
            .arg((now + 60).to_string())
            .run()
            .ok();
        out.json()["Datapoints"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["Minimum"].as_f64().unwrap())
            .collect()
    }
}

/// An AMI as moto describes it (to `DescribeImages`, and so to the provider's `aws_ami`).
pub struct Image {
    pub id: String,
    pub owner: String,
    pub name: String,
}

impl Image {
    /// Canonical's account, the owner of every official Ubuntu AMI.
    pub const CANONICAL: &'static str = "099720109477";
    /// Amazon's account for Amazon Linux.
    pub const AMAZON: &'static str = "137112412989";

    /// `id` as Canonical's Ubuntu 22.04 amd64 image of 2023-12-07.
    pub fn jammy(id: &str) -> Image {
        Image {
            id: id.to_owned(),
            owner: Image::CANONICAL.to_owned(),
            name: "ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-20231207".to_owned(),
        }
    }

    /// `id` as an Amazon Linux 2 image, what a wrong id in a region mapping may turn out to be.
    pub fn amazon_linux(id: &str) -> Image {
        Image {
            id: id.to_owned(),
            owner: Image::AMAZON.to_owned(),
            name: "amzn2-ami-kernel-5.10-hvm-2.0.20231116.0-x86_64-gp2".to_owned(),
        }
    }

    /// One entry of a `MOTO_AMIS_PATH` file (moto's `gen_moto_amis` shape).
    fn moto_json(&self) -> serde_json::Value {
        serde_json::json!({
            "ami_id": self.id, "name": self.name, "description": self.name,
            "owner_id": self.owner, "public": true, "state": "available",
            "architecture": "x86_64", "virtualization_type": "hvm", "hypervisor": "xen",
            "image_type": "machine", "platform": null, "root_device_type": "ebs",
            "root_device_name": "/dev/sda1", "sriov": "simple",
        })
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        self.down();
    }
}
