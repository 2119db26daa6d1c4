//! One release of one project, as compose sees it: the release directory's compose file plus the override
//! the agent writes beside it, and the compose calls that build, start and scale it.

use std::io::Write;
use std::path::PathBuf;

use serde_json::{Map, Value};

use kelev_core::{CommitId, Project};

use crate::error::{ComposeProblem, Error};
use crate::host::config::Traefik;
use crate::host::layout::Layout;
use crate::host::secret_store::Secrets;
use crate::release::compose::find_compose_file;
use crate::release::compose_call::{ComposeProject, Recreate};
use crate::release::docker::Docker;
use crate::release::override_file::override_json;
use crate::release::persistent::{persistent_binds, prepare, PersistentBind, Placed};
use crate::release::task::{self, Task};

/// What the agent learned while writing a release's override.
pub(crate) struct Override {
    /// The service Traefik routes to.
    pub(crate) routed: String,
    /// The writable binds that live outside the release, each with what was done to its place.
    pub(crate) persistent: Vec<(PersistentBind, Placed)>,
    /// Every long-running service of the release (tasks left out).
    pub(crate) services: Vec<String>,
    /// The services that name an image and build none, each with its image (interpolated:
    /// `registry/app:<commit>` for `registry/app:${KELEV_COMMIT}`), in name order.
    pub(crate) pulled: Vec<(String, String)>,
    /// The release's tasks.
    pub(crate) tasks: Vec<Task>,
    /// Why the routed service cannot run twice at once (zero-downtime rollout), if it cannot.
    pub(crate) rolling_blocker: Option<String>,
}

/// One release of one project, ready for compose.
pub(crate) struct Release<'a> {
    pub(crate) project: &'a Project,
    pub(crate) commit: CommitId,
    pub(crate) dir: PathBuf,
    pub(crate) compose_file: PathBuf,
    pub(crate) override_file: PathBuf,
    /// `KELEV_DATA_DIR`, where persistent binds live.
    data_dir: PathBuf,
    /// What compose's calls on it add to the environment.
    env: Vec<(String, String)>,
}

impl<'a> Release<'a> {
    pub(crate) fn new(
        layout: &Layout,
        project: &'a Project,
        commit: &CommitId,
    ) -> Result<Release<'a>, Error> {
        let dir = layout.release(&project.name, commit);
        let compose_file = find_compose_file(project, &dir)?;
        let data = layout.data(&project.name);
        crate::host::layout::create_dir(&data)?;
        let env = vec![
            ("KELEV_PROJECT".into(), project.name.to_string()),
            ("KELEV_COMMIT".into(), commit.to_string()),
            ("KELEV_DATA_DIR".into(), data.display().to_string()),
        ];
        Ok(Release {
            project,
            commit: commit.clone(),
            override_file: layout.override_file(&project.name, commit),
            data_dir: data,
            dir,
            compose_file,
            env,
        })
    }

    /// A release brought up before, from the files recorded in its state.
    pub(crate) fn from_files(
        layout: &Layout,
        project: &'a Project,
        commit: &CommitId,
        files: &[PathBuf],
    ) -> Result<Release<'a>, Error> {
        let mut release = Release::new(layout, project, commit)?;
        if let [compose_file, override_file] = files {
            release.compose_file = compose_file.clone();
            release.override_file = override_file.clone();
        }
        Ok(release)
    }

    pub(crate) fn compose_files(&self) -> Vec<PathBuf> {
        vec![self.compose_file.clone(), self.override_file.clone()]
    }

    /// What compose works on: the release with the agent's override, or (`with_override`
    /// false) its own compose file alone.
    pub(crate) fn compose(&self, with_override: bool) -> ComposeProject {
        let files = if with_override {
            self.compose_files()
        } else {
            vec![self.compose_file.clone()]
        };
        ComposeProject::release(
            &self.project.name,
            self.dir.clone(),
            files,
            self.env.clone(),
        )
    }

    /// The project's compose file as compose normalizes it (`compose config`), kept beside the
    /// override once made: a release directory never changes, so neither does this (the cache
    /// names the compose file it was made from, in case the manifest points at another one).
    fn normalized(&self, docker: &Docker) -> Result<Value, Error> {
        let cache = self.override_file.with_extension("config.json");
        let cached: Option<Value> = std::fs::read(&cache)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok());
        let source = self.compose_file.display().to_string();
        if let Some(cached) = cached.filter(|c| c["compose_file"] == source.as_str()) {
            return Ok(cached["config"].clone());
        }
        let out = docker.compose_capture(&self.compose(false).config())?;
        if !out.status.success() {
            return Err(self.data_error(ComposeProblem::Refused {
                reason: out.stderr.lines().last().unwrap_or("").trim().to_owned(),
            }));
        }
        let config: Value = serde_json::from_slice(&out.stdout).map_err(|e| {
            self.data_error(ComposeProblem::Unreadable {
                reason: e.to_string(),
            })
        })?;
        let entry = serde_json::json!({"compose_file": source, "config": config});
        // It may hold values interpolated from the project's `.env`.
        crate::host::layout::write_private(&cache, entry.to_string().as_bytes())?;
        Ok(config)
    }

    /// The normalized compose file's services.
    fn services(&self, docker: &Docker) -> Result<Map<String, Value>, Error> {
        let config = self.normalized(docker)?;
        Ok(config
            .get("services")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default())
    }

    /// The release's tasks, as its compose file declares them.
    pub(crate) fn tasks(&self, docker: &Docker) -> Result<Vec<Task>, Error> {
        self.tasks_of(&self.services(docker)?)
    }

    fn tasks_of(&self, services: &Map<String, Value>) -> Result<Vec<Task>, Error> {
        task::tasks(services).map_err(|reason| self.data_error(ComposeProblem::BadTask { reason }))
    }

    /// Compute the override for this release from the project's normalized compose config and
    /// write it next to (not inside) the release directory.
    pub(crate) fn write_override(
        &self,
        docker: &Docker,
        traefik: &Traefik,
        secrets: &Secrets,
    ) -> Result<Override, Error> {
        let services = self.services(docker)?;
        let tasks = self.tasks_of(&services)?;
        let routed = self.routed_service(&services)?;
        let binds = persistent_binds(&services, &self.dir, &self.data_dir, |path| {
            std::fs::symlink_metadata(path).is_ok_and(|m| m.is_file())
        });
        let mut persistent = Vec::with_capacity(binds.len());
        for bind in &binds {
            persistent.push((bind.clone(), prepare(bind, &self.dir)?));
        }
        let text = override_json(
            self.project,
            &self.commit,
            &services,
            &routed,
            traefik,
            secrets,
            &binds,
        );
        // It may hold the project's secrets.
        crate::host::layout::write_private(&self.override_file, text.as_bytes())?;
        let definition = &services[&routed];
        let blocker = if definition
            .get("ports")
            .and_then(Value::as_array)
            .is_some_and(|p| !p.is_empty())
        {
            Some("it publishes `ports`")
        } else if definition.get("container_name").is_some() {
            Some("it sets `container_name`")
        } else {
            None
        };
        let pulled = services
            .iter()
            .filter(|(_, definition)| definition.get("build").is_none())
            .filter_map(|(service, definition)| {
                let image = definition.get("image")?.as_str()?;
                Some((service.clone(), image.to_owned()))
            })
            .collect();
        Ok(Override {
            pulled,
            persistent,
            services: services
                .iter()
                .filter(|(_, d)| !task::is_task(d))
                .map(|(s, _)| s.clone())
                .collect(),
            tasks,
            rolling_blocker: blocker.map(|b| format!("`{routed}` cannot run twice at once: {b}")),
            routed,
        })
    }

    /// The service Traefik routes to: the manifest's `service`, else the one long-running
    /// service there is (tasks do not count).
    fn routed_service(&self, services: &Map<String, Value>) -> Result<String, Error> {
        let serving: Vec<&String> = services
            .iter()
            .filter(|(_, d)| !task::is_task(d))
            .map(|(s, _)| s)
            .collect();
        match &self.project.service {
            Some(service) if services.get(service).is_some_and(task::is_task) => Err(self
                .data_error(ComposeProblem::RoutedTask {
                    service: service.clone(),
                })),
            Some(service) if services.contains_key(service) => Ok(service.clone()),
            Some(service) => Err(self.data_error(ComposeProblem::NoSuchService {
                service: service.clone(),
                has: services.keys().cloned().collect::<Vec<_>>().join(", "),
            })),
            None => match serving[..] {
                [one] => Ok(one.clone()),
                _ => Err(self.data_error(ComposeProblem::WhichService {
                    count: serving.len(),
                })),
            },
        }
    }

    fn data_error(&self, problem: ComposeProblem) -> Error {
        Error::ComposeFile {
            project: self.project.name.clone(),
            problem,
        }
    }

    pub(crate) fn build(&self, docker: &Docker, out: &mut dyn Write) -> Result<(), Error> {
        docker.compose(&self.compose(true).build(), out)
    }

    /// Bring every service up from its images: compose recreates those whose configuration
    /// changed, or every one.
    pub(crate) fn up(
        &self,
        docker: &Docker,
        recreate: Recreate,
        out: &mut dyn Write,
    ) -> Result<(), Error> {
        docker.compose(&self.compose(true).up(recreate), out)
    }

    /// Recreate `services`, whether or not their configuration changed (the others, once a
    /// zero-downtime rollout replaced the routed one).
    pub(crate) fn recreate(
        &self,
        docker: &Docker,
        services: &[&str],
        out: &mut dyn Write,
    ) -> Result<(), Error> {
        if services.is_empty() {
            return Ok(());
        }
        docker.compose(&self.compose(true).recreate(services), out)
    }

    /// `count` containers of `service` from this release, keeping the ones there are (of
    /// whatever release), the new ones started or, with `start` false, only created: the first
    /// step of a zero-downtime rollout (created), and its last (started).
    pub(crate) fn scale(
        &self,
        docker: &Docker,
        service: &str,
        count: u32,
        start: bool,
        out: &mut dyn Write,
    ) -> Result<(), Error> {
        docker.compose(&self.compose(true).scale(service, count, start), out)
    }
}
