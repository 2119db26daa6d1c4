//! What Docker says is running: the containers of compose projects, read with `docker ps` and
//! `docker inspect` rather than trusted from our own state.

use std::collections::BTreeMap;

use crate::child;
use crate::error::Error;

pub(crate) const COMMIT_LABEL: &str = "dev.kelev.commit";

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Container {
    pub(crate) id: String,
    pub(crate) project: String,
    pub(crate) service: String,
    pub(crate) state: String,
    pub(crate) health: Option<String>,
    pub(crate) exit_code: i64,
    pub(crate) commit: Option<String>,
}

impl Container {
    pub(crate) fn is_up(&self) -> bool {
        self.state == "running" && matches!(self.health.as_deref(), None | Some("healthy"))
    }
}

/// One line of the `docker ps` template in [`Docker::containers`]; `None` for what is not a
/// container compose made (`docker run` of a compose-built image inherits the image's project
/// and service labels, but only compose's own containers carry a container number) and for
/// one-off containers.
fn parse_ps_line(line: &str) -> Option<Container> {
    let fields: Vec<&str> = line.split('\t').collect();
    let [id, state, status, project, service, commit, oneoff, number] = fields[..] else {
        return None;
    };
    if number.is_empty() || oneoff == "True" || project.is_empty() {
        return None;
    }
    let health = if status.contains("(healthy)") {
        Some("healthy")
    } else if status.contains("(unhealthy)") {
        Some("unhealthy")
    } else if status.contains("(health: starting)") {
        Some("starting")
    } else {
        None
    };
    // "Exited (137) 2 seconds ago", "Restarting (1) 3 seconds ago"
    let exit_code = status
        .split_once('(')
        .and_then(|(_, rest)| rest.split_once(')'))
        .and_then(|(code, _)| code.parse().ok())
        .unwrap_or(0);
    Some(Container {
        id: id.to_owned(),
        project: project.to_owned(),
        service: service.to_owned(),
        state: state.to_owned(),
        health: health.map(str::to_owned),
        exit_code,
        commit: (!commit.is_empty()).then(|| commit.to_owned()),
    })
}

/// Docker's RFC 3339 UTC times (`2026-11-27T17:40:40.1662Z`) drop the fraction's trailing
/// zeros; padded to nanoseconds they sort as text.
fn sortable_time(time: &str) -> String {
    let time = time.trim_end_matches('Z');
    let (seconds, fraction) = time.split_once('.').unwrap_or((time, ""));
    format!("{seconds}.{fraction:0<9}")
}

pub(crate) struct Docker {
    argv: Vec<String>,
    env: Vec<(String, String)>,
}

impl Docker {
    pub(crate) fn new(argv: &[String]) -> Docker {
        Docker {
            argv: argv.to_vec(),
            env: child::base_env(),
        }
    }

    pub(crate) fn argv(&self, args: &[&str]) -> Vec<String> {
        let mut argv = self.argv.clone();
        argv.extend(args.iter().map(|s| s.to_string()));
        argv
    }

    fn run(&self, args: &[&str]) -> Result<child::Captured, Error> {
        let argv = self.argv(args);
        let out = child::capture(&argv, &self.env)?;
        if out.status.success() {
            Ok(out)
        } else {
            Err(Error::Unavailable {
                message: format!(
                    "`{}` failed ({}): {}",
                    argv.join(" "),
                    child::describe(out.status),
                    out.stderr.trim()
                ),
            })
        }
    }

    /// Containers of compose project `project`, or of every compose project, one-off
    /// (`compose run`) containers left out. One `docker ps`, its labels and status read from a
    /// template, rather than `ps` then `inspect`: this is on the path of every `status` and of
    /// every `unchanged` answer.
    pub(crate) fn containers(&self, project: Option<&str>) -> Result<Vec<Container>, Error> {
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
        ]
        .join("\t");
        let out = self.run(&[
            "ps",
            "-a",
            "--no-trunc",
            "--filter",
            &filter,
            "--format",
            &format,
        ])?;
        let mut containers: Vec<Container> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(parse_ps_line)
            .collect();
        containers.sort_by(|a, b| (&a.project, &a.service).cmp(&(&b.project, &b.service)));
        Ok(containers)
    }

    /// The last `lines` lines a container printed (for a failed start's report).
    pub(crate) fn logs_tail(&self, id: &str, lines: u32) -> String {
        let argv = self.argv(&["logs", "--tail", &lines.to_string(), id]);
        match child::capture(&argv, &self.env) {
            Ok(out) => String::from_utf8_lossy(&out.stdout).into_owned() + &out.stderr,
            Err(e) => format!("(no logs: {e})"),
        }
    }

    /// Image references (`repo:tag`) matching `reference` (a docker filter pattern).
    pub(crate) fn images(&self, reference: &str) -> Result<Vec<String>, Error> {
        let filter = format!("reference={reference}");
        let out = self.run(&[
            "images",
            "--format",
            "{{.Repository}}:{{.Tag}}",
            "--filter",
            &filter,
        ])?;
        Ok(String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_owned)
            .collect())
    }

    /// The networks a container is attached to, each with its address there.
    pub(crate) fn networks_of(&self, id: &str) -> Vec<(String, String)> {
        let argv = self.argv(&[
            "inspect",
            "--format",
            "{{json .NetworkSettings.Networks}}",
            id,
        ]);
        child::capture(&argv, &self.env)
            .ok()
            .and_then(|out| {
                serde_json::from_slice::<BTreeMap<String, serde_json::Value>>(&out.stdout).ok()
            })
            .map(|networks| {
                networks
                    .into_iter()
                    .map(|(name, endpoint)| {
                        let ip = endpoint["IPAddress"].as_str().unwrap_or_default();
                        (name, ip.to_owned())
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Take container `id` out of the names it answers to on `network` (its service, its
    /// aliases) while it keeps serving at its address there: out of the network and straight
    /// back in at the same address, with no aliases. Docker derives the MAC from the address,
    /// so peers' ARP entries stay good, and a connection attempt caught in the tenth of a
    /// second between is retransmitted by TCP a second later and reaches it. Docker hands an
    /// address back only on a network whose subnet was given at creation
    /// ([`Docker::ensure_network`] makes the shared one so); on another, the container comes
    /// back at a new address and this returns false. True also when it is not on `network`.
    pub(crate) fn leave_name(&self, id: &str, network: &str) -> bool {
        let Some((_, ip)) = self.networks_of(id).into_iter().find(|(n, _)| n == network) else {
            return true;
        };
        self.best_effort(&["network", "disconnect", network, id]);
        if !ip.is_empty()
            && self
                .run(&["network", "connect", "--ip", &ip, network, id])
                .is_ok()
        {
            return true;
        }
        self.best_effort(&["network", "connect", network, id]);
        false
    }

    /// Best effort: remove what `args` names, ignoring refusals (an image still in use stays).
    pub(crate) fn best_effort(&self, args: &[&str]) {
        let _ = child::capture(&self.argv(args), &self.env);
    }

    /// Create the shared external network Traefik routes through, if it is missing, with its
    /// subnet given explicitly (so that [`Docker::leave_name`] can keep an address). The
    /// subnet is the one Docker would pick, read off a throwaway network, so the daemon's
    /// address pools and the networks already there are respected; if that fails, Docker picks.
    pub(crate) fn ensure_network(&self, name: &str) -> Result<(), Error> {
        let argv = self.argv(&["network", "inspect", name]);
        if child::capture(&argv, &self.env)?.status.success() {
            return Ok(());
        }
        let probe = format!("kelev-subnet-probe-{}", std::process::id());
        let subnet = self.run(&["network", "create", &probe]).and_then(|_| {
            self.run(&[
                "network",
                "inspect",
                "--format",
                "{{range .IPAM.Config}}{{.Subnet}} {{end}}",
                &probe,
            ])
        });
        self.best_effort(&["network", "rm", &probe]);
        let subnet = subnet
            .ok()
            .and_then(|out| {
                let text = String::from_utf8_lossy(&out.stdout).into_owned();
                text.split_whitespace().next().map(str::to_owned)
            })
            .map(|s| format!("--subnet={s}"));
        let mut args = vec!["network", "create"];
        args.extend(subnet.as_deref());
        args.push(name);
        let mut out = child::capture(&self.argv(&args), &self.env)?;
        if !out.status.success() && subnet.is_some() && !out.stderr.contains("already exists") {
            // Someone took that subnet since (another network made meanwhile): let Docker pick.
            out = child::capture(&self.argv(&["network", "create", name]), &self.env)?;
        }
        if out.status.success() {
            self.settle_name(name, String::from_utf8_lossy(&out.stdout).trim());
            Ok(())
        } else if out.stderr.contains("already exists") {
            Ok(())
        } else {
            Err(Error::Unavailable {
                message: format!("cannot create network `{name}`: {}", out.stderr.trim()),
            })
        }
    }

    /// Docker's check for a taken network name is not atomic: two first deploys at once can
    /// both create `name`, and compose then refuses to pick one. The oldest of them stays; the
    /// one we made (`ours`) goes if it is not that one. Waits (a few seconds at most) until
    /// the name is unique again, so that our `compose up` does not meet another's duplicate.
    fn settle_name(&self, name: &str, ours: &str) {
        // The filter is a regular expression; a network name's only special character is `.`.
        let exact = format!("name=^{}$", name.replace('.', "\\."));
        let stdout = |args: &[&str]| {
            self.run(args)
                .map(|out| String::from_utf8_lossy(&out.stdout).into_owned())
                .unwrap_or_default()
        };
        for _ in 0..50 {
            let ids = stdout(&["network", "ls", "--quiet", "--no-trunc", "--filter", &exact]);
            let ids: Vec<&str> = ids.split_whitespace().collect();
            if ids.len() < 2 {
                return;
            }
            let mut args = vec!["network", "inspect", "--format", "{{.Created}} {{.Id}}"];
            args.extend(&ids);
            let listed = stdout(&args);
            let mut created: Vec<(String, &str)> = listed
                .lines()
                .filter_map(|line| {
                    let (when, id) = line.split_once(' ')?;
                    Some((sortable_time(when), id))
                })
                .collect();
            created.sort();
            if created.first().is_some_and(|(_, oldest)| *oldest != ours) {
                self.best_effort(&["network", "rm", ours]);
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ps_lines() {
        let c = parse_ps_line("abc\trunning\tUp 3 minutes (healthy)\tp\tweb\tdeadbeef\tFalse\t1")
            .unwrap();
        assert_eq!(
            (c.state.as_str(), c.health.as_deref(), c.commit.as_deref()),
            ("running", Some("healthy"), Some("deadbeef"))
        );
        let c =
            parse_ps_line("abc\texited\tExited (137) 2 seconds ago\tp\tweb\t\tFalse\t2").unwrap();
        assert_eq!((c.exit_code, c.health, c.commit), (137, None, None));
        let c = parse_ps_line("abc\trunning\tUp 1 second (health: starting)\tp\tweb\tx\tFalse\t1")
            .unwrap();
        assert_eq!(c.health.as_deref(), Some("starting"));
        let c =
            parse_ps_line("abc\trunning\tUp 1 second (unhealthy)\tp\tweb\tx\tFalse\t1").unwrap();
        assert_eq!(c.health.as_deref(), Some("unhealthy"));
        // `docker run` of a compose-built image, and `compose run`, are not the project's.
        assert!(parse_ps_line("abc\trunning\tUp 1 second\tp\tweb\t\t\t").is_none());
        assert!(parse_ps_line("abc\trunning\tUp 1 second\tp\tweb\t\tTrue\t1").is_none());
        assert!(parse_ps_line("garbage").is_none());
    }

    #[test]
    fn docker_times_sort() {
        let mut times = [
            "2026-11-27T17:40:40.5Z",
            "2026-11-27T17:40:40.166201848Z",
            "2026-11-27T17:40:40Z",
            "2026-11-27T17:40:40.17Z",
        ]
        .map(sortable_time);
        times.sort();
        assert_eq!(
            times,
            [
                "2026-11-27T17:40:40.000000000",
                "2026-11-27T17:40:40.166201848",
                "2026-11-27T17:40:40.170000000",
                "2026-11-27T17:40:40.500000000",
            ]
        );
    }
}
