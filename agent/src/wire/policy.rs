//! What a key may do: the verbs it may run and the projects it may touch. A key that is not in
//! `agent.json` may do nothing. Which verbs `"*"` covers is each verb's [`Grant`], declared in
//! its spec: a new verb is not handed to every CI key by accident.

use serde::Deserialize;

use kelev_core::{KeyPolicyError, ProjectName};

use crate::wire::spec::{Grant, Spec};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct KeyPolicy {
    verbs: Vec<Entry>,
    projects: Vec<Entry>,
}

/// One item of a key's `verbs` or `projects`: `"*"`, or a name.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(from = "String")]
enum Entry {
    Any,
    Named(String),
}

impl From<String> for Entry {
    fn from(text: String) -> Entry {
        if text == "*" {
            Entry::Any
        } else {
            Entry::Named(text)
        }
    }
}

impl Entry {
    fn names(&self, name: &str) -> bool {
        matches!(self, Entry::Named(n) if n == name)
    }
}

/// Why a key may not run a command (exit 77).
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Denied {
    #[error(
        "no key id: the authorized_keys line must run `kelev-agent --key ID`\n\
         hint: inside an SSH session every run counts as remote; \
         to run locally use `env -u SSH_CONNECTION kelev-agent ...`"
    )]
    NoKeyId,
    #[error("key `{}` is not in the agent config", .key.escape_default())]
    UnknownKey { key: String },
    #[error("this key may not run `{verb}`")]
    Verb { verb: &'static str },
    #[error("this key may not touch project `{project}`")]
    Project { project: ProjectName },
    #[error("only a key for all projects (`\"*\"`) may run `{verb}`")]
    NotAllProjects { verb: &'static str },
}

impl Entry {
    fn text(&self) -> &str {
        match self {
            Entry::Any => "*",
            Entry::Named(name) => name,
        }
    }
}

impl KeyPolicy {
    /// Every verb it names must be one of `verbs`, every project a valid name: the rule
    /// `kelev gen-config` applies to config.json's `deploy_keys` too.
    pub(crate) fn validate(&self, verbs: &[Spec]) -> Result<(), KeyPolicyError> {
        let known: Vec<&str> = verbs.iter().map(|spec| spec.name).collect();
        kelev_core::check_key_policy(
            self.verbs.iter().map(Entry::text),
            self.projects.iter().map(Entry::text),
            &known,
        )
    }

    fn allows_verb(&self, spec: &Spec) -> bool {
        match spec.grant {
            Grant::Anyone => true,
            Grant::Star => self
                .verbs
                .iter()
                .any(|v| *v == Entry::Any || v.names(spec.name)),
            Grant::Named => self.verbs.iter().any(|v| v.names(spec.name)),
        }
    }

    pub(crate) fn allows_project(&self, project: &ProjectName) -> bool {
        self.projects
            .iter()
            .any(|p| *p == Entry::Any || p.names(project.as_str()))
    }

    fn allows_all_projects(&self) -> bool {
        self.projects.contains(&Entry::Any)
    }

    /// Whether this key may run the verb of `spec` on `project` (the project filter for
    /// project-less verbs such as `status` and `rebuild-all` is applied by those verbs).
    pub(crate) fn check(&self, spec: &Spec, project: Option<&ProjectName>) -> Result<(), Denied> {
        if !self.allows_verb(spec) {
            return Err(Denied::Verb { verb: spec.name });
        }
        if let Some(project) = project {
            if !self.allows_project(project) {
                return Err(Denied::Project {
                    project: project.clone(),
                });
            }
        }
        // Changing the manifest changes every project: only a key for all projects may do it.
        if spec.all_projects && !self.allows_all_projects() {
            return Err(Denied::NotAllProjects { verb: spec.name });
        }
        Ok(())
    }
}

#[cfg(test)]
pub(crate) fn policy(verbs: &[&str], projects: &[&str]) -> KeyPolicy {
    KeyPolicy {
        verbs: verbs.iter().map(|s| Entry::from(s.to_string())).collect(),
        projects: projects
            .iter()
            .map(|s| Entry::from(s.to_string()))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    /// core's list, which `kelev gen-config` checks config.json against, is this agent's.
    #[test]
    fn verb_names_are_cores() {
        let names: Vec<&str> = crate::verbs::VERBS.iter().map(|spec| spec.name).collect();
        assert_eq!(names, kelev_core::AGENT_VERBS);
    }
}
