//! `projects.json`: which projects the host runs, where their code lives and which domains route
//! to them. Parsed strictly: unknown fields, bad names and clashing domains are refused whole,
//! with one line naming the manifest, the project and the field. The rules of a field that need
//! more than a line live beside it: `project_name.rs`, `repo_url.rs`, `git_ref.rs`,
//! `domain_name.rs`, `hash_ignore_glob.rs`.

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::error::Category;
use serde_json::Value;

use crate::domain_name::domain_problem;
use crate::fields::{kind, known_fields, optional_string, optional_strings, required_string};
use crate::git_ref::ref_problem;
use crate::hash_ignore_glob::glob_problem;
use crate::repo_url::repo_url_problem;
use crate::strict_json;
use crate::{HashIgnore, ManifestError, ManifestOrigin, ProjectName};

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

const MANIFEST_FIELDS: &[&str] = &["domain", "projects"];
const PROJECT_FIELDS: &[&str] = &[
    "name",
    "repo",
    "ref",
    "domains",
    "service",
    "port",
    "compose_file",
    "hash_ignore",
    "rollout",
];

impl Manifest {
    pub fn load(path: &Path) -> Result<Manifest, ManifestError> {
        let bytes = std::fs::read(path).map_err(|source| ManifestError::Io {
            path: path.to_owned(),
            source,
        })?;
        Manifest::parse(&bytes, &ManifestOrigin::File(path.to_owned()))
    }

    /// `bytes` as a manifest; errors name `origin`.
    pub fn parse(bytes: &[u8], origin: &ManifestOrigin) -> Result<Manifest, ManifestError> {
        Manifest::check(bytes).map_err(|problem| ManifestError::Refused {
            origin: origin.clone(),
            problem,
        })
    }

    fn check(bytes: &[u8]) -> Result<Manifest, String> {
        if bytes.len() > MANIFEST_MAX_BYTES {
            return Err(format!("larger than {MANIFEST_MAX_BYTES} bytes"));
        }
        let value = strict_json::parse(bytes).map_err(|e| match e.classify() {
            Category::Data => e.to_string(),
            _ => format!("not valid JSON: {e}"),
        })?;
        let Value::Object(top) = value else {
            return Err(format!(
                "must be an object, `{{\"domain\": ..., \"projects\": [...]}}`, not {}",
                kind(&value)
            ));
        };
        known_fields(&top, MANIFEST_FIELDS, "a manifest")?;
        let domain = optional_string(&top, "domain")?;
        if let Some(domain) = domain {
            if let Some(problem) = domain_problem(domain) {
                return Err(format!("`domain` `{}` {problem}", domain.escape_default()));
            }
        }
        let raw_projects = match top.get("projects") {
            Some(Value::Array(projects)) => projects,
            Some(other) => return Err(format!("`projects` must be a list, not {}", kind(other))),
            None => return Err("missing field `projects` (a list, `[]` for none)".into()),
        };
        let mut projects: Vec<Project> = Vec::with_capacity(raw_projects.len());
        for (index, raw) in raw_projects.iter().enumerate() {
            let project = Project::check(index, raw, domain)?;
            if projects.iter().any(|p| p.name == project.name) {
                return Err(format!("project `{}` is listed twice", project.name));
            }
            for domain in &project.domains {
                if let Some(other) = projects.iter().find(|p| p.domains.contains(domain)) {
                    return Err(format!(
                        "project `{}`: domain `{domain}` is already routed to `{}`",
                        project.name, other.name
                    ));
                }
            }
            projects.push(project);
        }
        projects.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(Manifest {
            domain: domain.map(str::to_owned),
            projects,
        })
    }

    pub fn project(&self, name: &ProjectName) -> Option<&Project> {
        self.projects.iter().find(|p| &p.name == name)
    }
}

impl Project {
    /// The `index`th entry of `projects`, with the manifest's `domain` to default to.
    fn check(index: usize, raw: &Value, domain: Option<&str>) -> Result<Project, String> {
        let Value::Object(fields) = raw else {
            return Err(format!(
                "`projects[{index}]` must be an object, not {}",
                kind(raw)
            ));
        };
        let raw_name = required_string(fields, "name")
            .map_err(|problem| format!("`projects[{index}]`: {problem}"))?;
        let name = ProjectName::parse(raw_name).ok_or_else(|| {
            format!(
                "project name `{}` must match ^[a-z0-9][a-z0-9-]{{0,62}}$",
                raw_name.escape_default()
            )
        })?;
        if let Some(why) = name.reserved() {
            return Err(format!("project name `{name}` is reserved: {why}"));
        }
        let at = |problem: String| format!("project `{name}`: {problem}");
        known_fields(fields, PROJECT_FIELDS, "a project").map_err(at)?;
        let repo = required_string(fields, "repo").map_err(at)?;
        if let Some(problem) = repo_url_problem(repo) {
            return Err(at(problem));
        }
        let git_ref = optional_string(fields, "ref")
            .map_err(at)?
            .unwrap_or("main");
        if let Some(problem) = ref_problem(git_ref) {
            return Err(at(format!(
                "`ref` `{}` {problem}",
                git_ref.escape_default()
            )));
        }
        let domains = match optional_strings(fields, "domains", "host names").map_err(at)? {
            Some(domains) => domains,
            None => match domain {
                Some(domain) => vec![format!("{name}.{domain}")],
                None => {
                    return Err(at(
                        "has no `domains` and the manifest has no `domain` to default to".into(),
                    ))
                }
            },
        };
        if domains.is_empty() {
            return Err(at("`domains` is empty".into()));
        }
        for domain in &domains {
            if let Some(problem) = domain_problem(domain) {
                return Err(at(format!(
                    "domain `{}` {problem}",
                    domain.escape_default()
                )));
            }
        }
        let service = optional_string(fields, "service").map_err(at)?;
        if let Some(service) = service {
            if !is_service_name(service) {
                return Err(at(format!(
                    "`service` `{}` is not a compose service name",
                    service.escape_default()
                )));
            }
        }
        let port = match fields.get("port") {
            None | Some(Value::Null) => 80,
            Some(port) => port
                .as_u64()
                .and_then(|port| u16::try_from(port).ok())
                .filter(|port| *port != 0)
                .ok_or_else(|| {
                    let shown = match port {
                        Value::Number(n) => n.to_string(),
                        other => kind(other).to_owned(),
                    };
                    at(format!("`port` must be between 1 and 65535, not {shown}"))
                })?,
        };
        let compose_file = optional_string(fields, "compose_file").map_err(at)?;
        if let Some(file) = compose_file {
            if !is_relative_path(file) {
                return Err(at(format!(
                    "`compose_file` `{}` must be a relative path inside the repository",
                    file.escape_default()
                )));
            }
        }
        let globs = optional_strings(fields, "hash_ignore", "globs")
            .map_err(at)?
            .unwrap_or_default();
        for glob in &globs {
            if let Some(problem) = glob_problem(glob) {
                return Err(at(format!(
                    "`hash_ignore` glob `{}` {problem}",
                    glob.escape_default()
                )));
            }
        }
        let hash_ignore = HashIgnore::new(globs).map_err(at)?;
        let rollout = match optional_string(fields, "rollout").map_err(at)? {
            None | Some("recreate") => Rollout::Recreate,
            Some("zero-downtime") => Rollout::ZeroDowntime,
            Some(other) => {
                return Err(at(format!(
                    "unknown `rollout` `{}`: `recreate` or `zero-downtime`",
                    other.escape_default()
                )))
            }
        };
        Ok(Project {
            name,
            repo: repo.to_owned(),
            git_ref: git_ref.to_owned(),
            domains,
            service: service.map(str::to_owned),
            port,
            compose_file: compose_file.map(str::to_owned),
            hash_ignore,
            rollout,
        })
    }
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
        Manifest::parse(json.as_bytes(), &ManifestOrigin::File("m.json".into()))
            .map_err(|e| e.to_string())
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
        assert_eq!(p.rollout, Rollout::Recreate);
        // `null` is no value, as it was when serde read the manifest.
        let nulls = parse(
            r#"{"domain":"kelev.dev","projects":[{"name":"fun-n-games","repo":"https://github.com/o/f.git",
                "ref":null,"domains":null,"service":null,"port":null,"compose_file":null,
                "hash_ignore":null,"rollout":null}]}"#,
        )
        .unwrap();
        assert_eq!(nulls, m);
    }

    #[test]
    fn every_field_is_read() {
        let m = parse(
            r#"{"projects":[{"name":"a","repo":"git@github.com:o/a.git","ref":"release/v2",
                "domains":["a.example.org","www.a.example.org"],"service":"web","port":8080,
                "compose_file":"deploy/compose.yaml","hash_ignore":["docs","**/*.md"],
                "rollout":"zero-downtime"}]}"#,
        )
        .unwrap();
        let p = &m.projects[0];
        assert_eq!(m.domain, None);
        assert_eq!(
            (p.repo.as_str(), p.git_ref.as_str(), p.port),
            ("git@github.com:o/a.git", "release/v2", 8080)
        );
        assert_eq!(p.domains, ["a.example.org", "www.a.example.org"]);
        assert_eq!(p.service.as_deref(), Some("web"));
        assert_eq!(p.compose_file.as_deref(), Some("deploy/compose.yaml"));
        assert_eq!(p.hash_ignore.patterns(), ["docs", "**/*.md"]);
        assert_eq!(p.rollout, Rollout::ZeroDowntime);
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

    /// A project `a` of manifest `m.json` with `fields` added.
    fn project(fields: &str) -> String {
        format!(r#"{{"domain":"d.dev","projects":[{{"name":"a","repo":"file:///a"{fields}}}]}}"#)
    }

    /// Each refusal, exactly as `error: ` precedes it on the user's terminal.
    #[test]
    fn refusals_are_one_line_in_the_fields_words() {
        let cases: Vec<(String, &str)> = vec![
            // Not JSON, or not a manifest's shape.
            ("{".into(), "manifest `m.json`: not valid JSON: EOF while parsing an object at line 1 column 1"),
            ("".into(), "manifest `m.json`: not valid JSON: EOF while parsing a value at line 1 column 0"),
            (r#"[{"name":"a"}]"#.into(), r#"manifest `m.json`: must be an object, `{"domain": ..., "projects": [...]}`, not a list"#),
            (r#"["x.dev",[]]"#.into(), r#"manifest `m.json`: must be an object, `{"domain": ..., "projects": [...]}`, not a list"#),
            (r#"{"domain":"d.dev"}"#.into(), "manifest `m.json`: missing field `projects` (a list, `[]` for none)"),
            (r#"{"projects":{}}"#.into(), "manifest `m.json`: `projects` must be a list, not an object"),
            (r#"{"projects":[],"extra":1}"#.into(), "manifest `m.json`: unknown field `extra`; a manifest has `domain`, `projects`"),
            (r#"{"projects":[],"projects":[]}"#.into(), "manifest `m.json`: key `projects` appears twice in one object at line 1 column 29"),
            (r#"{"projects":["a"]}"#.into(), "manifest `m.json`: `projects[0]` must be an object, not a string"),
            (r#"{"projects":[{"repo":"file:///a"}]}"#.into(), "manifest `m.json`: `projects[0]`: missing field `name`"),
            (r#"{"projects":[{"name":7}]}"#.into(), "manifest `m.json`: `projects[0]`: `name` must be a string, not a number"),
            (r#"{"domain":"d.dev","projects":[{"name":"a"}]}"#.into(), "manifest `m.json`: project `a`: missing field `repo`"),
            (project(r#","colour":"red""#), "manifest `m.json`: project `a`: unknown field `colour`; a project has `name`, `repo`, `ref`, `domains`, `service`, `port`, `compose_file`, `hash_ignore`, `rollout`"),
            (project(r#","port":"80""#), "manifest `m.json`: project `a`: `port` must be between 1 and 65535, not a string"),
            (project(r#","port":0"#), "manifest `m.json`: project `a`: `port` must be between 1 and 65535, not 0"),
            (project(r#","port":65536"#), "manifest `m.json`: project `a`: `port` must be between 1 and 65535, not 65536"),
            (project(r#","domains":"a.d.dev""#), "manifest `m.json`: project `a`: `domains` must be a list of host names, not a string"),
            (project(r#","hash_ignore":[1]"#), "manifest `m.json`: project `a`: `hash_ignore` must be a list of globs, and holds a number"),
            (project(r#","rollout":"blue-green""#), "manifest `m.json`: project `a`: unknown `rollout` `blue-green`: `recreate` or `zero-downtime`"),
            (project(r#","service":["web"]"#), "manifest `m.json`: project `a`: `service` must be a string, not a list"),
            // The rules of each field.
            (r#"{"domain":"d.dev","projects":[{"name":"A","repo":"file:///a"}]}"#.into(), "manifest `m.json`: project name `A` must match ^[a-z0-9][a-z0-9-]{0,62}$"),
            (r#"{"domain":"d.dev","projects":[{"name":"a","repo":"file:///a"},{"name":"a","repo":"file:///b"}]}"#.into(), "manifest `m.json`: project `a` is listed twice"),
            (r#"{"projects":[{"name":"a","repo":"file:///a"}]}"#.into(), "manifest `m.json`: project `a`: has no `domains` and the manifest has no `domain` to default to"),
            (r#"{"domain":"d.dev","projects":[{"name":"a","repo":"--upload-pack=sh"}]}"#.into(), "manifest `m.json`: project `a`: `repo` `--upload-pack=sh` is not a git URL (https://, http://, ssh://, git://, file:// or user@host:path)"),
            (project(r#","domains":["x`) || Host(`y"]"#), "manifest `m.json`: project `a`: domain `x`) || Host(`y` is not a valid lowercase host name"),
            (project(r#","domains":[]"#), "manifest `m.json`: project `a`: `domains` is empty"),
            (project(r#","compose_file":"../x.yml""#), "manifest `m.json`: project `a`: `compose_file` `../x.yml` must be a relative path inside the repository"),
            (r#"{"domain":"d.dev","projects":[{"name":"a","repo":"file:///a"},{"name":"b","repo":"file:///b","domains":["a.d.dev"]}]}"#.into(), "manifest `m.json`: project `b`: domain `a.d.dev` is already routed to `a`"),
            (project(r#","ref":"HEAD~1""#), "manifest `m.json`: project `a`: `ref` `HEAD~1` is not a branch or tag name"),
            (project(r#","service":"-web""#), "manifest `m.json`: project `a`: `service` `-web` is not a compose service name"),
            (project(r#","hash_ignore":["a/[b"]"#), "manifest `m.json`: project `a`: `hash_ignore` glob `a/[b`: unclosed character class; missing ']'"),
        ];
        for (json, expected) in cases {
            assert_eq!(parse(&json).expect_err(&json), expected, "{json}");
        }
    }

    /// Finding 4 of issue 20: the host's own compose projects.
    #[test]
    fn reserved_project_names_are_refused() {
        assert_eq!(
            parse(r#"{"domain":"d.dev","projects":[{"name":"traefik","repo":"file:///t"}]}"#)
                .unwrap_err(),
            "manifest `m.json`: project name `traefik` is reserved: the host runs Traefik, which \
             routes every site, as compose project `traefik` (bootstrap/init.sh)"
        );
    }

    /// Finding 5 of issue 20: a credential in `repo` is refused, and never printed.
    #[test]
    fn credentials_in_repo_are_refused_unprinted() {
        let hint = "\nhint: put the token or deploy key on the host instead \
                    (docs/security.md#private-repositories)";
        let says = |shown: &str| {
            format!(
                "manifest `m.json`: project `a`: `repo` `{shown}` carries credentials, which \
                 every fetch, `manifest` and the CI log would print{hint}"
            )
        };
        for (repo, expected) in [
            ("https://x-access-token:ghp_S3CR3T@github.com/o/r", says("https://***@github.com/o/r")),
            ("https://ghp_S3CR3T@github.com/o/r", says("https://***@github.com/o/r")),
            ("ssh://git:S3CR3T@github.com/o/r", says("ssh://***@github.com/o/r")),
            (
                "https://u:S3C/R3T@github.com/o/r",
                "manifest `m.json`: project `a`: `repo` `https://***@github.com/o/r` is not a git URL \
                 (https://, http://, ssh://, git://, file:// or user@host:path)"
                    .into(),
            ),
        ] {
            let err = parse(&format!(
                r#"{{"domain":"d.dev","projects":[{{"name":"a","repo":"{repo}"}}]}}"#
            ))
            .unwrap_err();
            assert_eq!(err, expected);
            assert!(!err.contains("S3C"), "{err}");
        }
        for login in ["git@github.com:o/r.git", "ssh://git@github.com/o/r.git"] {
            let json =
                format!(r#"{{"domain":"d.dev","projects":[{{"name":"a","repo":"{login}"}}]}}"#);
            assert_eq!(parse(&json).unwrap().projects[0].repo, login);
        }
    }

    /// Finding 9 of issue 20: refs, globs and domains that cannot work.
    #[test]
    fn values_that_cannot_work_are_refused() {
        for (fields, expected) in [
            (r#","ref":"refs/heads/main""#, "`ref` `refs/heads/main` is a full ref name, and `ref` takes the branch name alone\nhint: write `\"ref\": \"main\"`"),
            (r#","ref":"refs/tags/v1.2""#, "`ref` `refs/tags/v1.2` is a full ref name, and `ref` takes the tag name alone\nhint: write `\"ref\": \"v1.2\"`"),
            (r#","ref":"refs/pull/1/head""#, "`ref` `refs/pull/1/head` is not a branch or tag name\nhint: name the branch to deploy, such as `main`"),
            (r#","ref":"HEAD""#, "`ref` `HEAD` is not a branch or tag name\nhint: name the branch to deploy, such as `main`"),
            (r#","hash_ignore":["/docs"]"#, "`hash_ignore` glob `/docs` matches nothing\nhint: paths are relative to the repository's root: drop the leading slash (`docs`)"),
            (r#","hash_ignore":["./docs"]"#, "`hash_ignore` glob `./docs` matches nothing\nhint: paths are relative to the repository's root: drop the leading `./` (`docs`)"),
            (r#","hash_ignore":["docs/"]"#, "`hash_ignore` glob `docs/` matches nothing\nhint: a directory's name leaves out everything below it: drop the trailing slash (`docs`)"),
            (r#","hash_ignore":["a//b"]"#, "`hash_ignore` glob `a//b` matches nothing\nhint: no path has an empty, `.` or `..` component"),
            (r#","hash_ignore":["../x"]"#, "`hash_ignore` glob `../x` matches nothing\nhint: no path has an empty, `.` or `..` component"),
            (r#","hash_ignore":[""]"#, "`hash_ignore` glob `` is empty, which matches no path"),
            (r#","domains":["203.0.113.7"]"#, "domain `203.0.113.7` is an IP address, not a domain name: Let's Encrypt gives the host certificates for names only"),
            (r#","domains":["10.1"]"#, "domain `10.1` is an IP address, not a domain name: Let's Encrypt gives the host certificates for names only"),
            (r#","domains":["localhost"]"#, "domain `localhost` names the machine itself (RFC 6761): no certificate authority issues for it"),
            (r#","domains":["app.localhost"]"#, "domain `app.localhost` names the machine itself (RFC 6761): no certificate authority issues for it"),
        ] {
            let json = project(fields);
            let expected = format!("manifest `m.json`: project `a`: {expected}");
            assert_eq!(parse(&json).unwrap_err(), expected, "{json}");
        }
        assert_eq!(
            parse(r#"{"domain":"localhost","projects":[]}"#).unwrap_err(),
            "manifest `m.json`: `domain` `localhost` names the machine itself (RFC 6761): no \
             certificate authority issues for it"
        );
        // Still fine: names with digits, and globs below a directory.
        let m = parse(&project(
            r#","domains":["1.example.org","x.123abc"],"hash_ignore":["docs/**","a/*.md"]"#,
        ))
        .unwrap();
        assert_eq!(m.projects[0].domains, ["1.example.org", "x.123abc"]);
    }

    #[test]
    fn errors_name_where_the_manifest_came_from() {
        let err = Manifest::parse(b"{", &ManifestOrigin::Stdin).unwrap_err();
        assert_eq!(
            err.to_string(),
            "manifest on stdin: not valid JSON: EOF while parsing an object at line 1 column 1"
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.json");
        std::fs::write(&path, r#"{"projects":[1]}"#).unwrap();
        assert_eq!(
            Manifest::load(&path).unwrap_err().to_string(),
            format!(
                "manifest `{}`: `projects[0]` must be an object, not a number",
                path.display()
            )
        );
    }

    #[test]
    fn too_large_is_refused_before_parsing() {
        let big = vec![b' '; MANIFEST_MAX_BYTES + 1];
        assert_eq!(
            Manifest::parse(&big, &ManifestOrigin::Stdin)
                .unwrap_err()
                .to_string(),
            "manifest on stdin: larger than 1048576 bytes"
        );
    }
}
