//! Connection-level attacks on the deploy key, through the real sshd: forwarding to the Docker
//! socket and elsewhere, a pty, scp and sftp, environment smuggling, oversize commands. Each is
//! refused, and none changes anything under the agent's root.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use kelev_e2e::{Run, World};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Connect to a local forward and try to talk to what is behind it; returns what came back.
fn through(port: u16, request: &[u8]) -> Option<Vec<u8>> {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) {
            stream
                .set_read_timeout(Some(Duration::from_secs(3)))
                .unwrap();
            let _ = stream.write_all(request);
            let mut answer = Vec::new();
            let _ = stream.read_to_end(&mut answer);
            return Some(answer);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    None
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Docker, sshd and lighttpd: run scripts/test (cargo test --features e2e)"
)]
fn forwarding_ptys_and_file_transfer_are_refused() {
    let (world, site) = World::with_site("fun", "still here\n");
    world.ssh(format!("deploy {}", site.name)).run().ok();
    let before = world.snapshot();

    // -L to the Docker socket: the listener opens on the client, but sshd refuses the channel.
    let port = free_port();
    let mut tunnel = world
        .ssh_base("ci")
        .args([
            "-N",
            "-L",
            &format!("127.0.0.1:{port}:/var/run/docker.sock"),
        ])
        .spawn();
    let answer =
        through(port, b"GET /version HTTP/1.0\r\nHost: docker\r\n\r\n").unwrap_or_default();
    assert!(
        !String::from_utf8_lossy(&answer).contains("ApiVersion"),
        "reached the Docker API"
    );
    let _ = tunnel.kill();
    let _ = tunnel.wait();

    // -L to a TCP port on the host (sshd itself).
    let port = free_port();
    let mut tunnel = world
        .ssh_base("ci")
        .args([
            "-N",
            "-L",
            &format!("127.0.0.1:{port}:127.0.0.1:{}", world.ssh_port()),
        ])
        .spawn();
    let answer = through(port, b"").unwrap_or_default();
    assert!(
        !String::from_utf8_lossy(&answer).starts_with("SSH-"),
        "reached sshd through the tunnel"
    );
    let _ = tunnel.kill();
    let _ = tunnel.wait();

    // -D (SOCKS): a CONNECT to the host's sshd must not go through.
    let port = free_port();
    let mut socks = world
        .ssh_base("ci")
        .args(["-N", "-D", &format!("127.0.0.1:{port}")])
        .spawn();
    let target = world.ssh_port().to_be_bytes();
    let mut hello = vec![5, 1, 0, 5, 1, 0, 1, 127, 0, 0, 1];
    hello.extend_from_slice(&target);
    let answer = through(port, &hello).unwrap_or_default();
    assert!(
        !String::from_utf8_lossy(&answer).contains("SSH-"),
        "SOCKS reached sshd"
    );
    assert!(
        answer.len() < 4 || answer[3] != 0 || answer[1] != 0,
        "SOCKS CONNECT succeeded: {answer:?}"
    );
    let _ = socks.kill();
    let _ = socks.wait();

    // -R: the server refuses to listen.
    let port = free_port();
    let out = world
        .ssh_base("ci")
        .args([
            "-N",
            "-o",
            "ExitOnForwardFailure=yes",
            "-R",
            &format!("127.0.0.1:{port}:127.0.0.1:22"),
        ])
        .run();
    assert_ne!(out.code, Some(0), "{}", out.report());
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "a remote forward listens"
    );

    // A pty is refused (PermitTTY no, and `restrict`): the session either runs the command
    // without one or ends; it never gets a terminal.
    let out = world.ssh_base("ci").arg("-tt").arg("version").run();
    assert!(
        out.code == Some(255) || out.stdout.contains("kelev-agent"),
        "{}",
        out.report()
    );
    let log = std::fs::read_to_string(world.dir.join("etc/sshd.log")).unwrap();
    assert!(
        !log.contains("Allocated pty"),
        "sshd allocated a pty:\n{log}"
    );

    // Agent and X11 forwarding requests change nothing about what runs.
    world
        .ssh_base("ci")
        .args(["-A", "-X"])
        .arg(format!("status {}", site.name))
        .run()
        .ok();

    // scp (SFTP protocol, and the legacy one) and sftp.
    let key = world.client_key("ci");
    let port_arg = world.ssh_port().to_string();
    let known = format!(
        "UserKnownHostsFile={}",
        world.dir.join("etc/known_hosts").display()
    );
    for legacy in [false, true] {
        let mut scp = Run::new("scp")
            .args(["-q", "-o", "BatchMode=yes", "-o", &known, "-i"])
            .arg(&key)
            .args(["-P", &port_arg]);
        if legacy {
            scp = scp.arg("-O");
        }
        let target = world.root.join("planted");
        let out = scp
            .arg("/etc/hostname")
            .arg(format!("kelev-test@127.0.0.1:{}", target.display()))
            .run();
        assert_ne!(out.code, Some(0), "{}", out.report());
        assert!(!target.exists(), "scp wrote into the agent root");
    }
    let out = Run::new("sftp")
        .args(["-q", "-b", "-", "-o", "BatchMode=yes", "-o", &known, "-i"])
        .arg(&key)
        .args(["-P", &port_arg, "kelev-test@127.0.0.1"])
        .stdin("ls /\n")
        .run();
    assert_ne!(out.code, Some(0), "{}", out.report());

    // Environment smuggling: sshd accepts only LANG and LC_*; the agent clears the rest anyway.
    for (name, value) in [
        ("DOCKER_HOST", "tcp://192.0.2.1:2375"),
        ("GIT_DIR", "/etc"),
        ("LD_PRELOAD", "/nonexistent/evil.so"),
        ("HOME", "/tmp"),
    ] {
        let out = world
            .ssh_base("ci")
            .args(["-o", &format!("SendEnv={name}")])
            .arg(format!("status {} --json", site.name))
            .env(name, value)
            .run()
            .ok();
        assert_eq!(out.json()["projects"][0]["state"], "running", "{name}");
    }

    // 1 MiB of command: ssh joins its arguments with spaces (one argument may not exceed
    // 128 KiB on Linux).
    let chunk = "a".repeat(100 * 1024);
    let out = world
        .ssh_base("ci")
        .arg("deploy")
        .args(std::iter::repeat_n(chunk.as_str(), 10))
        .run();
    assert!(
        out.code == Some(64) || out.code == Some(255),
        "{:?}",
        out.code
    );

    assert_eq!(
        world.snapshot(),
        before,
        "a connection attempt changed files under the root"
    );
    assert_eq!(world.page(&site.name), "still here\n");
    // Everything that reached the agent is in the audit log, with the refused ones.
    let audit = world.audit_lines();
    assert!(
        audit.iter().any(|l| l["exit_code"] == 64),
        "refusals are audited"
    );
}
