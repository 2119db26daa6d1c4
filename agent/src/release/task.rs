//! Tasks: services of a project's compose file that run to their end rather than serve
//! (a migration, a backfill), declared with labels on the service (docs/commands.md, "Tasks"):
//!
//! ```yaml
//! migrate:
//!   build: .
//!   command: ["/app/migrate"]
//!   labels:
//!     dev.kelev.task: migrate          # its name
//!     dev.kelev.task.release: "true"   # run before each new release starts
//! ```
//!
//! Labels rather than an `x-kelev` extension: compose copies a service's labels onto every
//! container it makes of it, `compose run` ones too, so Docker's own listing says which
//! containers are a task's, and `status`, `unchanged` and the gate leave them out without
//! reading the compose file.

use serde_json::{Map, Value};

/// The label that names a service's task.
pub(crate) const TASK_LABEL: &str = "dev.kelev.task";
/// The label that makes a task a release task (`"true"`).
pub(crate) const RELEASE_LABEL: &str = "dev.kelev.task.release";
/// The label the override puts on every service that runs to its end rather than serves: each
/// task, and each service whose compose file says `restart: "no"` (a one-shot that `up` starts,
/// docker-orchestrate's convention). Docker's listing leaves their containers out of the
/// project's state (`release/docker.rs`).
pub(crate) const ONE_SHOT_LABEL: &str = "dev.kelev.one-shot";
/// The compose profile the override puts tasks in, so that `up` never starts them.
pub(crate) const PROFILE: &str = "kelev-task";

/// One task of a release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Task {
    /// What `run <project> <task>` calls it.
    pub(crate) name: String,
    /// The compose service it runs as.
    pub(crate) service: String,
    /// Whether it runs before each new release of a deploy or rebuild starts.
    pub(crate) release: bool,
    /// The services it depends on (`depends_on`), started first if they are not running.
    pub(crate) depends_on: Vec<String>,
}

/// The label `key` of `definition` (a normalized service), if set.
fn label<'a>(definition: &'a Value, key: &str) -> Option<&'a str> {
    definition.get("labels")?.get(key)?.as_str()
}

/// Whether `definition` (a normalized service) declares a task.
pub(crate) fn is_task(definition: &Value) -> bool {
    label(definition, TASK_LABEL).is_some()
}

/// Whether `definition` (a normalized service) runs to its end: a task, or a service that
/// says `restart: "no"` in so many words.
pub(crate) fn is_one_shot(definition: &Value) -> bool {
    is_task(definition) || definition.get("restart").and_then(Value::as_str) == Some("no")
}

/// The tasks `services` (compose's normalized `services`) declare, in the order of their names;
/// or why they cannot be: a name that is not `[a-z0-9-]`, one name for two services.
pub(crate) fn tasks(services: &Map<String, Value>) -> Result<Vec<Task>, String> {
    let mut tasks: Vec<Task> = Vec::new();
    for (service, definition) in services {
        let Some(name) = label(definition, TASK_LABEL) else {
            continue;
        };
        if !valid_name(name) {
            return Err(format!(
                "service `{service}`: task name `{name}` is not lowercase letters, digits and `-`"
            ));
        }
        if let Some(other) = tasks.iter().find(|t| t.name == name) {
            return Err(format!(
                "task `{name}` is declared by two services, `{}` and `{service}`",
                other.service
            ));
        }
        let release = match label(definition, RELEASE_LABEL) {
            None | Some("false") => false,
            Some("true") => true,
            Some(other) => {
                return Err(format!(
                    "service `{service}`: `{RELEASE_LABEL}` is `{other}`, not `true` or `false`"
                ))
            }
        };
        let depends_on = definition
            .get("depends_on")
            .and_then(Value::as_object)
            .map(|deps| deps.keys().cloned().collect())
            .unwrap_or_default();
        tasks.push(Task {
            name: name.to_owned(),
            service: service.clone(),
            release,
            depends_on,
        });
    }
    tasks.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(tasks)
}

/// A task name: what the command grammar accepts as one word, and no more.
pub(crate) fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && !name.starts_with('-')
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn services(json: &str) -> Map<String, Value> {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn tasks_are_read_from_labels() {
        let s = services(
            r#"{"web":{"labels":{"a":"b"}},
                "migrate":{"labels":{"dev.kelev.task":"migrate","dev.kelev.task.release":"true"},
                           "depends_on":{"db":{"condition":"service_started"}}},
                "backfill":{"labels":{"dev.kelev.task":"backfill"}},
                "db":{}}"#,
        );
        assert_eq!(
            tasks(&s).unwrap(),
            [
                Task {
                    name: "backfill".into(),
                    service: "backfill".into(),
                    release: false,
                    depends_on: vec![],
                },
                Task {
                    name: "migrate".into(),
                    service: "migrate".into(),
                    release: true,
                    depends_on: vec!["db".into()],
                },
            ]
        );
        assert!(is_task(&s["migrate"]));
        assert!(!is_task(&s["web"]));
        assert!(is_one_shot(&s["migrate"]));
        assert!(!is_one_shot(&s["web"]));
        let seed = serde_json::json!({"restart": "no"});
        assert!(is_one_shot(&seed) && !is_task(&seed));
        assert!(!is_one_shot(
            &serde_json::json!({"restart": "unless-stopped"})
        ));
    }

    #[test]
    fn bad_declarations_are_refused() {
        for (json, says) in [
            (
                r#"{"a":{"labels":{"dev.kelev.task":"Mig rate"}}}"#,
                "service `a`: task name `Mig rate` is not lowercase letters, digits and `-`",
            ),
            (
                r#"{"a":{"labels":{"dev.kelev.task":"m"}},"b":{"labels":{"dev.kelev.task":"m"}}}"#,
                "task `m` is declared by two services, `a` and `b`",
            ),
            (
                r#"{"a":{"labels":{"dev.kelev.task":"m","dev.kelev.task.release":"yes"}}}"#,
                "service `a`: `dev.kelev.task.release` is `yes`, not `true` or `false`",
            ),
        ] {
            assert_eq!(tasks(&services(json)).unwrap_err(), says);
        }
        assert!(!valid_name("-x"));
        assert!(valid_name("migrate-2"));
    }
}
