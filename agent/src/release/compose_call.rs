//! Every compose call the agent makes, as a value: what compose is pointed at (a project by
//! name, or a release's directory and files) and what it is asked. Built here by pure
//! functions, tested as the line a reader would type; running one is `Docker`'s alone
//! (`release/docker.rs`).

use std::fmt;
use std::path::PathBuf;

use kelev_core::ProjectName;

use crate::host::child;
use crate::release::task;

/// What compose works on: a project by name alone (`logs`, `down`), or one release of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ComposeProject {
    name: ProjectName,
    dir: Option<PathBuf>,
    files: Vec<PathBuf>,
    /// Added to the base environment (`KELEV_PROJECT`, `KELEV_COMMIT`, `KELEV_DATA_DIR`).
    env: Vec<(String, String)>,
}

/// Which containers `up` recreates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Recreate {
    /// Those whose configuration changed (compose's own rule).
    Changed,
    /// Every one (`--force-recreate`).
    All,
}

/// When a pull fetches an image a service names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PullPolicy {
    /// Only images the engine does not have (a new commit's tag).
    Missing,
    /// Every one, asking the registry again (`deploy --force`).
    Always,
}

impl ComposeProject {
    pub(crate) fn by_name(name: &ProjectName) -> ComposeProject {
        ComposeProject {
            name: name.clone(),
            dir: None,
            files: Vec::new(),
            env: Vec::new(),
        }
    }

    pub(crate) fn release(
        name: &ProjectName,
        dir: PathBuf,
        files: Vec<PathBuf>,
        env: Vec<(String, String)>,
    ) -> ComposeProject {
        ComposeProject {
            name: name.clone(),
            dir: Some(dir),
            files,
            env,
        }
    }

    fn call<S: Into<String>>(&self, args: impl IntoIterator<Item = S>) -> ComposeCall {
        ComposeCall {
            project: self.clone(),
            tasks: false,
            args: args.into_iter().map(Into::into).collect(),
        }
    }

    /// A call that sees the tasks too: their profile on (`--profile kelev-task`).
    fn with_tasks<S: Into<String>>(&self, args: impl IntoIterator<Item = S>) -> ComposeCall {
        ComposeCall {
            tasks: true,
            ..self.call(args)
        }
    }

    /// The compose file as compose normalizes it, as JSON.
    pub(crate) fn config(&self) -> ComposeCall {
        self.call(["config", "--format", "json"])
    }

    /// Every service's image, the tasks' too (their profile on).
    pub(crate) fn build(&self) -> ComposeCall {
        self.with_tasks(["build"])
    }

    /// `services` started if they are not running, without touching those that are, and
    /// waited for (running, or healthy): what a task depends on, before it runs.
    pub(crate) fn start(&self, services: &[String]) -> ComposeCall {
        let mut args = vec!["up", "-d", "--no-build", "--no-recreate", "--wait"];
        args.extend(services.iter().map(String::as_str));
        self.call(args)
    }

    /// One run of task `service` in a container called `container`, from the images already
    /// there, the container removed afterwards; its dependencies are
    /// [`ComposeProject::start`]ed first, not here.
    pub(crate) fn run_task(&self, service: &str, container: &str) -> ComposeCall {
        self.with_tasks([
            "run",
            "--rm",
            "--no-deps",
            "-T",
            "--name",
            container,
            service,
        ])
    }

    /// The images of the services that name one and build none, from their registries.
    pub(crate) fn pull(&self, policy: PullPolicy) -> ComposeCall {
        let policy = match policy {
            PullPolicy::Missing => "missing",
            PullPolicy::Always => "always",
        };
        self.call(["pull", "--ignore-buildable", "--policy", policy])
    }

    /// The same, with `key=value` added to compose's environment.
    pub(crate) fn with_env(mut self, key: &str, value: String) -> ComposeProject {
        self.env.push((key.to_owned(), value));
        self
    }

    /// Every service up from images already there (the build is a step of its own).
    pub(crate) fn up(&self, recreate: Recreate) -> ComposeCall {
        let mut args = vec!["up", "-d", "--remove-orphans", "--no-build"];
        if recreate == Recreate::All {
            args.push("--force-recreate");
        }
        self.call(args)
    }

    /// `services` anew, whether or not their configuration changed.
    pub(crate) fn recreate(&self, services: &[&str]) -> ComposeCall {
        let mut args = vec!["up", "-d", "--no-build", "--no-deps", "--force-recreate"];
        args.extend(services);
        self.call(args)
    }

    /// `count` containers of `service`, keeping those there are; the new ones started, or
    /// with `start` false only created.
    pub(crate) fn scale(&self, service: &str, count: u32, start: bool) -> ComposeCall {
        let scale = format!("{service}={count}");
        self.call([
            "up",
            if start { "-d" } else { "--no-start" },
            "--no-build",
            "--no-deps",
            "--no-recreate",
            "--scale",
            &scale,
            service,
        ])
    }

    pub(crate) fn down(&self) -> ComposeCall {
        self.call(["down", "--remove-orphans"])
    }

    pub(crate) fn logs(&self, tail: u32) -> ComposeCall {
        self.call([
            "logs",
            "--no-color",
            "--timestamps",
            "--tail",
            &tail.to_string(),
        ])
    }
}

/// One compose call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ComposeCall {
    project: ComposeProject,
    /// Whether the tasks' profile is on (`release/task.rs`).
    tasks: bool,
    args: Vec<String>,
}

impl ComposeCall {
    /// The whole argv, after `program` (`docker compose`, `docker-compose`).
    pub(crate) fn argv(&self, program: &[String]) -> Vec<String> {
        let project = &self.project;
        let mut argv = program.to_vec();
        argv.extend(["-p".into(), project.name.to_string()]);
        if let Some(dir) = &project.dir {
            argv.extend(["--project-directory".into(), dir.display().to_string()]);
        }
        for file in &project.files {
            argv.extend(["-f".into(), file.display().to_string()]);
        }
        if self.tasks {
            argv.extend(["--profile".into(), task::PROFILE.into()]);
        }
        argv.extend(self.args.iter().cloned());
        argv
    }

    /// Where it runs: the release's directory, else `/`.
    pub(crate) fn dir(&self) -> PathBuf {
        self.project
            .dir
            .clone()
            .unwrap_or_else(|| PathBuf::from("/"))
    }

    pub(crate) fn env(&self) -> &[(String, String)] {
        &self.project.env
    }

    pub(crate) fn project(&self) -> &ProjectName {
        &self.project.name
    }

    /// What was asked, as a failure names it (its global options left out): `compose up -d
    /// --remove-orphans --build`.
    pub(crate) fn command(&self) -> String {
        format!("compose {}", child::render(&self.args))
    }
}

/// The call as a reader would type it, `compose` for the program.
impl fmt::Display for ComposeCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&child::render(&self.argv(&["compose".to_owned()])))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn release() -> ComposeProject {
        ComposeProject::release(
            &ProjectName::parse("p").unwrap(),
            "/r/releases/abc".into(),
            vec![
                "/r/releases/abc/compose.yaml".into(),
                "/r/overrides/abc.json".into(),
            ],
            vec![("KELEV_COMMIT".into(), "abc".into())],
        )
    }

    #[track_caller]
    fn is(call: ComposeCall, expected: &str) {
        assert_eq!(call.to_string(), expected);
    }

    #[test]
    fn calls_on_a_release_as_typed() {
        let files = "compose -p p --project-directory /r/releases/abc -f \
                     /r/releases/abc/compose.yaml -f /r/overrides/abc.json";
        let r = release();
        is(r.config(), &format!("{files} config --format json"));
        is(r.build(), &format!("{files} --profile kelev-task build"));
        is(
            r.start(&["db".into(), "cache".into()]),
            &format!("{files} up -d --no-build --no-recreate --wait db cache"),
        );
        is(
            r.run_task("migrate", "p-migrate-1"),
            &format!(
                "{files} --profile kelev-task run --rm --no-deps -T --name p-migrate-1 migrate"
            ),
        );
        is(
            r.pull(PullPolicy::Missing),
            &format!("{files} pull --ignore-buildable --policy missing"),
        );
        is(
            r.pull(PullPolicy::Always),
            &format!("{files} pull --ignore-buildable --policy always"),
        );
        let logged_in = r.clone().with_env("DOCKER_CONFIG", "/r/registry/p".into());
        assert_eq!(
            logged_in.pull(PullPolicy::Missing).env(),
            [
                ("KELEV_COMMIT".into(), "abc".into()),
                ("DOCKER_CONFIG".into(), "/r/registry/p".into())
            ]
        );
        is(
            r.up(Recreate::Changed),
            &format!("{files} up -d --remove-orphans --no-build"),
        );
        is(
            r.up(Recreate::All),
            &format!("{files} up -d --remove-orphans --no-build --force-recreate"),
        );
        is(
            r.recreate(&["db", "worker"]),
            &format!("{files} up -d --no-build --no-deps --force-recreate db worker"),
        );
        is(
            r.scale("web", 2, false),
            &format!("{files} up --no-start --no-build --no-deps --no-recreate --scale web=2 web"),
        );
        is(
            r.scale("web", 1, true),
            &format!("{files} up -d --no-build --no-deps --no-recreate --scale web=1 web"),
        );
        assert_eq!(r.build().dir(), PathBuf::from("/r/releases/abc"));
        assert_eq!(r.build().env(), [("KELEV_COMMIT".into(), "abc".into())]);
        assert_eq!(r.build().command(), "compose build");
    }

    #[test]
    fn calls_by_name_as_typed() {
        let p = ComposeProject::by_name(&ProjectName::parse("p").unwrap());
        is(p.down(), "compose -p p down --remove-orphans");
        is(
            p.logs(100),
            "compose -p p logs --no-color --timestamps --tail 100",
        );
        assert_eq!(p.down().dir(), PathBuf::from("/"));
        assert_eq!(
            p.down().argv(&["docker".into(), "compose".into()]),
            ["docker", "compose", "-p", "p", "down", "--remove-orphans"]
        );
    }
}
