//! Connection-level attacks on the deploy key, through the real sshd: forwarding to the Docker
//! socket and elsewhere, a pty, scp and sftp, environment smuggling, oversize commands. Each is
//! refused, and none changes anything under the agent's root.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use kelev_e2e::{poll, wait_until, Port, Run, World};

/// Run `ssh -N <flag> 127.0.0.1:<port><target>` on a held local port, connect to that local
/// end and send `request`; returns what came back, then stops ssh. Panics if the local end
/// never listens: then nothing was tried.
#[track_caller]
fn through_forward(world: &World, flag: &str, target: &str, request: &[u8]) -> Vec<u8> {
    let port = Port::hold();
    let spec = format!("127.0.0.1:{}{target}", port.number());
    let mut ssh = world.ssh_base("ci").args(["-N", flag, &spec]).spawn();
    let mut stream = poll(Duration::from_secs(5), Duration::from_millis(100), || {
        TcpStream::connect(("127.0.0.1", port.number()))
    })
    .unwrap_or_else(|last| panic!("the local end of `ssh {flag} {spec}` never listened: {last:?}"));
    stream
        .set_read_timeout(Some(Duration::from_secs(3)))
        .unwrap();
    let _ = stream.write_all(request);
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let _ = ssh.kill();
    let _ = ssh.wait();
    answer
}

/// sshd's own log of this world.
fn sshd_log(world: &World) -> String {
    std::fs::read_to_string(world.dir.join("etc/sshd.log")).unwrap()
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
    let answer = through_forward(
        &world,
        "-L",
        ":/var/run/docker.sock",
        b"GET /version HTTP/1.0\r\nHost: docker\r\n\r\n",
    );
    assert!(
        !String::from_utf8_lossy(&answer).contains("ApiVersion"),
        "reached the Docker API"
    );
    let log = sshd_log(&world);
    assert!(
        log.contains("refused streamlocal port forward"),
        "sshd did not refuse the forward to the socket:\n{log}"
    );

    // -L to a TCP port on the host (sshd itself).
    let sshd = format!(":127.0.0.1:{}", world.ssh_port());
    let answer = through_forward(&world, "-L", &sshd, b"");
    assert!(
        !String::from_utf8_lossy(&answer).starts_with("SSH-"),
        "reached sshd through the tunnel"
    );
    let log = sshd_log(&world);
    assert!(
        log.lines()
            .any(|l| l.starts_with("refused local port forward")
                && l.ends_with(&format!("target 127.0.0.1 port {}", world.ssh_port()))),
        "sshd did not refuse the forward to its own port:\n{log}"
    );

    // -D (SOCKS): a CONNECT to the host's sshd must not go through.
    let target = world.ssh_port().to_be_bytes();
    let mut hello = vec![5, 1, 0, 5, 1, 0, 1, 127, 0, 0, 1];
    hello.extend_from_slice(&target);
    let answer = through_forward(&world, "-D", "", &hello);
    assert!(
        !String::from_utf8_lossy(&answer).contains("SSH-"),
        "SOCKS reached sshd"
    );
    // The greeting's answer (5, 0), then a CONNECT reply whose status (its second byte,
    // answer[3]) is 0 only on success.
    assert!(
        answer.len() < 4 || answer[3] != 0 || answer[1] != 0,
        "SOCKS CONNECT succeeded: {answer:?}"
    );

    // -R: the server refuses to listen. Port 0 lets the server pick one; were the forward
    // granted, ssh -N would stay, announcing "Allocated port". (-v: the harness's ssh is -q,
    // which hides the client's errors.)
    let mut remote = world
        .ssh_base("ci")
        .args([
            "-v",
            "-N",
            "-o",
            "ExitOnForwardFailure=yes",
            "-R",
            "127.0.0.1:0:127.0.0.1:22",
        ])
        .spawn();
    let status = wait_until(
        "ssh -R to give up on the refused forward",
        Duration::from_secs(20),
        || remote.try_wait().unwrap(),
    );
    let mut stderr = String::new();
    remote
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert_eq!(status.code(), Some(255), "{stderr}");
    assert!(
        stderr.contains("remote port forwarding failed for listen port 0"),
        "{stderr}"
    );

    // A pty is refused (PermitTTY no, and `restrict`): with -tt the client insists on one, so
    // the session ends before the command runs.
    world
        .ssh_base("ci")
        .args(["-v", "-tt", "version"])
        .run()
        .code(255)
        .stderr_has("PTY allocation request failed")
        .stdout_lacks("kelev-agent");

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

    // Environment smuggling: sshd passes on only LANG and LC_* (AcceptEnv, as docs/security.md
    // sets it, and as this test's sshd_config does), so through sshd these never reach the
    // agent, whatever it does. Handed to the agent directly, as if sshd had passed them: its
    // children get a clean environment, or DOCKER_HOST would send `status` to an engine that
    // is not there.
    for (name, value) in [
        ("DOCKER_HOST", "tcp://192.0.2.1:2375"),
        ("DOCKER_CONTEXT", "nonexistent"),
        ("GIT_DIR", "/etc"),
        ("LD_PRELOAD", "/nonexistent/evil.so"),
        ("HOME", "/tmp"),
    ] {
        let out = world
            .local(&["status", &site.name, "--json"])
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
