//! Projects with state: a `./data` bind and a named volume written by the web service at each
//! start, and a database-like service from an image no commit touches. Data survives every
//! deploy, rollback, prune and `remove`; the database is started once and keeps its container.

use kelev_e2e::{docker, Remote, Run, World};

/// The compose file a hobbyist copies: a built app with a `./data` bind and a named volume, a
/// database from a prebuilt image with a named volume of its own.
const COMPOSE: &str = "\
services:
  web:
    build: .
    init: true
    volumes: [\"./data:/app/data\", \"counts:/app/counts\"]
  db:
    image: kelev-e2e-db:1
    init: true
    volumes: [\"dbdata:/var/lib/db\"]
volumes:
  counts: {}
  dbdata: {}
";

/// The web service notes each start in the bind and in the named volume, then serves.
const START: &str = "\
echo start >> /app/data/starts
echo start >> /app/counts/starts
exec /bin/busybox httpd -f -p 80 -h /www
";

const DOCKERFILE: &str = "\
FROM scratch
COPY busybox /bin/busybox
COPY www /www
COPY start.sh /start.sh
CMD [\"/bin/busybox\", \"sh\", \"/start.sh\"]
";

/// The "database": an image built here once (none can be pulled), which notes each start.
fn database_image() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy("/bin/busybox", dir.path().join("busybox")).unwrap();
    std::fs::write(
        dir.path().join("Dockerfile"),
        "FROM scratch\nCOPY busybox /bin/busybox\nCMD [\"/bin/busybox\", \"sh\", \"-c\", \
         \"/bin/busybox mkdir -p /var/lib/db && echo start >> /var/lib/db/starts && exec /bin/busybox sleep 100000\"]\n",
    )
    .unwrap();
    Run::new("docker")
        .args(["build", "-q", "-t", "kelev-e2e-db:1"])
        .arg(dir.path())
        .run()
        .ok();
}

/// A site turned into the stateful fixture, with a seed file in its `data/`.
pub(crate) fn stateful_site(world: &mut World) -> Remote {
    database_image();
    let site = world.site("state", "page 1\n");
    site.write("compose.yaml", COMPOSE);
    site.write("Dockerfile", DOCKERFILE);
    site.write("start.sh", START);
    site.write("data/seed.txt", "from the repository\n");
    site.commit("stateful");
    site
}

pub(crate) fn lines(text: &str) -> usize {
    text.lines().filter(|l| *l == "start").count()
}

/// Four deploys that change only the page, a rollback, a deploy that prunes: `./data` and
/// the named volume hold one line per start of `web`, the database started once and kept
/// its container, the seed arrived once; then `remove` and adding the project back finds
/// all of it.
#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Docker, sshd and lighttpd: run scripts/test (cargo test --features e2e)"
)]
fn data_and_the_database_survive_deploys_rollback_prune_and_remove() {
    let mut world = World::new();
    world.write_config(&serde_json::json!({"keep_releases": 2}));
    let site = stateful_site(&mut world);
    let name = site.name.clone();
    let mut entry = world.entry(&site);
    entry["service"] = "web".into();
    world.install_manifest(&world.manifest(&[entry.clone()]));
    let data = world.data_dir(&name).join("data");

    world
        .ssh(format!("deploy {name}"))
        .run()
        .ok()
        .stdout_has(&format!("`./data` of `web` lives in `{}`", data.display()))
        .stdout_has("(seeded from the repository)");
    let db = world.container(&name, "db");
    let mut starts = 1;
    let check = |starts: usize, step: &str| {
        let bind = std::fs::read_to_string(data.join("starts")).unwrap();
        assert_eq!(lines(&bind), starts, "./data after {step}: {bind:?}");
        let web = world.container(&name, "web");
        let volume = docker(&["exec", &web, "/bin/busybox", "cat", "/app/counts/starts"]);
        assert_eq!(lines(&volume), starts, "the named volume after {step}");
        assert_eq!(
            world.container(&name, "db"),
            db,
            "the database kept its container after {step}"
        );
        let db_starts = docker(&["exec", &db, "/bin/busybox", "cat", "/var/lib/db/starts"]);
        assert_eq!(
            lines(&db_starts),
            1,
            "the database started once, after {step}"
        );
        assert_eq!(
            std::fs::read_to_string(data.join("seed.txt")).unwrap(),
            "from the repository\n",
            "the seed, after {step}"
        );
    };
    check(starts, "the first deploy");

    for n in 2..=4 {
        site.write("www/index.html", &format!("page {n}\n"));
        let commit = site.commit(&format!("page {n}"));
        let out = world.ssh(format!("deploy {name} {commit}")).run().ok();
        out.stdout_lacks("lives in");
        starts += 1;
        check(starts, &format!("deploy {n}"));
        assert_eq!(world.page(&name), format!("page {n}\n"));
    }

    world.ssh(format!("rollback {name}")).run().ok();
    starts += 1;
    check(starts, "the rollback");
    assert_eq!(world.page(&name), "page 3\n");

    // keep_releases is 2: this deploy prunes the oldest releases, and nothing of ./data goes.
    site.write("www/index.html", "page 5\n");
    let five = site.commit("page 5");
    world.ssh(format!("deploy {name} {five}")).run().ok();
    starts += 1;
    check(starts, "the deploy that prunes");
    let kept = std::fs::read_dir(world.releases_dir(&name))
        .unwrap()
        .count();
    assert!(kept <= 4, "old releases were pruned ({kept} left)");

    // On purpose, everything: the database too.
    world
        .ssh(format!("rebuild {name} --force-recreate"))
        .run()
        .ok();
    assert_ne!(
        world.container(&name, "db"),
        db,
        "--force-recreate recreates the database"
    );
    starts += 1;

    // Taken down and added back: the bind and both named volumes are found again.
    world.install_manifest(&world.manifest(&[]));
    world.ssh(format!("remove {name}")).run().ok();
    world.install_manifest(&world.manifest(&[entry]));
    world
        .ssh(format!("deploy {name}"))
        .run()
        .ok()
        .stdout_lacks("lives in");
    starts += 1;
    let bind = std::fs::read_to_string(data.join("starts")).unwrap();
    assert_eq!(lines(&bind), starts, "./data after remove and deploy");
    let web = world.container(&name, "web");
    let volume = docker(&["exec", &web, "/bin/busybox", "cat", "/app/counts/starts"]);
    assert_eq!(
        lines(&volume),
        starts,
        "the named volume after remove and deploy"
    );
    let db = world.container(&name, "db");
    let db_starts = docker(&["exec", &db, "/bin/busybox", "cat", "/var/lib/db/starts"]);
    assert_eq!(
        lines(&db_starts),
        3,
        "the database volume kept its earlier starts"
    );
}

/// Copy `examples/<example>` over a site's working tree, as examples/README.md tells a user to.
pub(crate) fn from_example(site: &Remote, example: &str) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples")
        .join(example);
    Run::new("cp")
        .arg("-a")
        .arg(dir.join("."))
        .arg(&site.work)
        .run()
        .ok();
    site.commit(example);
}

fn guestbook(world: &World, project: &str, post: Option<&str>) -> String {
    let url = format!("http://{}:80/cgi-bin/guestbook", world.ip(project, "web"));
    let mut curl = Run::new("curl").args(["-sS", "--max-time", "10"]);
    if let Some(entry) = post {
        curl = curl.args(["-L", "--data", &format!("entry={entry}")]);
    }
    curl.arg(url).run().ok().stdout
}

/// examples/guestbook: entries signed through its CGI script survive a deploy of new code
/// and a rollback; the repository's own first entry was the seed.
#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Docker, sshd and lighttpd: run scripts/test (cargo test --features e2e)"
)]
fn the_guestbook_example_keeps_its_entries() {
    let mut world = World::new();
    let site = world.site("guestbook", "replaced by the example\n");
    from_example(&site, "guestbook");
    let name = site.name.clone();
    world.install_manifest(&world.manifest(&[world.entry(&site)]));
    world
        .ssh(format!("deploy {name}"))
        .run()
        .ok()
        .stdout_has("(seeded from the repository)");
    assert_eq!(guestbook(&world, &name, None), "kelev was here first\n");
    assert_eq!(
        guestbook(&world, &name, Some("hello+from+the+test")),
        "kelev was here first\nhello from the test\n"
    );

    site.write(
        "www/index.html",
        "<!doctype html><title>Guestbook, new look</title>\n",
    );
    let new_look = site.commit("new look");
    world.ssh(format!("deploy {name} {new_look}")).run().ok();
    assert!(world.page(&name).contains("new look"));
    assert_eq!(
        guestbook(&world, &name, Some("after+the+deploy")),
        "kelev was here first\nhello from the test\nafter the deploy\n"
    );
    world.ssh(format!("rollback {name}")).run().ok();
    assert_eq!(
        guestbook(&world, &name, None),
        "kelev was here first\nhello from the test\nafter the deploy\n"
    );
}
