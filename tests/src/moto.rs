//! moto, an emulated AWS, on a loopback port: the CloudWatch Logs endpoint of a private
//! engine's awslogs driver and the CloudWatch endpoint of bootstrap/probe.sh. `scripts/setup`
//! installs it, with the AWS CLI these tests query it through, into `MOTO_VENV`.

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
        std::fs::create_dir_all(dir).unwrap();
        let held = Port::hold();
        let mut moto = Moto {
            port: held.number(),
            _held: held,
            child: None,
            log: dir.join("moto.log"),
        };
        moto.up();
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

    fn up(&mut self) {
        let log = std::fs::File::create(&self.log).unwrap();
        let child = Command::new(Path::new(MOTO_VENV).join("bin/moto_server"))
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

impl Drop for Moto {
    fn drop(&mut self) {
        self.down();
    }
}
