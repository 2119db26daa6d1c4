//! `config.json`: the operator's description of the AWS side (regions, sizes, who may SSH in,
//! deploy keys, alerts, state bucket), which `gen-config` turns into the Terragrunt tree.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

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
        for region in self.regions.iter().chain([&self.state_region]) {
            if !simple(region) {
                return Err(format!("region `{region}` is not an AWS region name"));
            }
        }
        if !(8..=16384).contains(&self.data_volume_size_gb) {
            return Err("`data_volume_size_gb` must be between 8 and 16384".into());
        }
        for cidr in &self.allowed_ssh_cidrs {
            crate::allow_ssh::parse_cidr(cidr).map_err(|e| format!("`allowed_ssh_cidrs`: {e}"))?;
        }
        for (id, key) in &self.deploy_keys {
            if !simple(id) {
                return Err(format!("deploy key id `{id}` must be [a-z0-9-]"));
            }
            if !is_public_key(&key.public_key) {
                return Err(format!(
                    "deploy key `{id}`: `public_key` is not one OpenSSH public key line"
                ));
            }
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
        Ok(())
    }
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
