//! `config.json`: the operator's description of the AWS side (regions, sizes, who may SSH in,
//! deploy keys, alerts, state bucket), which `gen-config` turns into the Terragrunt tree.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::aws_names::{bucket_name, instance_type, region_name};
use crate::error::Error;

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct InfraConfig {
    /// Prefix of every AWS resource name.
    pub(crate) name: String,
    pub(crate) domain: String,
    pub(crate) regions: Vec<String>,
    pub(crate) instance_type: String,
    pub(crate) data_volume_size_gb: u32,
    pub(crate) allowed_ssh_cidrs: Vec<String>,
    pub(crate) admin_ssh_public_key: String,
    pub(crate) deploy_keys: BTreeMap<String, DeployKey>,
    pub(crate) alert_email: String,
    pub(crate) state_bucket: String,
    pub(crate) state_region: String,
    #[serde(default = "default_retention")]
    pub(crate) log_retention_days: u32,
    /// `owner/name` on GitHub: the agent's releases come from it, and CI's role trusts its tags.
    pub(crate) github_repository: String,
    /// The kelev-agent release every new instance installs, checked against this SHA-256.
    pub(crate) agent: AgentPin,
}

/// A release of `github_repository` (tag `v{version}`), and the SHA-256 its `SHA256SUMS` lists for
/// `kelev-agent-{version}-x86_64-linux-musl` (the AMIs are amd64).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AgentPin {
    pub(crate) version: String,
    pub(crate) sha256: String,
}

/// The example config.json's `agent.sha256`: no release has this checksum. gen-config warns, and
/// the host module refuses it at plan time (docs/runbook.md, "Pin the agent").
pub(crate) const PLACEHOLDER_SHA256: &str =
    "0000000000000000000000000000000000000000000000000000000000000000";

impl AgentPin {
    /// Where the instance downloads the binary: the release of `repository` that `release.yml`
    /// publishes for the tag `v{version}`.
    pub(crate) fn url(&self, repository: &str) -> String {
        let v = &self.version;
        format!("https://github.com/{repository}/releases/download/v{v}/kelev-agent-{v}-x86_64-linux-musl")
    }

    fn validate(&self) -> Result<(), String> {
        // The rule install-agent.sh applies to its VERSION argument.
        let (core, suffix) = match self.version.find(['-', '+']) {
            Some(at) => self.version.split_at(at),
            None => (self.version.as_str(), ""),
        };
        let numbers: Vec<&str> = core.split('.').collect();
        let version_ok = numbers.len() == 3
            && numbers
                .iter()
                .all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            && (suffix.is_empty()
                || suffix.len() > 1
                    && suffix[1..]
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-')));
        if !version_ok {
            return Err(format!(
                "`agent.version` `{}` is not a release version like 0.1.0 (the tag v0.1.0 without its `v`)",
                self.version
            ));
        }
        let sha_ok = self.sha256.len() == 64
            && self
                .sha256
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !sha_ok {
            return Err(format!(
                "`agent.sha256` `{}` is not 64 lowercase hex digits (the kelev-agent-{}-x86_64-linux-musl line of the release's SHA256SUMS)",
                self.sha256, self.version
            ));
        }
        Ok(())
    }
}

fn default_retention() -> u32 {
    30
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DeployKey {
    pub(crate) public_key: String,
    pub(crate) verbs: Vec<String>,
    pub(crate) projects: Vec<String>,
}

impl InfraConfig {
    pub(crate) fn load(path: &Path) -> Result<InfraConfig, Error> {
        let config: InfraConfig = crate::error::read_json(path)?;
        config
            .validate()
            .map_err(|message| Error::data_at(path, message))?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), String> {
        let simple = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        };
        if !simple(&self.name) || self.name.len() > 24 {
            return Err(format!(
                "`name` `{}` must be 1 to 24 of [a-z0-9-]",
                self.name
            ));
        }
        if self.regions.is_empty() {
            return Err("`regions` is empty".into());
        }
        for region in &self.regions {
            region_name(region).map_err(|e| format!("`regions`: {e}"))?;
        }
        region_name(&self.state_region).map_err(|e| format!("`state_region`: {e}"))?;
        once_each("regions", &self.regions)?;
        instance_type(&self.instance_type)?;
        if !(8..=16384).contains(&self.data_volume_size_gb) {
            return Err("`data_volume_size_gb` must be between 8 and 16384".into());
        }
        for cidr in &self.allowed_ssh_cidrs {
            crate::allow_ssh::parse_cidr(cidr).map_err(|e| format!("`allowed_ssh_cidrs`: {e}"))?;
        }
        once_each("allowed_ssh_cidrs", &self.allowed_ssh_cidrs)?;
        bucket_name(&self.state_bucket)?;
        for (id, key) in &self.deploy_keys {
            if !simple(id) {
                return Err(format!("deploy key id `{id}` must be [a-z0-9-]"));
            }
            if !is_public_key(&key.public_key) {
                return Err(format!(
                    "deploy key `{id}`: `public_key` is not one OpenSSH public key line"
                ));
            }
            // The agent's own check of agent.json's `keys` (init.sh asks the agent again).
            for (field, list) in [("verbs", &key.verbs), ("projects", &key.projects)] {
                if list.is_empty() {
                    return Err(format!("deploy key `{id}`: `{field}` is empty"));
                }
                once_each(field, list).map_err(|e| format!("deploy key `{id}`: {e}"))?;
            }
            kelev_core::check_key_policy(
                key.verbs.iter().map(String::as_str),
                key.projects.iter().map(String::as_str),
                kelev_core::AGENT_VERBS,
            )
            .map_err(|e| format!("deploy key `{id}`: {e}"))?;
        }
        if !is_public_key(&self.admin_ssh_public_key) {
            return Err("`admin_ssh_public_key` is not one OpenSSH public key line".into());
        }
        // The retention periods CloudWatch Logs accepts.
        const RETENTION_DAYS: [u32; 23] = [
            1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
            2922, 3288, 3653, 0,
        ];
        if self.log_retention_days == 0 || !RETENTION_DAYS.contains(&self.log_retention_days) {
            return Err(format!(
                "`log_retention_days` {} is not a CloudWatch Logs retention period (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, ...)",
                self.log_retention_days
            ));
        }
        if !self.alert_email.contains('@') {
            return Err("`alert_email` is not an email address".into());
        }
        // GitHub's rules: an owner of [A-Za-z0-9-], a repository of [A-Za-z0-9._-].
        let repo_ok = self
            .github_repository
            .split_once('/')
            .is_some_and(|(owner, name)| {
                !owner.is_empty()
                    && owner.len() <= 39
                    && owner
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                    && !name.is_empty()
                    && name.len() <= 100
                    && !matches!(name, "." | "..")
                    && name
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
            });
        if !repo_ok {
            return Err(format!(
                "`github_repository` `{}` is not a GitHub repository `owner/name`",
                self.github_repository
            ));
        }
        self.agent.validate()?;
        Ok(())
    }
}

/// A list that names something twice is a typo, or a copy that was meant to be edited.
fn once_each(field: &str, list: &[String]) -> Result<(), String> {
    for (at, item) in list.iter().enumerate() {
        if list[..at].contains(item) {
            return Err(format!("`{field}` lists `{item}` twice"));
        }
    }
    Ok(())
}

/// `ssh-ed25519 AAAA... comment`: one line, a known key type, base64 body. Anything else could
/// smuggle options into authorized_keys.
fn is_public_key(line: &str) -> bool {
    let mut parts = line.split(' ');
    let kind = parts.next().unwrap_or("");
    let body = parts.next().unwrap_or("");
    let known = [
        "ssh-ed25519",
        "ecdsa-sha2-nistp256",
        "ecdsa-sha2-nistp384",
        "ssh-rsa",
        "sk-ssh-ed25519@openssh.com",
    ];
    known.contains(&kind)
        && body.len() > 40
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
        && !line.contains(['\n', '\r', '"'])
}
