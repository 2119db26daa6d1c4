//! `projects.json`: which projects the host runs, where their code lives and which domains route
//! to them. Parsed strictly: unknown fields, bad names and clashing domains are refused whole.

use std::collections::BTreeSet;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::{HashIgnore, ManifestError, ProjectName};

/// The largest manifest either binary reads, so a hostile stdin cannot exhaust memory.
pub const MANIFEST_MAX_BYTES: usize = 1024 * 1024;

#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    pub domain: Option<String>,
    /// Sorted by name, which is also the order locks are taken in.
    pub projects: Vec<Project>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Project {
    pub name: ProjectName,
    pub repo: String,
    pub git_ref: String,
    pub domains: Vec<String>,
    pub service: Option<String>,
    pub port: u16,
    pub compose_file: Option<String>,
    pub hash_ignore: HashIgnore,
    pub rollout: Rollout,
}

/// How a new release replaces the running one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Rollout {
    /// `compose up` recreates the containers: a short gap while they swap.
    #[default]
    Recreate,
    /// Start a second container of the routed service, wait until it is healthy, then stop
    /// the old one. For stateless services without `ports` or `container_name`.
    ZeroDowntime,
}

impl Rollout {
    pub fn name(self) -> &'static str {
        match self {
            Rollout::Recreate => "recreate",
            Rollout::ZeroDowntime => "zero-downtime",
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    domain: Option<String>,
    projects: Vec<RawProject>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProject {
    name: String,
    repo: String,
    #[serde(rename = "ref")]
    git_ref: Option<String>,
    domains: Option<Vec<String>>,
    service: Option<String>,
    port: Option<u16>,
    compose_file: Option<String>,
    hash_ignore: Option<Vec<String>>,
    rollout: Option<Rollout>,
}

impl Manifest {
    pub fn load(path: &Path) -> Result<Manifest, ManifestError> {
        let bytes = std::fs::read(path).map_err(|source| ManifestError::Io {
            path: path.to_owned(),
            source,
        })?;
        Manifest::parse(&bytes)
    }

    pub fn parse(bytes: &[u8]) -> Result<Manifest, ManifestError> {
        if bytes.len() > MANIFEST_MAX_BYTES {
            return Err(ManifestError::TooLarge {
                max: MANIFEST_MAX_BYTES,
            });
        }
        let raw: RawManifest =
            serde_json::from_slice(bytes).map_err(|source| ManifestError::Parse { source })?;
        if let Some(domain) = &raw.domain {
            if !is_host_name(domain) {
                return Err(ManifestError::Invalid {
                    message: format!("`domain` `{domain}` is not a valid host name"),
                });
            }
        }
        let mut projects = Vec::with_capacity(raw.projects.len());
        let mut names = BTreeSet::new();
        let mut domains_seen: Vec<(String, ProjectName)> = Vec::new();
        for raw_project in raw.projects {
            let project = Project::from_raw(raw_project, raw.domain.as_deref())?;
            if !names.insert(project.name.clone()) {
                return Err(ManifestError::Invalid {
                    message: format!("project `{}` is listed twice", project.name),
                });
            }
            for domain in &project.domains {
                if let Some((_, other)) = domains_seen.iter().find(|(d, _)| d == domain) {
                    return Err(ManifestError::Project {
                        project: project.name.to_string(),
                        message: format!("domain `{domain}` is already routed to `{other}`"),
                    });
                }
                domains_seen.push((domain.clone(), project.name.clone()));
            }
            projects.push(project);
        }
        projects.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(Manifest {
            domain: raw.domain,
            projects,
        })
    }

    pub fn project(&self, name: &ProjectName) -> Option<&Project> {
        self.projects.iter().find(|p| &p.name == name)
    }
}

impl Project {
    fn from_raw(raw: RawProject, domain: Option<&str>) -> Result<Project, ManifestError> {
        let invalid = |message: String| ManifestError::Project {
            project: raw.name.clone(),
            message,
        };
        let name = ProjectName::parse(&raw.name).ok_or_else(|| ManifestError::Invalid {
            message: format!(
                "project name `{}` must match ^[a-z0-9][a-z0-9-]{{0,62}}$",
                raw.name.escape_default()
            ),
        })?;
        if !is_repo_url(&raw.repo) {
            return Err(invalid(format!(
                "`repo` `{}` is not a git URL (https://, http://, ssh://, git://, file:// or user@host:path)",
                raw.repo.escape_default()
            )));
        }
        let git_ref = raw.git_ref.clone().unwrap_or_else(|| "main".to_owned());
        if !is_ref_name(&git_ref) {
            return Err(invalid(format!(
                "`ref` `{}` is not a branch or tag name",
                git_ref.escape_default()
            )));
        }
        let domains = match &raw.domains {
            Some(domains) => domains.clone(),
            None => match domain {
                Some(domain) => vec![format!("{}.{domain}", raw.name)],
                None => {
                    return Err(invalid(
                        "has no `domains` and the manifest has no `domain` to default to".into(),
                    ))
                }
            },
        };
        if domains.is_empty() {
            return Err(invalid("`domains` is empty".into()));
        }
        if let Some(bad) = domains.iter().find(|d| !is_host_name(d)) {
            return Err(invalid(format!(
                "domain `{}` is not a valid lowercase host name",
                bad.escape_default()
            )));
        }
        if let Some(service) = &raw.service {
            if !is_service_name(service) {
                return Err(invalid(format!(
                    "`service` `{}` is not a compose service name",
                    service.escape_default()
                )));
            }
        }
        let port = raw.port.unwrap_or(80);
        if port == 0 {
            return Err(invalid("`port` must be between 1 and 65535".into()));
        }
        if let Some(file) = &raw.compose_file {
            if !is_relative_path(file) {
                return Err(invalid(format!(
                    "`compose_file` `{}` must be a relative path inside the repository",
                    file.escape_default()
                )));
            }
        }
        let hash_ignore =
            HashIgnore::new(raw.hash_ignore.clone().unwrap_or_default()).map_err(|message| {
                ManifestError::Project {
                    project: raw.name.clone(),
                    message,
                }
            })?;
        Ok(Project {
            name,
            repo: raw.repo,
            git_ref,
            domains,
            service: raw.service,
            port,
            compose_file: raw.compose_file,
            hash_ignore,
            rollout: raw.rollout.unwrap_or_default(),
        })
    }
}

fn is_host_name(s: &str) -> bool {
    s.len() <= 253
        && s.split('.').count() >= 1
        && s.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'-'))
        })
}

fn is_repo_url(s: &str) -> bool {
    let printable = !s.is_empty()
        && s.len() <= 2048
        && s.bytes().all(|b| b.is_ascii_graphic())
        && !s.starts_with('-');
    let schemed = ["https://", "http://", "ssh://", "git://", "file://"]
        .iter()
        .any(|scheme| s.len() > scheme.len() && s.starts_with(scheme));
    let scp_like = s
        .split_once(':')
        .is_some_and(|(host, path)| host.contains('@') && !host.contains('/') && !path.is_empty());
    printable && (schemed || scp_like)
}

fn is_ref_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 255
        && !s.starts_with(['-', '/', '.'])
        && !s.ends_with(['/', '.'])
        && !s.contains("..")
        && !s.contains("//")
        && !s.ends_with(".lock")
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'/'))
}

fn is_service_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

fn is_relative_path(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 1024
        && !s.starts_with('/')
        && s.split('/').all(|c| !c.is_empty() && c != ".." && c != ".")
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<Manifest, String> {
        Manifest::parse(json.as_bytes()).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_fill_in() {
        let m = parse(
            r#"{"domain":"kelev.dev","projects":[{"name":"fun-n-games","repo":"https://github.com/o/f.git"}]}"#,
        )
        .unwrap();
        let p = &m.projects[0];
        assert_eq!(p.git_ref, "main");
        assert_eq!(p.domains, ["fun-n-games.kelev.dev"]);
        assert_eq!(p.port, 80);
        assert_eq!(p.service, None);
    }

    #[test]
    fn sorted_by_name() {
        let m = parse(
            r#"{"domain":"d.dev","projects":[{"name":"b","repo":"file:///b"},{"name":"a","repo":"file:///a"}]}"#,
        )
        .unwrap();
        let names: Vec<_> = m.projects.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
    }

    #[test]
    fn refusals_name_the_problem() {
        let cases = [
            (r#"{"projects":[],"extra":1}"#, "unknown field `extra`"),
            (
                r#"{"domain":"d.dev","projects":[{"name":"a","repo":"file:///a","colour":"red"}]}"#,
                "unknown field `colour`",
            ),
            (
                r#"{"domain":"d.dev","projects":[{"name":"a"}]}"#,
                "missing field `repo`",
            ),
            (
                r#"{"domain":"d.dev","projects":[{"name":"A","repo":"file:///a"}]}"#,
                "project name `A` must match",
            ),
            (
                r#"{"domain":"d.dev","projects":[{"name":"a","repo":"file:///a"},{"name":"a","repo":"file:///b"}]}"#,
                "project `a` is listed twice",
            ),
            (
                r#"{"projects":[{"name":"a","repo":"file:///a"}]}"#,
                "has no `domains`",
            ),
            (
                r#"{"domain":"d.dev","projects":[{"name":"a","repo":"--upload-pack=sh"}]}"#,
                "is not a git URL",
            ),
            (
                r#"{"domain":"d.dev","projects":[{"name":"a","repo":"file:///a","domains":["x`) || Host(`y"]}]}"#,
                "is not a valid lowercase host name",
            ),
            (
                r#"{"domain":"d.dev","projects":[{"name":"a","repo":"file:///a","compose_file":"../x.yml"}]}"#,
                "must be a relative path",
            ),
            (
                r#"{"domain":"d.dev","projects":[{"name":"a","repo":"file:///a","port":0}]}"#,
                "`port` must be between",
            ),
            (
                r#"{"domain":"d.dev","projects":[{"name":"a","repo":"file:///a"},{"name":"b","repo":"file:///b","domains":["a.d.dev"]}]}"#,
                "already routed to `a`",
            ),
            (
                r#"{"domain":"d.dev","projects":[{"name":"a","repo":"file:///a","ref":"HEAD~1"}]}"#,
                "is not a branch or tag name",
            ),
            (
                r#"{"domain":"d.dev","projects":[{"name":"a","repo":"file:///a","hash_ignore":["a/[b"]}]}"#,
                "hash_ignore",
            ),
            (
                r#"{"domain":"d.dev","projects":[{"name":"a","repo":"file:///a","rollout":"blue-green"}]}"#,
                "unknown variant `blue-green`",
            ),
        ];
        for (json, expected) in cases {
            let err = parse(json).expect_err(json);
            assert!(
                err.contains(expected),
                "{json}\n  gave: {err}\n  expected: {expected}"
            );
        }
    }

    #[test]
    fn too_large_is_refused_before_parsing() {
        let big = vec![b' '; MANIFEST_MAX_BYTES + 1];
        assert!(matches!(
            Manifest::parse(&big),
            Err(ManifestError::TooLarge { .. })
        ));
    }
}
