//! A rehearsal of `.github/workflows/deploy.yml`: its jobs and steps, in order, each step's
//! `if:` and `env:` evaluated from the YAML (`kelev_e2e::Contexts`), its `run:` script run as
//! GitHub runs it, against this world's sshd, agent and git remotes.
//!
//! What cannot run here is stood in for, and nothing else: `uses:` steps (checkout, cache,
//! artifacts, AWS credentials) become file copies or nothing, the `build` step is the binary
//! cargo already built, port 22's `sweep`, `open` and `close` (AWS calls, run against moto by
//! tests/e2e/ingress.rs) succeed without running, the `lookup` step's GitHub REST call becomes a
//! look in the local artifact store, and the notification webhook is a receiver on loopback.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use yaml_rust2::{Yaml, YamlLoader};

use kelev_e2e::{workspace_binary, Contexts, Remote, Run, WebhookReceiver, World, DEPLOY_USER};

fn workflow() -> Yaml {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.github/workflows/deploy.yml");
    let text = std::fs::read_to_string(path).unwrap();
    YamlLoader::load_from_str(&text).unwrap().remove(0)
}

/// A YAML mapping of strings (`env:`, `with:`, `outputs:`), in order; empty if absent.
fn strings(yaml: &Yaml) -> Vec<(String, String)> {
    yaml.as_hash()
        .into_iter()
        .flatten()
        .map(|(k, v)| {
            let v = match v {
                Yaml::Boolean(b) => b.to_string(),
                Yaml::Integer(i) => i.to_string(),
                other => other.as_str().unwrap().to_owned(),
            };
            (k.as_str().unwrap().to_owned(), v)
        })
        .collect()
}

/// What one job did: each step's label (its `id`, else its `uses`) that ran, its result, and the
/// contexts at its end.
struct JobRun {
    ran: Vec<String>,
    /// Label -> what the step printed.
    stdout: BTreeMap<String, String>,
    failed: bool,
    contexts: Contexts,
}

impl JobRun {
    fn ran(&self, label: &str) -> bool {
        self.ran.iter().any(|l| l == label)
    }

    fn step(&self, id: &str) -> &Value {
        &self.contexts.values["steps"][id]
    }
}

/// The runner: a workspace holding this repository's files and the built `kelev`, and the
/// repository's artifact store (`artifacts/run-<n>/<name>/`), kept across runs.
struct Runner {
    dir: tempfile::TempDir,
    artifacts: PathBuf,
    runs: std::cell::Cell<u32>,
    base_env: BTreeMap<String, String>,
    secrets: Value,
    vars: Value,
}

impl Runner {
    fn new(world: &World) -> Runner {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("home")).unwrap();
        let artifacts = dir.path().join("artifacts");
        std::fs::create_dir_all(&artifacts).unwrap();
        let base_env = BTreeMap::from([
            ("HOME".into(), dir.path().join("home").display().to_string()),
            ("PATH".into(), "/usr/local/bin:/usr/bin:/bin".into()),
            ("GITHUB_REPOSITORY".into(), "owner/kelev".into()),
            ("GITHUB_SERVER_URL".into(), "https://github.com".into()),
            ("GITHUB_RUN_ID".into(), "7".into()),
        ]);
        // The secrets and variables docs/ci.md asks for, pointing at this world.
        let secrets = json!({
            "KELEV_HOST": "127.0.0.1",
            "KELEV_SSH_KEY": std::fs::read_to_string(world.client_key("ci")).unwrap(),
            "KELEV_KNOWN_HOSTS": world.known_hosts(),
            "KELEV_PROJECTS_TOKEN": "",
            "KELEV_NOTIFY_URL": "",
        });
        let vars = json!({
            "KELEV_SSH_PORT": world.ssh_port().to_string(),
            "KELEV_SSH_USER": DEPLOY_USER,
            "KELEV_AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/kelev-ci",
            "KELEV_AWS_REGION": "eu-central-1",
            "KELEV_SECURITY_GROUP_ID": "sg-0123456789abcdef0",
        });
        Runner {
            dir,
            artifacts,
            runs: std::cell::Cell::new(0),
            base_env,
            secrets,
            vars,
        }
    }

    /// Set the KELEV_NOTIFY_URL secret (empty: not set).
    fn notify_to(&mut self, url: &str) {
        self.secrets["KELEV_NOTIFY_URL"] = url.into();
    }

    fn run_artifacts(&self) -> PathBuf {
        self.artifacts.join(format!("run-{}", self.runs.get()))
    }

    /// The names of every `deployed-*` artifact of every run.
    fn deployed_artifacts(&self) -> BTreeSet<String> {
        let mut names = BTreeSet::new();
        for run in std::fs::read_dir(&self.artifacts).unwrap() {
            for artifact in std::fs::read_dir(run.unwrap().path()).unwrap() {
                let name = artifact.unwrap().file_name().into_string().unwrap();
                if name.starts_with("deployed-") {
                    names.insert(name);
                }
            }
        }
        names
    }

    /// A fresh job workspace: checkout's files (`scripts/ci`, `projects.json`), and for the
    /// plan job `bin/kelev`, the build step's product (the other jobs download it).
    fn job_dir(&self, name: &str, manifest: &Value) -> PathBuf {
        let job = self.dir.path().join("jobs").join(name);
        let _ = std::fs::remove_dir_all(&job);
        std::fs::create_dir_all(job.join("bin")).unwrap();
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        copy(&repo.join("scripts/ci"), &job.join("scripts/ci"));
        if name == "plan" {
            std::fs::copy(workspace_binary("kelev"), job.join("bin/kelev")).unwrap();
        }
        std::fs::write(
            job.join("projects.json"),
            serde_json::to_vec_pretty(manifest).unwrap(),
        )
        .unwrap();
        job
    }

    /// Run one job's steps in `dir` as GitHub does: each `if:` and `env:` evaluated, each `run:`
    /// under `bash --noprofile --norc -eo pipefail`, a failed step failing the job unless it
    /// continues on error.
    fn job(&self, workflow: &Yaml, name: &str, dir: &Path, contexts: Value) -> JobRun {
        let job = &workflow["jobs"][name];
        let mut run = JobRun {
            ran: Vec::new(),
            stdout: BTreeMap::new(),
            failed: false,
            contexts: Contexts {
                values: contexts,
                failed: false,
            },
        };
        run.contexts.values["secrets"] = self.secrets.clone();
        run.contexts.values["vars"] = self.vars.clone();
        run.contexts.values["github"] =
            json!({"run_id": "7", "repository": "owner/kelev", "token": ""});
        run.contexts.values["runner"] = json!({"os": "Linux"});
        run.contexts.values["steps"] = json!({});
        let job_env: Vec<(String, String)> = strings(&job["env"])
            .into_iter()
            .map(|(k, v)| (k, run.contexts.interpolate(&v)))
            .collect();
        for step in job["steps"].as_vec().unwrap() {
            let id = step["id"].as_str().map(str::to_owned);
            let label = id
                .clone()
                .or(step["uses"].as_str().map(str::to_owned))
                .unwrap();
            if !run.contexts.runs(step["if"].as_str()) {
                if let Some(id) = &id {
                    run.contexts.values["steps"][id] =
                        json!({"outcome": "skipped", "conclusion": "skipped", "outputs": {}});
                }
                continue;
            }
            run.ran.push(label.clone());
            self.check_names(&label, step);
            let mut env = job_env.clone();
            for (k, v) in strings(&step["env"]) {
                env.push((k, run.contexts.interpolate(&v)));
            }
            // Only the artifact steps' inputs matter here (the cache's key would need
            // `hashFiles`, the AWS step's are stood in for).
            let artifacts = step["uses"]
                .as_str()
                .is_some_and(|uses| uses.contains("-artifact@"));
            let with: BTreeMap<String, String> = strings(&step["with"])
                .into_iter()
                .filter(|_| artifacts)
                .map(|(k, v)| (k, run.contexts.interpolate(&v)))
                .collect();
            let (success, outputs, stdout) = match (step["uses"].as_str(), step["run"].as_str()) {
                (Some(uses), _) => (
                    self.action(uses, &with, dir),
                    BTreeMap::new(),
                    String::new(),
                ),
                (None, Some(script)) => self.run_step(&label, script, &env, dir),
                (None, None) => panic!("step {label} neither uses nor runs"),
            };
            run.stdout.insert(label.clone(), stdout);
            let outcome = if success { "success" } else { "failure" };
            let continue_on_error = step["continue-on-error"].as_bool() == Some(true);
            if !success && !continue_on_error {
                run.failed = true;
                run.contexts.failed = true;
            }
            if let Some(id) = &id {
                run.contexts.values["steps"][id] = json!({
                    "outcome": outcome,
                    "conclusion": if continue_on_error { "success" } else { outcome },
                    "outputs": outputs,
                });
            }
        }
        run
    }

    /// Every `secrets.X` and `vars.X` a step's `env:` or `with:` reads is one the rehearsal
    /// sets as docs/ci.md says (a missing one would quietly read as empty).
    fn check_names(&self, label: &str, step: &Yaml) {
        let values = strings(&step["env"])
            .into_iter()
            .chain(strings(&step["with"]));
        for (_, value) in values {
            for (context, map) in [("secrets.", &self.secrets), ("vars.", &self.vars)] {
                for rest in value.split(context).skip(1) {
                    let name: String = rest
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    assert!(
                        map.get(&name).is_some(),
                        "step {label} reads {context}{name}, which the rehearsal does not set"
                    );
                }
            }
        }
    }

    /// A `uses:` step, stood in for; whether it succeeded.
    fn action(&self, uses: &str, with: &BTreeMap<String, String>, dir: &Path) -> bool {
        let store = self.run_artifacts();
        match uses.split('@').next().unwrap() {
            // The job directory holds checkout's files already; the cache speeds nothing up
            // here; the AWS role is for port 22's steps, which are stood in for.
            "actions/checkout" | "actions/cache" | "aws-actions/configure-aws-credentials" => {}
            "actions/upload-artifact" => {
                let source = dir.join(&with["path"]);
                if !source.exists() {
                    let ignore = with.get("if-no-files-found").map(String::as_str);
                    assert_eq!(ignore, Some("ignore"), "upload of missing {source:?}");
                    return true;
                }
                let target = store.join(&with["name"]);
                std::fs::create_dir_all(&target).unwrap();
                copy(&source, &target.join(source.file_name().unwrap()));
            }
            "actions/download-artifact" => {
                let target = dir.join(&with["path"]);
                std::fs::create_dir_all(&target).unwrap();
                let prefix = match (with.get("name"), with.get("pattern")) {
                    (Some(name), None) => name.clone(),
                    (None, Some(pattern)) => {
                        assert_eq!(with.get("merge-multiple").map(String::as_str), Some("true"));
                        pattern.strip_suffix('*').unwrap().to_owned()
                    }
                    other => panic!("download-artifact with {other:?}"),
                };
                for artifact in std::fs::read_dir(&store).unwrap() {
                    let artifact = artifact.unwrap();
                    let name = artifact.file_name().into_string().unwrap();
                    if name == prefix || (with.contains_key("pattern") && name.starts_with(&prefix))
                    {
                        // An artifact holds the uploaded path's contents.
                        for file in std::fs::read_dir(artifact.path()).unwrap() {
                            let file = file.unwrap().path();
                            if file.is_dir() {
                                for inner in std::fs::read_dir(&file).unwrap() {
                                    let inner = inner.unwrap().path();
                                    copy(&inner, &target.join(inner.file_name().unwrap()));
                                }
                            } else {
                                copy(&file, &target.join(file.file_name().unwrap()));
                            }
                        }
                    }
                }
            }
            other => panic!("the rehearsal has no stand-in for {other}"),
        }
        true
    }

    /// A `run:` step; whether it succeeded, and what it wrote to $GITHUB_OUTPUT.
    fn run_step(
        &self,
        label: &str,
        script: &str,
        env: &[(String, String)],
        dir: &Path,
    ) -> (bool, BTreeMap<String, String>, String) {
        // Stood in for: the build (cargo built bin/kelev already), port 22's AWS calls, and the
        // artifact lookup's GitHub REST call, which looks in the local store instead.
        if label == "build" || script.contains("scripts/ci/ssh-ingress") {
            return (true, BTreeMap::new(), String::new());
        }
        if label == "lookup" {
            assert!(script.contains("gh api"), "{script}");
            let artifact = &env.iter().find(|(k, _)| k == "ARTIFACT").unwrap().1;
            let found = std::fs::read_dir(&self.artifacts)
                .unwrap()
                .filter(|run| run.as_ref().unwrap().path().join(artifact).exists())
                .count();
            return (
                true,
                BTreeMap::from([("found".into(), found.to_string())]),
                String::new(),
            );
        }
        let output_file = dir.join("github_output");
        std::fs::write(&output_file, "").unwrap();
        let mut run = Run::new("bash")
            .args(["--noprofile", "--norc", "-eo", "pipefail", "-c"])
            .arg(script)
            .env("GITHUB_OUTPUT", output_file.as_os_str())
            .env("GITHUB_STEP_SUMMARY", dir.join("summary.md").as_os_str());
        for (k, v) in self.base_env.iter().chain(env.iter().map(|(k, v)| (k, v))) {
            run = run.env(k, v);
        }
        let out = run.dir(dir).run();
        // Shown when a test fails: each step's exit, and all of a failed step.
        match out.code {
            Some(0) => println!("step {label}: ok"),
            _ => println!("step {label} failed: {}", out.report()),
        }
        let outputs = std::fs::read_to_string(&output_file)
            .unwrap()
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        (out.code == Some(0), outputs, out.stdout)
    }
}

/// `cp -r`: a file or a directory's tree.
fn copy(from: &Path, to: &Path) {
    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
    Run::new("cp").arg("-rT").arg(from).arg(to).run().ok();
}

struct Outcome {
    /// Project -> `result` of its result file.
    results: BTreeMap<String, String>,
    /// Project -> `reason` of its result file (why it was deployed or skipped).
    reasons: BTreeMap<String, String>,
    /// Project -> its deploy job.
    jobs: BTreeMap<String, JobRun>,
    summary: String,
    /// What the notify step printed.
    notify: String,
    deploy_calls: usize,
}

/// One tag push: the plan job, one deploy job per matrix entry, the summary job.
fn rehearse(runner: &Runner, manifest: &Value) -> Outcome {
    let workflow = workflow();
    // The rehearsal runs steps as GitHub's `bash` shell does (-eo pipefail); the workflow must
    // ask for that shell, or GitHub would run them without pipefail.
    assert_eq!(workflow["defaults"]["run"]["shell"].as_str(), Some("bash"));
    runner.runs.set(runner.runs.get() + 1);
    std::fs::create_dir_all(runner.run_artifacts()).unwrap();
    // A tag push: no `inputs`.
    let inputs = json!({});

    let plan_dir = runner.job_dir("plan", manifest);
    let plan = runner.job(&workflow, "plan", &plan_dir, json!({"inputs": inputs}));
    assert!(!plan.failed, "the plan job failed");
    assert!(plan.ran("build"), "the plan job builds kelev");
    let plan_outputs: BTreeMap<String, String> = strings(&workflow["jobs"]["plan"]["outputs"])
        .into_iter()
        .map(|(k, v)| (k, plan.contexts.interpolate(&v)))
        .collect();
    let mut needs = json!({"plan": {"result": "success", "outputs": plan_outputs}});

    // deploy: one job per matrix entry, the matrix as the YAML computes it
    let deploy = &workflow["jobs"]["deploy"];
    let on_needs = Contexts {
        values: json!({"needs": needs, "inputs": inputs}),
        failed: false,
    };
    let matrix_expr = deploy["strategy"]["matrix"].as_str().unwrap();
    let matrix = on_needs.eval(
        matrix_expr
            .trim()
            .strip_prefix("${{")
            .and_then(|m| m.strip_suffix("}}"))
            .unwrap(),
    );
    assert!(on_needs.runs(deploy["if"].as_str()));
    let mut jobs = BTreeMap::new();
    let mut deploy_calls = 0;
    for entry in matrix["include"].as_array().unwrap() {
        let name = entry["name"].as_str().unwrap().to_owned();
        let dir = runner.job_dir(&format!("deploy-{name}"), manifest);
        let job = runner.job(
            &workflow,
            "deploy",
            &dir,
            json!({"inputs": inputs, "needs": needs, "matrix": entry}),
        );
        deploy_calls += usize::from(job.ran("deploy"));
        jobs.insert(name, job);
    }
    let any_failed = jobs.values().any(|j| j.failed);
    needs["deploy"] = json!({"result": if any_failed { "failure" } else { "success" }});

    // summary: runs whenever plan succeeded
    let summary_job = &workflow["jobs"]["summary"];
    let contexts = json!({"inputs": inputs, "needs": needs});
    let on_needs = Contexts {
        values: contexts.clone(),
        failed: any_failed,
    };
    assert!(
        on_needs.runs(summary_job["if"].as_str()),
        "the summary job runs"
    );
    let dir = runner.job_dir("summary", manifest);
    let summary = runner.job(&workflow, "summary", &dir, contexts);
    assert!(!summary.failed, "the summary job failed");
    assert!(summary.ran("notify"));
    assert!(summary_job["steps"]
        .as_vec()
        .unwrap()
        .iter()
        .any(|s| s["id"].as_str() == Some("notify")
            && s["continue-on-error"].as_bool() == Some(true)));
    let mut results = BTreeMap::new();
    let mut reasons = BTreeMap::new();
    for file in std::fs::read_dir(dir.join("results")).unwrap() {
        let v: Value =
            serde_json::from_slice(&std::fs::read(file.unwrap().path()).unwrap()).unwrap();
        let name = v["name"].as_str().unwrap().to_owned();
        results.insert(name.clone(), v["result"].as_str().unwrap().to_owned());
        reasons.insert(name, v["reason"].as_str().unwrap().to_owned());
    }
    Outcome {
        results,
        reasons,
        jobs,
        summary: summary.stdout["summary"].clone(),
        notify: summary.stdout["notify"].clone(),
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
    for job in first.jobs.values() {
        assert!(!job.failed);
        for step in ["open", "deploy", "close", "result"] {
            assert!(job.ran(step), "{step} did not run: {:?}", job.ran);
        }
    }
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
    for job in second.jobs.values() {
        // No port opened, so none to close; the result is recorded all the same.
        assert_eq!(job.step("open")["outcome"], "skipped");
        assert!(!job.ran("close") && job.ran("result"), "{:?}", job.ran);
    }
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
    let artifacts = runner.deployed_artifacts();
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
    assert_eq!(runner.deployed_artifacts(), artifacts);
    assert_eq!(rehearse(&runner, &manifest).deploy_calls, 0);
}

/// A deploy that fails on the host: the job fails at its deploy step, port 22 is closed all the
/// same (`always()`), the result `failed` reaches the summary, no `deployed-*` artifact records
/// the content, and the summary job runs. Fixed, the next run deploys it as new content.
#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Docker, sshd and lighttpd: run scripts/test (cargo test --features e2e)"
)]
fn rehearsal_of_a_failing_deploy() {
    let mut world = World::new();
    let a = world.site("a", "a1\n");
    // `docker compose config` refuses it: the agent exits 65 with a report `failed`.
    let compose = std::fs::read_to_string(a.work.join("compose.yaml")).unwrap();
    a.write("compose.yaml", "services: [\n");
    a.commit("broken compose file");
    let manifest = world.manifest(&[world.entry(&a)]);
    let runner = Runner::new(&world);

    let failed = rehearse(&runner, &manifest);
    assert_eq!(failed.results, by_project(&[(&a, "failed")]));
    assert_eq!(failed.reasons, by_project(&[(&a, "new content")]));
    let job = &failed.jobs[&a.name];
    assert!(job.failed);
    assert_eq!(job.step("deploy")["outcome"], "failure");
    assert!(job.ran("close"), "port 22 left open: {:?}", job.ran);
    assert!(job.ran("result"));
    let report: Value = serde_json::from_str(
        &std::fs::read_to_string(
            runner
                .dir
                .path()
                .join("jobs")
                .join(format!("deploy-{}", a.name))
                .join("deploy.json"),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(report["result"], "failed");
    assert_eq!(report["exit_code"], 65);
    assert!(runner.deployed_artifacts().is_empty());
    assert!(
        failed.summary.contains("0 deployed, 0 unchanged, 1 failed"),
        "{}",
        failed.summary
    );
    assert!(
        failed
            .summary
            .contains(&format!("| {} | failed | new content | `", a.name)),
        "{}",
        failed.summary
    );

    a.write("compose.yaml", &compose);
    a.commit("fixed");
    let fixed = rehearse(&runner, &manifest);
    assert_eq!(fixed.results, by_project(&[(&a, "deployed")]));
    assert_eq!(fixed.reasons, by_project(&[(&a, "new content")]));
    assert_eq!(world.page(&a.name), "a1\n");
    assert_eq!(runner.deployed_artifacts().len(), 1);
}
