//! What a key may do: the verbs it may run and the projects it may touch. A key that is not in
//! `agent.json` may do nothing.

use serde::Deserialize;

use kelev_core::ProjectName;

use crate::command::{Command, Verb};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct KeyPolicy {
    verbs: Vec<String>,
    projects: Vec<String>,
}

const ANY: &str = "*";

impl KeyPolicy {
    pub(crate) fn validate(&self) -> Result<(), String> {
        for verb in &self.verbs {
            if verb != ANY && Verb::from_name(verb).is_none() {
                return Err(format!("unknown verb `{}`", verb.escape_default()));
            }
        }
        for project in &self.projects {
            if project != ANY && ProjectName::parse(project).is_none() {
                return Err(format!(
                    "`{}` is not a project name",
                    project.escape_default()
                ));
            }
        }
        Ok(())
    }

    pub(crate) fn allows_verb(&self, verb: Verb) -> bool {
        // `help` and `version` reveal nothing about the host's projects. The secrets verbs
        // must be named: a deploy key's "*" does not reach a project's passwords.
        let secret = matches!(verb, Verb::SecretsPut | Verb::Secrets | Verb::SecretsUnset);
        matches!(verb, Verb::Help | Verb::Version)
            || self
                .verbs
                .iter()
                .any(|v| v == verb.name() || (v == ANY && !secret))
    }

    pub(crate) fn allows_project(&self, project: &ProjectName) -> bool {
        self.projects
            .iter()
            .any(|p| p == ANY || p == project.as_str())
    }

    pub(crate) fn allows_all_projects(&self) -> bool {
        self.projects.iter().any(|p| p == ANY)
    }

    /// Whether this key may run `command` (the project filter for project-less verbs such as
    /// `status` and `rebuild-all` is applied by those verbs).
    pub(crate) fn check(&self, command: &Command) -> Result<(), String> {
        let verb = command.verb();
        if !self.allows_verb(verb) {
            return Err(format!("this key may not run `{}`", verb.name()));
        }
        if let Some(project) = command.project() {
            if !self.allows_project(project) {
                return Err(format!("this key may not touch project `{project}`"));
            }
        }
        // Changing the manifest changes every project: only a key for all projects may do it.
        if verb == Verb::ManifestPut && !self.allows_all_projects() {
            return Err("only a key for all projects (`\"*\"`) may run `manifest-put`".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(verbs: &[&str], projects: &[&str]) -> KeyPolicy {
        KeyPolicy {
            verbs: verbs.iter().map(|s| s.to_string()).collect(),
            projects: projects.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn cmd(line: &str) -> Command {
        Command::parse_line(line.as_bytes()).unwrap()
    }

    #[test]
    fn table() {
        let ci = policy(&["*"], &["*"]);
        let fun = policy(&["deploy", "status"], &["fun-n-games"]);
        let nothing = policy(&[], &[]);
        let cases = [
            (&ci, "deploy anything", true),
            (&ci, "manifest-put", true),
            (&ci, "remove x", true),
            (&fun, "deploy fun-n-games", true),
            (&fun, "status fun-n-games --json", true),
            (&fun, "status", true),
            (&fun, "deploy other", false),
            (&fun, "status other", false),
            (&fun, "rebuild fun-n-games", false),
            (&fun, "logs fun-n-games", false),
            (&fun, "manifest-put", false),
            (&fun, "rebuild-all", false),
            (&fun, "help", true),
            (&fun, "version", true),
            (&nothing, "status", false),
            (&nothing, "version", true),
            (&policy(&["manifest-put"], &["a"]), "manifest-put", false),
            (&ci, "secrets-put a", false),
            (&ci, "secrets a", false),
            (&policy(&["*", "secrets"], &["*"]), "secrets a", true),
            (&policy(&["secrets-put"], &["a"]), "secrets-put a", true),
            (&policy(&["secrets-put"], &["a"]), "secrets-put b", false),
        ];
        for (policy, line, allowed) in cases {
            assert_eq!(
                policy.check(&cmd(line)).is_ok(),
                allowed,
                "{line} with {policy:?}"
            );
        }
    }
}
