//! Whether Traefik routes a project as the release just started says, asked of its API on the
//! host's loopback (`traefik.api`): one HTTP/1.1 GET over a `TcpStream` (the agent has no HTTP
//! client crate, and needs none for this), its answer read by pure functions.
//!
//! Traefik learns of labels from Docker's events and applies what it learnt at most every
//! couple of seconds (its provider throttle), so a first release, or one that routes
//! otherwise, may not be served when Docker calls it up. The agent waits until Traefik has the
//! release's [`Route`]. Which containers answer at the route's name is Docker's DNS, not
//! Traefik: that needs no wait.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use kelev_core::ProjectName;

use crate::error::Error;
use crate::host::signals;
use crate::release::override_file::Route;

/// Connect, write and read of one request, each at most this long.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);
/// Between two looks at the API.
const POLL: Duration = Duration::from_millis(100);
/// More than this is no service's answer.
const MAX_ANSWER: u64 = 1 << 20;

/// The servers Traefik has for one service, as their URLs.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Servers {
    pub(crate) urls: BTreeSet<String>,
    /// Those whose `serverStatus` says other than `UP`.
    pub(crate) down: BTreeSet<String>,
}

impl Servers {
    /// `url`, up, and no other.
    fn are(&self, url: &str) -> bool {
        self.urls.len() == 1 && self.urls.contains(url) && !self.down.contains(url)
    }
}

/// Traefik's API.
pub(crate) struct Routes {
    pub(crate) api: SocketAddr,
    pub(crate) timeout: Duration,
}

impl Routes {
    /// Wait until Traefik's service `<route.name>@docker` is there with `route.url` as its one
    /// server, up: Traefik has the labels of the release just started (a route that the release
    /// before had too is there at once); `Error::NotRouted` when it is not within the timeout.
    /// An API that does not answer at all (no API on this host, Traefik down) is a warning, not
    /// a failure: the deploy goes on as it would without `traefik.api`.
    pub(crate) fn wait(
        &self,
        project: &ProjectName,
        route: &Route,
        progress: &mut dyn Write,
    ) -> Result<(), Error> {
        let started = Instant::now();
        let path = format!("/api/http/services/{}@docker", route.name);
        loop {
            signals::check()?;
            let listed = match self.get(&path) {
                Err(e) => {
                    let _ = writeln!(
                        progress,
                        "warning: Traefik's API at http://{} did not answer ({e}); not waiting \
                         for Traefik to route {project}",
                        self.api
                    );
                    return Ok(());
                }
                Ok((200, body)) => parse_servers(&body).map_err(|e| format!("an answer {e}")),
                Ok((404, _)) => Ok(Servers::default()),
                Ok((status, _)) => Err(format!("HTTP status {status}")),
            };
            if listed.as_ref().is_ok_and(|s| s.are(&route.url)) {
                let _ = writeln!(
                    progress,
                    "Traefik routes {project} to {} ({:.1}s)",
                    route.url,
                    started.elapsed().as_secs_f64()
                );
                return Ok(());
            }
            if started.elapsed() >= self.timeout {
                return Err(Error::NotRouted {
                    project: project.clone(),
                    service: route.name.clone(),
                    secs: self.timeout.as_secs(),
                    wanted: route.url.clone(),
                    listed: match listed {
                        Ok(servers) => describe(&servers),
                        Err(e) => e,
                    },
                });
            }
            std::thread::sleep(POLL);
        }
    }

    /// `GET path`: the status and the body.
    fn get(&self, path: &str) -> std::io::Result<(u16, Vec<u8>)> {
        let mut stream = TcpStream::connect_timeout(&self.api, REQUEST_TIMEOUT)?;
        stream.set_read_timeout(Some(REQUEST_TIMEOUT))?;
        stream.set_write_timeout(Some(REQUEST_TIMEOUT))?;
        // One write: a request in pieces is one a strict server may take for complete.
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {}\r\nAccept: application/json\r\n\
             Connection: close\r\n\r\n",
            self.api
        );
        stream.write_all(request.as_bytes())?;
        let mut raw = Vec::new();
        stream.take(MAX_ANSWER).read_to_end(&mut raw)?;
        parse_answer(&raw).map_err(std::io::Error::other)
    }
}

fn describe(servers: &Servers) -> String {
    if servers.urls.is_empty() {
        return "no servers".into();
    }
    let each: Vec<String> = servers
        .urls
        .iter()
        .map(|url| match servers.down.contains(url) {
            true => format!("{url} (not up)"),
            false => url.clone(),
        })
        .collect();
    each.join(", ")
}

/// A service of `GET /api/http/services/<name>`: `loadBalancer.servers[].url`, and
/// `serverStatus` (`{"<url>": "UP"}`) where Traefik gives it.
pub(crate) fn parse_servers(body: &[u8]) -> Result<Servers, String> {
    let service: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("that is not JSON: {e}"))?;
    let servers = service["loadBalancer"]["servers"]
        .as_array()
        .ok_or("without `loadBalancer.servers`")?;
    let urls = servers
        .iter()
        .map(|s| s["url"].as_str().map(str::to_owned))
        .collect::<Option<BTreeSet<String>>>()
        .ok_or("with a server without `url`")?;
    let down = service["serverStatus"]
        .as_object()
        .map(|status| {
            status
                .iter()
                .filter(|(_, s)| s.as_str() != Some("UP"))
                .map(|(url, _)| url.clone())
                .collect()
        })
        .unwrap_or_default();
    Ok(Servers { urls, down })
}

/// An HTTP/1.x answer read to its end: the status and the body (chunks joined).
fn parse_answer(raw: &[u8]) -> Result<(u16, Vec<u8>), String> {
    let end = find(raw, b"\r\n\r\n").ok_or("an HTTP answer without the end of its headers")?;
    let head = String::from_utf8_lossy(&raw[..end]);
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|line| line.strip_prefix("HTTP/1."))
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .ok_or("not an HTTP/1.x answer")?;
    let chunked = lines.any(|line| {
        line.split_once(':').is_some_and(|(name, value)| {
            name.trim().eq_ignore_ascii_case("transfer-encoding")
                && value.trim().eq_ignore_ascii_case("chunked")
        })
    });
    let body = &raw[end + 4..];
    Ok((
        status,
        if chunked {
            dechunk(body)?
        } else {
            body.to_vec()
        },
    ))
}

fn dechunk(mut body: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let line = find(body, b"\r\n").ok_or("a chunk without its size")?;
        let size = String::from_utf8_lossy(&body[..line]);
        let size = size.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size, 16).map_err(|_| "a chunk size that is not hex")?;
        body = &body[line + 2..];
        if size == 0 {
            return Ok(out);
        }
        if body.len() < size + 2 {
            return Err("an answer cut short".into());
        }
        out.extend_from_slice(&body[..size]);
        body = &body[size + 2..];
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `GET /api/http/services/<name>@docker` of Traefik v3.6.15, the service of a project
    /// whose server is its name on the shared network.
    const SERVICE: &str = r#"{"loadBalancer":{"servers":[{"url":"http://t1-zd.web:80"}],"strategy":"wrr","passHostHeader":true,"responseForwarding":{"flushInterval":"100ms"}},"status":"enabled","usedBy":["t1-zd-0a1b2c3d@docker"],"serverStatus":{"http://t1-zd.web:80":"UP"},"name":"t1-zd-0a1b2c3d@docker","provider":"docker","type":"loadbalancer"}"#;

    #[test]
    fn servers_of_a_service() {
        let servers = parse_servers(SERVICE.as_bytes()).unwrap();
        assert!(servers.are("http://t1-zd.web:80"));
        assert!(!servers.are("http://t1-zd.web:8080"));
        let two = SERVICE.replace(
            r#"[{"url":"http://t1-zd.web:80"}]"#,
            r#"[{"url":"http://t1-zd.web:80"},{"url":"http://192.0.2.1:80"}]"#,
        );
        let servers = parse_servers(two.as_bytes()).unwrap();
        assert!(!servers.are("http://t1-zd.web:80"), "not the one server");
        assert_eq!(
            describe(&servers),
            "http://192.0.2.1:80, http://t1-zd.web:80"
        );
    }

    #[test]
    fn a_server_not_up_does_not_count() {
        let body = SERVICE.replace(
            r#""http://t1-zd.web:80":"UP""#,
            r#""http://t1-zd.web:80":"DOWN""#,
        );
        let servers = parse_servers(body.as_bytes()).unwrap();
        assert!(!servers.are("http://t1-zd.web:80"));
        assert_eq!(describe(&servers), "http://t1-zd.web:80 (not up)");
    }

    #[test]
    fn what_is_not_a_service() {
        for (body, expected) in [
            ("<html>", "that is not JSON"),
            (r#"{"weighted":{}}"#, "without `loadBalancer.servers`"),
            (
                r#"{"loadBalancer":{"servers":[{}]}}"#,
                "a server without `url`",
            ),
        ] {
            let err = parse_servers(body.as_bytes()).unwrap_err();
            assert!(err.contains(expected), "{body}: {err}");
        }
    }

    #[test]
    fn answers_plain_and_chunked() {
        let plain =
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}";
        assert_eq!(parse_answer(plain).unwrap(), (200, b"{}".to_vec()));
        let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{\"a\"\r\n3;x=y\r\n:1}\r\n0\r\n\r\n";
        assert_eq!(parse_answer(chunked).unwrap(), (200, b"{\"a\":1}".to_vec()));
        let missing = b"HTTP/1.1 404 Not Found\r\nContent-Length: 10\r\n\r\n404 page n";
        assert_eq!(parse_answer(missing).unwrap().0, 404);
        for (raw, expected) in [
            (
                &b"HTTP/1.1 200 OK\r\n"[..],
                "without the end of its headers",
            ),
            (b"SSH-2.0-OpenSSH\r\n\r\n", "not an HTTP/1.x answer"),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                "not hex",
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n9\r\nab\r\n",
                "cut short",
            ),
        ] {
            assert!(
                parse_answer(raw).unwrap_err().contains(expected),
                "{expected}"
            );
        }
    }
}
