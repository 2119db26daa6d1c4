//! A rehearsal of `.github/workflows/deploy.yml`: its own `run:` steps, in order, with the
//! environment GitHub would give them, against this world's sshd, agent and git remotes.
//!
//! What cannot run here is stood in for, and nothing else: `uses:` steps (checkout, cache,
//! artifacts) become file copies, the `build` step is the binary cargo already built, the
//! `lookup` step's GitHub REST call becomes a look in a local artifacts directory, and the
//! notification webhook is a receiver on loopback.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use yaml_rust2::{Yaml, YamlLoader};

use kelev_e2e::{workspace_binary, Remote, Run, WebhookReceiver, World, DEPLOY_USER};

struct Step {
    id: String,
    run: Option<String>,
    condition: Option<String>,
    continue_on_error: bool,
    env: Vec<String>,
}

fn workflow() -> Yaml {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.github/workflows/deploy.yml");
    let text = std::fs::read_to_string(path).unwrap();
    YamlLoader::load_from_str(&text).unwrap().remove(0)
}

fn steps(workflow: &Yaml, job: &str) -> Vec<Step> {
    workflow["jobs"][job]["steps"]
        .as_vec()
        .unwrap()
        .iter()
        // Port 22's open, close and sweep steps call AWS: tests/e2e/ingress.rs runs them against
        // moto; this world's sshd is open to the rehearsal already.
        .filter(|step| {
            !step["run"]
                .as_str()
                .is_some_and(|run| run.contains("scripts/ci/ssh-ingress"))
        })
        .map(|step| Step {
            id: step["id"].as_str().unwrap_or("").to_owned(),
            run: step["run"].as_str().map(str::to_owned),
            condition: step["if"].as_str().map(str::to_owned),
            continue_on_error: step["continue-on-error"].as_bool() == Some(true),
            env: step["env"]
                .as_hash()
                .map(|env| env.keys().map(|k| k.as_str().unwrap().to_owned()).collect())
                .unwrap_or_default(),
        })
        .collect()
}

/// The runner: a workspace holding this repository's files and the built `kelev`.
struct Runner {
    dir: tempfile::TempDir,
    artifacts: PathBuf,
    base_env: BTreeMap<String, String>,
}

impl Runner {
    fn new(world: &World) -> Runner {
        let dir = tempfile::tempdir().unwrap();
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        std::fs::create_dir_all(dir.path().join("scripts/ci")).unwrap();
        for script in ["ssh-config", "clone-project", "notify"] {
            std::fs::copy(
                repo.join("scripts/ci").join(script),
                dir.path().join("scripts/ci").join(script),
            )
            .unwrap();
        }
        std::fs::create_dir_all(dir.path().join("home")).unwrap();
        let artifacts = dir.path().join("artifacts");
        std::fs::create_dir_all(&artifacts).unwrap();
        let mut base_env = BTreeMap::new();
        base_env.insert("HOME".into(), dir.path().join("home").display().to_string());
        base_env.insert("PATH".into(), "/usr/local/bin:/usr/bin:/bin".into());
        base_env.insert("GITHUB_REPOSITORY".into(), "owner/kelev".into());
        base_env.insert("GITHUB_SERVER_URL".into(), "https://github.com".into());
        base_env.insert("GITHUB_RUN_ID".into(), "7".into());
        // The secrets and variables docs/ci.md asks for, pointing at this world.
        base_env.insert("KELEV_HOST".into(), "127.0.0.1".into());
        base_env.insert(
            "KELEV_SSH_KEY".into(),
            std::fs::read_to_string(world.client_key("ci")).unwrap(),
        );
        base_env.insert("KELEV_KNOWN_HOSTS".into(), world.known_hosts());
        base_env.insert("KELEV_SSH_PORT".into(), world.ssh_port().to_string());
        base_env.insert("KELEV_SSH_USER".into(), DEPLOY_USER.into());
        base_env.insert("PROJECTS_TOKEN".into(), String::new());
        base_env.insert("KELEV_NOTIFY_URL".into(), String::new());
        Runner {
            dir,
            artifacts,
            base_env,
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Set the KELEV_NOTIFY_URL secret (empty: not set).
    fn notify_to(&mut self, url: &str) {
        self.base_env.insert("KELEV_NOTIFY_URL".into(), url.into());
    }

    /// A fresh job workspace: the repository's files and `bin/kelev` (the build step's product).
    fn job_dir(&self, manifest: &serde_json::Value) -> PathBuf {
        let job = self.path().join("job");
        let _ = std::fs::remove_dir_all(&job);
        std::fs::create_dir_all(job.join("bin")).unwrap();
        Run::new("cp")
            .arg("-r")
            .arg(self.path().join("scripts"))
            .arg(&job)
            .run()
            .ok();
        std::fs::copy(workspace_binary("kelev"), job.join("bin/kelev")).unwrap();
        std::fs::write(
            job.join("projects.json"),
            serde_json::to_vec_pretty(manifest).unwrap(),
        )
        .unwrap();
        job
    }

    /// Run one `run:` step as GitHub does (`bash --noprofile --norc -eo pipefail`); returns
    /// what it wrote to $GITHUB_OUTPUT.
    fn run(
        &self,
        job: &Path,
        step: &Step,
        env: &BTreeMap<String, String>,
    ) -> (kelev_e2e::Output, BTreeMap<String, String>) {
        let output_file = job.join("github_output");
        std::fs::write(&output_file, "").unwrap();
        for key in &step.env {
            assert!(
                env.contains_key(key) || self.base_env.contains_key(key),
                "step `{}` declares env {key} the rehearsal does not provide",
                step.id
            );
        }
        let mut run = Run::new("bash")
            .args(["--noprofile", "--norc", "-eo", "pipefail", "-c"])
            .arg(step.run.as_deref().unwrap())
            .env("GITHUB_OUTPUT", output_file.as_os_str())
            .env("GITHUB_STEP_SUMMARY", job.join("summary.md").as_os_str());
        for (k, v) in self.base_env.iter().chain(env) {
            run = run.env(k, v);
        }
        let out = run.dir(job).run();
        let outputs = std::fs::read_to_string(&output_file)
            .unwrap()
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        (out, outputs)
    }
}

#[derive(Debug, PartialEq)]
struct Outcome {
    /// Project -> `result` of its result file.
    results: BTreeMap<String, String>,
    /// Project -> `reason` of its result file (why it was deployed or skipped).
    reasons: BTreeMap<String, String>,
    summary: String,
    /// What the notify step printed.
    notify: String,
    deploy_calls: usize,
}

/// One tag push: the plan job, one deploy job per matrix entry, the summary job.
fn rehearse(runner: &Runner, manifest: &serde_json::Value) -> Outcome {
    let workflow = workflow();
    // The rehearsal runs steps as GitHub's `bash` shell does (-eo pipefail); the workflow must
    // ask for that shell, or GitHub would run them without pipefail.
    assert_eq!(workflow["defaults"]["run"]["shell"].as_str(), Some("bash"));
    let job = runner.job_dir(manifest);

    // plan
    let mut matrix = String::new();
    let plan_steps = steps(&workflow, "plan");
    assert!(
        plan_steps.iter().any(|s| s.id == "build"),
        "the plan job builds kelev"
    );
    for step in plan_steps
        .iter()
        .filter(|s| s.run.is_some() && s.id != "build")
    {
        let env = BTreeMap::from([("ONLY".to_owned(), String::new())]);
        let (out, outputs) = runner.run(&job, step, &env);
        out.ok();
        if step.id == "plan" {
            matrix = outputs["matrix"].clone();
        }
    }
    let matrix_json: serde_json::Value = serde_json::from_str(&matrix).unwrap();

    // deploy, one job per entry
    let deploy_steps = steps(&workflow, "deploy");
    let condition = |id: &str| {
        deploy_steps
            .iter()
            .find(|s| s.id == id)
            .unwrap()
            .condition
            .clone()
    };
    assert_eq!(
        condition("deploy").as_deref(),
        Some("steps.decide.outputs.deploy == 'true'")
    );
    assert_eq!(
        condition("marker").as_deref(),
        Some("steps.deploy.outcome == 'success'")
    );
    assert_eq!(condition("result").as_deref(), Some("always()"));
    let results_dir = runner.path().join("results");
    let _ = std::fs::remove_dir_all(&results_dir);
    std::fs::create_dir_all(&results_dir).unwrap();
    let mut deploy_calls = 0;
    for entry in matrix_json["include"].as_array().unwrap() {
        let job = runner.job_dir(manifest);
        let mut env: BTreeMap<String, String> = BTreeMap::from([
            ("NAME".into(), entry["name"].as_str().unwrap().to_owned()),
            ("REPO".into(), entry["repo"].as_str().unwrap().to_owned()),
            ("REF".into(), entry["ref"].as_str().unwrap().to_owned()),
            // The plan asked the host: every entry says what it runs.
            (
                "RUNNING".into(),
                entry["running"].as_str().unwrap().to_owned(),
            ),
            ("FORCE".into(), String::new()),
        ]);
        let mut deployed = None;
        for step in deploy_steps.iter().filter(|s| s.run.is_some()) {
            match step.id.as_str() {
                "lookup" => {
                    let artifact = format!("deployed-{}-{}", env["NAME"], env["HASH"]);
                    let found = runner.artifacts.join(&artifact).exists();
                    env.insert("ARTIFACT".into(), artifact);
                    env.insert("FOUND".into(), if found { "1" } else { "0" }.into());
                    continue;
                }
                "deploy" if env["DEPLOY"] != "true" => {
                    deployed = Some(false);
                    continue;
                }
                "marker" if deployed != Some(true) => continue,
                "result" => {
                    let result = match deployed {
                        Some(true) => env["DEPLOY_RESULT"].clone(),
                        Some(false) => "unchanged".into(),
                        None => "failed".into(),
                    };
                    env.insert("RESULT".into(), result);
                }
                _ => {}
            }
            let (out, outputs) = runner.run(&job, step, &env);
            let out = out.ok();
            match step.id.as_str() {
                "checkout" => {
                    env.insert("SHA".into(), outputs["sha"].clone());
                }
                "hash" => {
                    env.insert("HASH".into(), outputs["hash"].clone());
                }
                "decide" => {
                    env.insert("DEPLOY".into(), outputs["deploy"].clone());
                    env.insert("REASON".into(), outputs["reason"].clone());
                }
                "deploy" => {
                    deploy_calls += 1;
                    deployed = Some(true);
                    assert_eq!(outputs["result"], "deployed", "{}", out.report());
                    env.insert("DEPLOY_RESULT".into(), outputs["result"].clone());
                }
                "marker" => {
                    // upload-artifact: deployed-<name>-<hash>
                    let artifact = runner
                        .artifacts
                        .join(format!("deployed-{}-{}", env["NAME"], env["HASH"]));
                    std::fs::create_dir_all(&artifact).unwrap();
                    std::fs::copy(
                        job.join("marker/deployed.json"),
                        artifact.join("deployed.json"),
                    )
                    .unwrap();
                }
                "result" => {
                    // upload-artifact result-<name>, downloaded merged by the summary job
                    let name = &env["NAME"];
                    std::fs::copy(
                        job.join(format!("results/{name}.json")),
                        results_dir.join(format!("{name}.json")),
                    )
                    .unwrap();
                }
                _ => {}
            }
        }
    }

    // summary
    let job = runner.job_dir(manifest);
    Run::new("cp")
        .arg("-r")
        .arg(&results_dir)
        .arg(&job)
        .run()
        .ok();
    let summary_steps = steps(&workflow, "summary");
    let step = |id: &str| summary_steps.iter().find(|s| s.id == id).unwrap();
    let env = BTreeMap::from([("MATRIX".to_owned(), matrix.clone())]);
    let (out, _) = runner.run(&job, step("summary"), &env);
    let summary = out.ok().stdout;
    // The notification comes after the table, and whatever happens to it fails nothing.
    assert!(step("notify").continue_on_error);
    assert_eq!(step("notify").condition, None);
    let (out, _) = runner.run(&job, step("notify"), &env);
    let notify = out.ok().stdout;
    let mut results = BTreeMap::new();
    let mut reasons = BTreeMap::new();
    for file in std::fs::read_dir(&results_dir).unwrap() {
        let v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(file.unwrap().path()).unwrap()).unwrap();
        let name = v["name"].as_str().unwrap().to_owned();
        results.insert(name.clone(), v["result"].as_str().unwrap().to_owned());
        reasons.insert(name, v["reason"].as_str().unwrap().to_owned());
    }
    Outcome {
        results,
        reasons,
        summary,
        notify,
        deploy_calls,
    }
}

/// Project name -> value, for comparing an outcome's `results` or `reasons`.
fn by_project(pairs: &[(&Remote, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(r, s)| (r.name.clone(), s.to_string()))
        .collect()
}

/// A world with two sites, `a` (page `a1`) and `b` (page `b1`), and the manifest of both.
fn two_sites() -> (World, Remote, Remote, serde_json::Value) {
    let mut world = World::new();
    let a = world.site("a", "a1\n");
    let b = world.site("b", "b1\n");
    let manifest = world.manifest(&[world.entry(&a), world.entry(&b)]);
    (world, a, b, manifest)
}

/// First tag deploys every project; an unchanged second tag deploys none and builds nothing;
/// changing one project redeploys only it; a project dropped from the manifest is taken
/// down. Each run posts one message to the notification webhook, and a webhook that fails
/// fails nothing.
#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Docker, sshd and lighttpd: run scripts/test (cargo test --features e2e)"
)]
fn deploy_workflow_rehearsal() {
    let (world, a, b, manifest) = two_sites();
    let mut runner = Runner::new(&world);
    let hook = WebhookReceiver::start(200);
    runner.notify_to(&hook.url);

    let first = rehearse(&runner, &manifest);
    assert_eq!(
        first.results,
        by_project(&[(&a, "deployed"), (&b, "deployed")])
    );
    assert_eq!(
        first.reasons,
        by_project(&[(&a, "new content"), (&b, "new content")])
    );
    assert_eq!(first.deploy_calls, 2);
    assert!(
        first.summary.contains("2 deployed, 0 unchanged, 0 failed"),
        "{}",
        first.summary
    );
    assert!(first
        .summary
        .contains(&format!("| {} | deployed | new content | `", a.name)));
    assert_eq!(world.page(&a.name), "a1\n");
    // One POST of one JSON message, Slack's `text` and Discord's `content`.
    let posts = hook.received();
    assert_eq!(posts.len(), 1, "{posts:?}");
    assert_eq!(
        posts[0].request_line,
        "POST /hooks/T000/B000/secret-token HTTP/1.1"
    );
    assert!(posts[0]
        .headers
        .contains(&("content-type".into(), "application/json".into())));
    let message: serde_json::Value = serde_json::from_str(&posts[0].body).unwrap();
    let text = message["text"].as_str().unwrap();
    assert_eq!(message["content"].as_str(), Some(text));
    assert!(
        text.starts_with("kelev deploy: 2 deployed, 0 unchanged, 0 failed\n```\n"),
        "{text}"
    );
    assert!(
        text.contains(&format!("\n{}  deployed  new content  ", a.name)),
        "{text}"
    );
    assert!(
        text.ends_with("```\nhttps://github.com/owner/kelev/actions/runs/7"),
        "{text}"
    );
    assert!(
        first.notify.contains("notification sent"),
        "{}",
        first.notify
    );

    // Nothing changed: no deploy is sent, the host builds nothing and writes nothing. The
    // webhook answers 500 this time; the run is as green as before.
    let images = (world.images(&a.name), world.images(&b.name));
    // Releases, state and `current` of every project (manifest-put rewrites projects.json
    // even when it is unchanged, so the root's other files are not compared).
    let projects_dir = format!("{}/", world.root.join("projects").display());
    let releases = || {
        let mut files = world.snapshot();
        files.retain(|line| line.starts_with(&projects_dir));
        files
    };
    let files = releases();
    let failing = WebhookReceiver::start(500);
    runner.notify_to(&failing.url);
    let second = rehearse(&runner, &manifest);
    assert_eq!(
        second.results,
        by_project(&[(&a, "unchanged"), (&b, "unchanged")])
    );
    assert_eq!(
        second.reasons,
        by_project(&[(&a, "host runs it"), (&b, "host runs it")])
    );
    assert_eq!(second.deploy_calls, 0);
    assert_eq!((world.images(&a.name), world.images(&b.name)), images);
    assert_eq!(releases(), files);
    assert_eq!(failing.received().len(), 1);
    assert!(
        second
            .notify
            .contains("::warning title=notification not sent::"),
        "{}",
        second.notify
    );
    runner.notify_to("");

    a.write("www/index.html", "a2\n");
    a.commit("a2");
    let third = rehearse(&runner, &manifest);
    assert_eq!(
        third.results,
        by_project(&[(&a, "deployed"), (&b, "unchanged")])
    );
    assert_eq!(
        third.reasons,
        by_project(&[(&a, "new content"), (&b, "host runs it")])
    );
    assert_eq!(third.deploy_calls, 1);
    assert_eq!(world.page(&a.name), "a2\n");
    assert_eq!(
        third.notify.trim(),
        "no KELEV_NOTIFY_URL secret: no notification"
    );
    // The agent's status carries the very hash the workflow computed.
    let hash = Run::new(workspace_binary("kelev"))
        .arg("hash")
        .arg(&a.bare)
        .run()
        .ok()
        .stdout;
    assert_eq!(world.status(&a.name)["content_hash"], hash.trim());

    // b leaves the manifest: the plan job's remove step takes it down.
    let smaller = world.manifest(&[world.entry(&a)]);
    let fourth = rehearse(&runner, &smaller);
    assert_eq!(fourth.results, by_project(&[(&a, "unchanged")]));
    let left = kelev_e2e::docker(&[
        "ps",
        "-aq",
        "--filter",
        &format!("label=com.docker.compose.project={}", b.name),
    ]);
    assert_eq!(left.trim(), "");
}

/// The host, not CI's artifacts, decides: a `rollback` on the host is undone by the next
/// run, and a host wiped after a full run gets every project again though every
/// `deployed-<name>-<hash>` artifact is still there.
#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Docker, sshd and lighttpd: run scripts/test (cargo test --features e2e)"
)]
fn rehearsal_converges_on_what_the_host_runs() {
    let (world, a, b, manifest) = two_sites();
    let runner = Runner::new(&world);
    rehearse(&runner, &manifest);
    a.write("www/index.html", "a2\n");
    a.commit("a2");
    assert_eq!(
        rehearse(&runner, &manifest).results,
        by_project(&[(&a, "deployed"), (&b, "unchanged")])
    );

    world.ssh(format!("rollback {}", a.name)).run().ok();
    assert_eq!(world.page(&a.name), "a1\n");
    let after_rollback = rehearse(&runner, &manifest);
    assert_eq!(
        after_rollback.results,
        by_project(&[(&a, "deployed"), (&b, "unchanged")])
    );
    assert_eq!(
        after_rollback.reasons,
        by_project(&[(&a, "host lacks it"), (&b, "host runs it")])
    );
    assert_eq!(world.page(&a.name), "a2\n");

    world.wipe();
    let artifacts = std::fs::read_dir(&runner.artifacts).unwrap().count();
    let rebuilt = rehearse(&runner, &manifest);
    assert_eq!(
        rebuilt.results,
        by_project(&[(&a, "deployed"), (&b, "deployed")])
    );
    assert_eq!(
        rebuilt.reasons,
        by_project(&[(&a, "host lacks it"), (&b, "host lacks it")])
    );
    assert_eq!(rebuilt.deploy_calls, 2);
    assert!(
        rebuilt
            .summary
            .contains("2 deployed, 0 unchanged, 0 failed"),
        "{}",
        rebuilt.summary
    );
    assert!(rebuilt
        .summary
        .contains(&format!("| {} | deployed | host lacks it | `", b.name)));
    assert_eq!(
        (world.page(&a.name), world.page(&b.name)),
        ("a2\n".into(), "b1\n".into())
    );
    // The record grows only by what is new: both contents were deployed before.
    assert_eq!(
        std::fs::read_dir(&runner.artifacts).unwrap().count(),
        artifacts
    );
    assert_eq!(rehearse(&runner, &manifest).deploy_calls, 0);
}
