//! A key's policy as the operator writes it: `keys` in agent.json, `deploy_keys` in config.json.
//! One check for both, so `kelev gen-config` on the laptop refuses what the agent on the host
//! would refuse (after the instance was replaced).

use crate::ProjectName;

/// Every verb of `kelev-agent`, in the order its `help` lists them. The agent's test
/// `verb_names_are_cores` keeps this equal to its verb table.
pub const AGENT_VERBS: &[&str] = &[
    "deploy",
    "clone",
    "rebuild",
    "rebuild-all",
    "status",
    "logs",
    "run",
    "manifest",
    "manifest-put",
    "remove",
    "rollback",
    "secrets-put",
    "secrets",
    "secrets-unset",
    "registry-login",
    "help",
    "version",
];

/// What is wrong with a key's `verbs` or `projects`.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum KeyPolicyError {
    #[error("`verbs`: unknown verb `{}` (known: {})", .verb.escape_default(), AGENT_VERBS.join(", "))]
    UnknownVerb { verb: String },
    #[error("`projects`: `{}` is not a project name (^[a-z0-9][a-z0-9-]{{0,62}}$)", .project.escape_default())]
    BadProject { project: String },
}

/// Each of `verbs` must be `"*"` or one of `known` (the agent passes its verb table, the CLI
/// [`AGENT_VERBS`]); each of `projects` `"*"` or a valid project name.
pub fn check_key_policy<'a>(
    verbs: impl IntoIterator<Item = &'a str>,
    projects: impl IntoIterator<Item = &'a str>,
    known: &[&str],
) -> Result<(), KeyPolicyError> {
    if let Some(verb) = verbs.into_iter().find(|v| *v != "*" && !known.contains(v)) {
        return Err(KeyPolicyError::UnknownVerb { verb: verb.into() });
    }
    if let Some(project) = projects
        .into_iter()
        .find(|p| *p != "*" && ProjectName::parse(p).is_none())
    {
        return Err(KeyPolicyError::BadProject {
            project: project.into(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let check = |verbs: &[&str], projects: &[&str]| {
            check_key_policy(verbs.iter().copied(), projects.iter().copied(), AGENT_VERBS)
                .map_err(|e| e.to_string())
        };
        assert_eq!(check(&["*"], &["*"]), Ok(()));
        assert_eq!(check(&["deploy", "status"], &["fun-n-games"]), Ok(()));
        assert_eq!(
            check(&["depoy"], &["*"]).unwrap_err(),
            "`verbs`: unknown verb `depoy` (known: deploy, clone, rebuild, rebuild-all, status, \
             logs, run, manifest, manifest-put, remove, rollback, secrets-put, secrets, secrets-unset, registry-login, \
             help, version)"
        );
        assert_eq!(
            check(&["*"], &["Fun N Games"]).unwrap_err(),
            "`projects`: `Fun N Games` is not a project name (^[a-z0-9][a-z0-9-]{0,62}$)"
        );
        assert_eq!(
            check(&["*"], &["../x"]).unwrap_err(),
            "`projects`: `../x` is not a project name (^[a-z0-9][a-z0-9-]{0,62}$)"
        );
    }
}
