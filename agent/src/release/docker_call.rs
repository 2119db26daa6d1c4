//! Every `docker` call the agent makes, as a value: which call is pure (built here, tested as
//! the line a reader would type), running it is `Docker`'s alone (`release/docker.rs`).

use std::fmt;

use crate::host::child;
use crate::release::task::ONE_SHOT_LABEL;

/// The label a release's containers and images carry its commit in.
pub(crate) const COMMIT_LABEL: &str = "dev.kelev.commit";

/// One `docker` call: its words after the program (`docker`, or `docker -H ...` from agent.json).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DockerCall {
    args: Vec<String>,
}

impl DockerCall {
    fn new<S: Into<String>>(args: impl IntoIterator<Item = S>) -> DockerCall {
        DockerCall {
            args: args.into_iter().map(Into::into).collect(),
        }
    }

    /// The whole argv, after `program`.
    pub(crate) fn argv(&self, program: &[String]) -> Vec<String> {
        program.iter().chain(&self.args).cloned().collect()
    }

    /// The containers of compose project `project` (or of every one), one line each: the
    /// fields a `Container` is read from (`release/docker.rs`), tab-separated.
    pub(crate) fn ps(project: Option<&str>) -> DockerCall {
        let filter = match project {
            Some(p) => format!("label=com.docker.compose.project={p}"),
            None => "label=com.docker.compose.project".to_owned(),
        };
        let format = [
            "{{.ID}}",
            "{{.State}}",
            "{{.Status}}",
            "{{.Label \"com.docker.compose.project\"}}",
            "{{.Label \"com.docker.compose.service\"}}",
            &format!("{{{{.Label \"{COMMIT_LABEL}\"}}}}"),
            "{{.Label \"com.docker.compose.oneoff\"}}",
            "{{.Label \"com.docker.compose.container-number\"}}",
            &format!("{{{{.Label \"{ONE_SHOT_LABEL}\"}}}}"),
        ]
        .join("\t");
        DockerCall::new([
            "ps",
            "-a",
            "--no-trunc",
            "--filter",
            &filter,
            "--format",
            &format,
        ])
    }

    pub(crate) fn logs_tail(id: &str, lines: u32) -> DockerCall {
        DockerCall::new(["logs", "--tail", &lines.to_string(), id])
    }

    /// Image references (`repo:tag`) matching `reference`, a docker filter pattern.
    pub(crate) fn images(reference: &str) -> DockerCall {
        let filter = format!("reference={reference}");
        DockerCall::new([
            "images",
            "--format",
            "{{.Repository}}:{{.Tag}}",
            "--filter",
            &filter,
        ])
    }

    /// The registry digests (`repo@sha256:...`) of each of `images`, one JSON list a line.
    pub(crate) fn repo_digests(images: &[&str]) -> DockerCall {
        let mut args = vec!["image", "inspect", "--format", "{{json .RepoDigests}}"];
        args.extend(images);
        DockerCall::new(args)
    }

    pub(crate) fn start(id: &str) -> DockerCall {
        DockerCall::new(["start", id])
    }

    pub(crate) fn stop(id: &str, secs: u32) -> DockerCall {
        DockerCall::new(["stop", "--time", &secs.to_string(), id])
    }

    pub(crate) fn remove(id: &str) -> DockerCall {
        DockerCall::new(["rm", "--force", id])
    }

    pub(crate) fn remove_image(image: &str) -> DockerCall {
        DockerCall::new(["rmi", image])
    }

    /// The dangling images of compose project `project`.
    pub(crate) fn prune_images(project: &str) -> DockerCall {
        let label = format!("label=com.docker.compose.project={project}");
        DockerCall::new(["image", "prune", "--force", "--filter", &label])
    }

    /// The engine's build cache unused for `max_age_secs`.
    pub(crate) fn prune_build_cache(max_age_secs: u64) -> DockerCall {
        let until = format!("until={max_age_secs}s");
        DockerCall::new(["builder", "prune", "--force", "--all", "--filter", &until])
    }

    /// Container `id`'s networks, as JSON by name.
    pub(crate) fn networks_of(id: &str) -> DockerCall {
        DockerCall::new([
            "inspect",
            "--format",
            "{{json .NetworkSettings.Networks}}",
            id,
        ])
    }

    pub(crate) fn network_inspect(name: &str) -> DockerCall {
        DockerCall::new(["network", "inspect", name])
    }

    /// The subnets of network `name`, space-separated.
    pub(crate) fn network_subnets(name: &str) -> DockerCall {
        DockerCall::new([
            "network",
            "inspect",
            "--format",
            "{{range .IPAM.Config}}{{.Subnet}} {{end}}",
            name,
        ])
    }

    /// `name`'s creation time and id, a line each, for the networks of `ids`.
    pub(crate) fn networks_created(ids: &[&str]) -> DockerCall {
        let mut args = vec!["network", "inspect", "--format", "{{.Created}} {{.Id}}"];
        args.extend(ids);
        DockerCall::new(args)
    }

    /// The ids of the networks named exactly `name`.
    pub(crate) fn network_ids(name: &str) -> DockerCall {
        // The filter is a regular expression; a network name's only special character is `.`.
        let exact = format!("name=^{}$", name.replace('.', "\\."));
        DockerCall::new(["network", "ls", "--quiet", "--no-trunc", "--filter", &exact])
    }

    pub(crate) fn network_create(name: &str, subnet: Option<&str>) -> DockerCall {
        let subnet = subnet.map(|s| format!("--subnet={s}"));
        let mut args = vec!["network", "create"];
        args.extend(subnet.as_deref());
        args.push(name);
        DockerCall::new(args)
    }

    pub(crate) fn network_remove(name: &str) -> DockerCall {
        DockerCall::new(["network", "rm", name])
    }

    pub(crate) fn network_disconnect(network: &str, id: &str) -> DockerCall {
        DockerCall::new(["network", "disconnect", network, id])
    }

    /// Container `id` onto `network`, at `ip` if given, answering to `alias` if given.
    pub(crate) fn network_connect(
        network: &str,
        id: &str,
        ip: Option<&str>,
        alias: Option<&str>,
    ) -> DockerCall {
        let mut args = vec!["network", "connect"];
        if let Some(ip) = ip {
            args.extend(["--ip", ip]);
        }
        if let Some(alias) = alias {
            args.extend(["--alias", alias]);
        }
        args.extend([network, id]);
        DockerCall::new(args)
    }
}

/// The call as a reader would type it, `docker` for the program.
impl fmt::Display for DockerCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "docker {}", child::render(&self.args))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn is(call: DockerCall, expected: &str) {
        assert_eq!(call.to_string(), expected);
    }

    #[test]
    fn calls_as_typed() {
        is(
            DockerCall::ps(Some("p")),
            "docker ps -a --no-trunc --filter label=com.docker.compose.project=p --format \
             '{{.ID}}\t{{.State}}\t{{.Status}}\t{{.Label \"com.docker.compose.project\"}}\t\
             {{.Label \"com.docker.compose.service\"}}\t{{.Label \"dev.kelev.commit\"}}\t\
             {{.Label \"com.docker.compose.oneoff\"}}\t\
             {{.Label \"com.docker.compose.container-number\"}}\t{{.Label \"dev.kelev.one-shot\"}}'",
        );
        assert!(DockerCall::ps(None)
            .to_string()
            .starts_with("docker ps -a --no-trunc --filter label=com.docker.compose.project --"));
        is(DockerCall::logs_tail("c1", 20), "docker logs --tail 20 c1");
        is(
            DockerCall::images("kelev-p-*"),
            "docker images --format '{{.Repository}}:{{.Tag}}' --filter 'reference=kelev-p-*'",
        );
        is(
            DockerCall::repo_digests(&["r:5000/app:abc", "redis:7"]),
            "docker image inspect --format '{{json .RepoDigests}}' r:5000/app:abc redis:7",
        );
        is(DockerCall::start("c1"), "docker start c1");
        is(DockerCall::stop("c1", 10), "docker stop --time 10 c1");
        is(DockerCall::remove("c1"), "docker rm --force c1");
        is(
            DockerCall::remove_image("kelev-p-web:abc"),
            "docker rmi kelev-p-web:abc",
        );
        is(
            DockerCall::prune_images("p"),
            "docker image prune --force --filter label=com.docker.compose.project=p",
        );
        is(
            DockerCall::prune_build_cache(604_800),
            "docker builder prune --force --all --filter until=604800s",
        );
        is(
            DockerCall::networks_of("c1"),
            "docker inspect --format '{{json .NetworkSettings.Networks}}' c1",
        );
    }

    #[test]
    fn network_calls_as_typed() {
        is(
            DockerCall::network_inspect("web"),
            "docker network inspect web",
        );
        is(
            DockerCall::network_subnets("probe"),
            "docker network inspect --format '{{range .IPAM.Config}}{{.Subnet}} {{end}}' probe",
        );
        is(
            DockerCall::networks_created(&["n1", "n2"]),
            "docker network inspect --format '{{.Created}} {{.Id}}' n1 n2",
        );
        is(
            DockerCall::network_ids("my.web"),
            "docker network ls --quiet --no-trunc --filter 'name=^my\\.web$'",
        );
        is(
            DockerCall::network_create("web", Some("172.18.0.0/16")),
            "docker network create --subnet=172.18.0.0/16 web",
        );
        is(
            DockerCall::network_create("web", None),
            "docker network create web",
        );
        is(DockerCall::network_remove("web"), "docker network rm web");
        is(
            DockerCall::network_disconnect("web", "c1"),
            "docker network disconnect web c1",
        );
        is(
            DockerCall::network_connect("web", "c1", Some("172.18.0.5"), Some("p.web")),
            "docker network connect --ip 172.18.0.5 --alias p.web web c1",
        );
        is(
            DockerCall::network_connect("web", "c1", None, None),
            "docker network connect web c1",
        );
    }

    #[test]
    fn argv_after_the_program() {
        let program = [
            "docker".to_owned(),
            "-H".to_owned(),
            "unix:///d.sock".to_owned(),
        ];
        assert_eq!(
            DockerCall::start("c1").argv(&program),
            ["docker", "-H", "unix:///d.sock", "start", "c1"]
        );
    }
}
