//! Hostile commands through the real sshd and forced command: each is refused with 64 or 77,
//! recorded in the audit log, and changes nothing.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;

use kelev_e2e::World;

const SHA: &str = "0123456789abcdef0123456789abcdef01234567";

/// (key, raw command, expected exit code)
fn hostile(fun: &str, other: &str) -> Vec<(&'static str, Vec<u8>, i32)> {
    let mut cases: Vec<(&'static str, Vec<u8>, i32)> = Vec::new();
    let mut refuse =
        |key: &'static str, cmd: &[u8], code: i32| cases.push((key, cmd.to_vec(), code));
    let f = |s: &str| s.replace("FUN", fun).replace("OTHER", other).into_bytes();
    // Shell metacharacters and command substitution.
    for cmd in [
        "deploy FUN; id",
        "deploy FUN && id",
        "deploy FUN || id",
        "deploy FUN | sh",
        "deploy FUN > /tmp/x",
        "deploy FUN < /etc/passwd",
        "deploy $(id)",
        "deploy `id`",
        "deploy FUN & ",
        "deploy ${HOME}",
        "deploy 'FUN'",
        "deploy \"FUN\"",
        "deploy FUN\\",
        "echo hi > /tmp/x",
        "rm -rf /",
        "sh -c id",
        "bash",
        "sh",
    ] {
        refuse("ci", &f(cmd), 64);
    }
    // Globs.
    for cmd in [
        "deploy *",
        "deploy FUN?",
        "deploy f[u]n",
        "deploy {FUN,OTHER}",
        "status ~",
    ] {
        refuse("ci", &f(cmd), 64);
    }
    // Newlines and other control characters.
    for cmd in [
        "deploy FUN\nid",
        "deploy FUN\rid",
        "deploy FUN\tOTHER",
        "deploy FUN\x07",
        "deploy FUN\x1b[31m",
        "deploy FUN\x7f",
        "status\x0b",
    ] {
        refuse("ci", &f(cmd), 64);
    }
    // Path traversal.
    for cmd in [
        "deploy ../../etc",
        "deploy ..",
        "deploy /etc/passwd",
        "logs ../../../etc/shadow",
        "deploy FUN/..",
    ] {
        refuse("ci", &f(cmd), 64);
    }
    // Leading dashes and option injection.
    for cmd in [
        "deploy -FUN",
        "deploy --upload-pack=touch",
        "deploy FUN --upload-pack=touch",
        "deploy FUN --config=/tmp/evil.json",
        "deploy FUN --key=ci",
        "clone FUN -c",
        "logs FUN --follow",
        "logs FUN --tail 99999",
        "logs FUN --tail -1",
        "status --all",
    ] {
        refuse("ci", &f(cmd), 64);
    }
    // Revision syntax instead of a full commit id.
    for cmd in [
        "deploy FUN HEAD~1",
        "deploy FUN @{u}",
        "deploy FUN HEAD",
        "deploy FUN main",
        "deploy FUN 0123abc",
        "deploy FUN 0123456789ABCDEF0123456789ABCDEF01234567",
        "deploy FUN 0123456789abcdef0123456789abcdef0123456^",
        "deploy FUN 0123456789abcdef0123456789abcdef012345678",
    ] {
        refuse("ci", &f(cmd), 64);
    }
    // Unicode look-alikes and invalid UTF-8.
    let cyrillic_a = f("deploy FUN")
        .into_iter()
        .chain("\u{430}".bytes())
        .collect::<Vec<u8>>();
    refuse("ci", &cyrillic_a, 64);
    refuse("ci", "deploy \u{ff46}\u{ff55}\u{ff4e}".as_bytes(), 64);
    refuse("ci", "deploy\u{a0}x".as_bytes(), 64);
    refuse("ci", b"deploy \xff\xfe", 64);
    refuse("ci", b"deploy \xc0\xae\xc0\xae", 64);
    // Oversize.
    refuse("ci", format!("deploy {}", "a".repeat(2000)).as_bytes(), 64);
    refuse("ci", format!("status {}", "a".repeat(64)).as_bytes(), 64);
    // Wrong arity, wrong case, empty words.
    for cmd in [
        "deploy",
        &format!("deploy FUN {SHA} extra"),
        "status FUN OTHER",
        "rebuild",
        "rebuild-all FUN",
        "DEPLOY FUN",
        "deploy  FUN",
        " deploy FUN",
        "deploy FUN ",
        "",
    ] {
        refuse("ci", &f(cmd), 64);
    }
    // Other protocols asked of the forced command.
    for cmd in [
        "git-upload-pack 'x.git'",
        "git-upload-pack x.git",
        "git-receive-pack x.git",
        "scp -t /tmp",
        "scp -f /etc/passwd",
        "internal-sftp",
        "/usr/lib/openssh/sftp-server",
    ] {
        refuse("ci", cmd.as_bytes(), 64);
    }
    // Another key's project, verbs a key lacks, unknown and missing keys.
    for cmd in [
        "deploy OTHER",
        "status OTHER",
        "rebuild FUN",
        "logs FUN",
        "clone FUN",
        "remove OTHER",
        "rebuild-all",
        "manifest-put",
        "manifest",
    ] {
        refuse("fun-ci", &f(cmd), 77);
    }
    for key in ["ghost", "nokey"] {
        refuse(key, b"status", 77);
        refuse(key, &f("deploy FUN"), 77);
    }
    cases
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Docker, sshd and lighttpd: run scripts/test (cargo test --features e2e)"
)]
fn hostile_commands_are_refused_logged_and_change_nothing() {
    let (world, sites) = World::with_sites(&[("fun", "serving\n"), ("other", "other\n")]);
    let [fun, other] = <[_; 2]>::try_from(sites).ok().unwrap();
    world.ssh(format!("deploy {}", fun.name)).run().ok();
    let before = world.snapshot();
    let status_before = world.ssh("status --json").run().ok().stdout;

    let cases = hostile(&fun.name, &other.name);
    assert!(cases.len() >= 40, "{} cases", cases.len());
    for (key, raw, code) in &cases {
        let audit_before = world.audit_lines().len();
        let out = world.ssh_as(key, OsString::from_vec(raw.clone())).run();
        assert_eq!(
            out.code,
            Some(*code),
            "{:?} with key {key}\n{}",
            String::from_utf8_lossy(raw),
            out.report()
        );
        assert!(
            out.stdout.is_empty(),
            "refusals print nothing on stdout: {}",
            out.report()
        );
        let error_lines: Vec<&str> = out
            .stderr
            .lines()
            .filter(|l| l.starts_with("error: "))
            .collect();
        assert_eq!(error_lines.len(), 1, "one error line: {}", out.report());
        let audit = world.audit_lines();
        assert_eq!(
            audit.len(),
            audit_before + 1,
            "audited: {:?}",
            String::from_utf8_lossy(raw)
        );
        let line = audit.last().unwrap();
        assert_eq!(line["exit_code"], *code);
        let expected_raw = raw[..raw.len().min(2048)].escape_ascii().to_string();
        assert!(
            line["command"].as_str().unwrap().starts_with(&expected_raw),
            "{line}"
        );
        assert!(!line["command"].as_str().unwrap().contains('\n'));
    }
    // A login without a command (an interactive shell attempt) and the sftp subsystem.
    world
        .ssh_base("ci")
        .run()
        .code(64)
        .stderr_has("no command given");
    world.ssh_base("ci").args(["-s", "sftp"]).run().code(64);

    assert_eq!(
        world.snapshot(),
        before,
        "refused commands changed files under the root"
    );
    assert_eq!(world.ssh("status --json").run().ok().stdout, status_before);
    assert_eq!(world.page(&fun.name), "serving\n");
}

/// The restricted key can do what its policy says, and sees only its project.
#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Docker, sshd and lighttpd: run scripts/test (cargo test --features e2e)"
)]
fn restricted_key_sees_only_its_project() {
    let (world, sites) = World::with_sites(&[("fun", "fun\n"), ("other", "other\n")]);
    let [fun, _other] = <[_; 2]>::try_from(sites).ok().unwrap();
    world
        .ssh_as("fun-ci", format!("deploy {}", fun.name))
        .run()
        .ok();
    let status = world.ssh_as("fun-ci", "status --json").run().ok().json();
    let names: Vec<&str> = status["projects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, [fun.name.as_str()]);
    world
        .ssh_as("fun-ci", "version")
        .run()
        .ok()
        .stdout_has("kelev-agent ");
    let audit = world.audit_lines();
    assert!(audit
        .iter()
        .any(|l| l["key"] == "fun-ci" && l["verb"] == "deploy" && l["result"] == "ok"));
}
