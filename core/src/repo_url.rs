//! The manifest's `repo`: which git URLs the agent fetches from, and the rule that none carries a
//! credential. A URL is printed by `manifest`, by every fetch and in CI's plan matrix, so a token
//! in it would end up in logs; refusals print it with any user part masked.

/// Why `url` may not be a project's `repo`, or `None` if it may. The reason never holds the
/// URL's user part.
pub(crate) fn repo_url_problem(url: &str) -> Option<String> {
    if !is_repo_url(url) {
        return Some(format!(
            "`repo` `{}` is not a git URL (https://, http://, ssh://, git://, file:// or \
             user@host:path)",
            masked(url).escape_default()
        ));
    }
    carries_credentials(url).then(|| {
        format!(
            "`repo` `{}` carries credentials, which every fetch, `manifest` and the CI log would \
             print\nhint: put the token or deploy key on the host instead \
             (docs/security.md#private-repositories)",
            masked(url)
        )
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
    printable && (schemed || scp_like) && port_is_numeric(s)
}

/// `scheme://`, or nothing for `user@host:path` (whose path may hold a `://` of its own).
fn scheme(url: &str) -> &str {
    match url.find("://") {
        Some(at)
            if url[..at]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+.-".contains(&b)) =>
        {
            &url[..at + 3]
        }
        _ => "",
    }
}

/// The part before the host: `user:token` of `https://user:token@host/path`, `git` of
/// `git@host:path`.
fn user_part(url: &str) -> Option<&str> {
    authority(url).rsplit_once('@').map(|(user, _)| user)
}

/// `user@host:port` of `scheme://user@host:port/path`.
fn authority(url: &str) -> &str {
    let rest = &url[scheme(url).len()..];
    rest.split(['/', '?', '#']).next().unwrap_or("")
}

/// Any user part of an http(s) URL is a secret or useless (the agent sends its own user,
/// `x-access-token`), and so is any `@` in one: `https://tok/en@host/r` is host `tok` to libgit2,
/// and `tok/en` a token to the one who wrote it. For ssh and scp-like URLs the user is a login
/// name, and only a `user:password` carries a secret.
fn carries_credentials(url: &str) -> bool {
    match scheme(url) {
        "https://" | "http://" => url.contains('@'),
        _ => user_part(url).is_some_and(|user| user.contains(':')),
    }
}

/// `https://user:tok/en@host` has no numeric port: libgit2 would read it as host `user`,
/// while the `tok/en` is a token. Refused as no URL (and masked when printed).
fn port_is_numeric(url: &str) -> bool {
    if !matches!(scheme(url), "https://" | "http://" | "ssh://" | "git://") {
        return true;
    }
    let authority = authority(url);
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    let port = match host.strip_prefix('[') {
        Some(v6) => v6.split_once(']').map_or("", |(_, after)| after),
        None => host.find(':').map_or("", |at| &host[at..]),
    };
    port.is_empty()
        || port
            .strip_prefix(':')
            .is_some_and(|digits| digits.bytes().all(|b| b.is_ascii_digit()))
}

/// `url` with its user part replaced by `***`, safe to print whatever the URL holds: when no
/// user part can be told apart (no URL at all), everything up to the last `@`.
pub(crate) fn masked(url: &str) -> String {
    let scheme = scheme(url);
    let rest = &url[scheme.len()..];
    let user = user_part(url).or_else(|| rest.rsplit_once('@').map(|(user, _)| user));
    match user {
        Some(user) => format!("{scheme}***{}", &rest[user.len()..]),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted() {
        for url in [
            "https://github.com/o/r.git",
            "https://github.com:443/o/r.git",
            "http://127.0.0.1:8080/x.git",
            "ssh://git@github.com/o/r.git",
            "ssh://github.com:22/o/r.git",
            "git@github.com:o/r.git",
            "git://example.org/r.git",
            "file:///srv/r.git",
        ] {
            assert_eq!(repo_url_problem(url), None, "{url}");
        }
    }

    #[test]
    fn credentials_are_refused_and_never_printed() {
        for (url, shown) in [
            (
                "https://x-access-token:ghp_SECRET@github.com/o/r",
                "https://***@github.com/o/r",
            ),
            (
                "https://ghp_SECRET@github.com/o/r",
                "https://***@github.com/o/r",
            ),
            ("http://u:SECRET@h:8080/r", "http://***@h:8080/r"),
            ("https://u:SECRET@h/r?at=a@b", "https://***@h/r?at=a@b"),
            (
                "https://SEC/RET@github.com/o/r",
                "https://***@github.com/o/r",
            ),
            (
                "ssh://git:SECRET@github.com/o/r",
                "ssh://***@github.com/o/r",
            ),
        ] {
            let problem = repo_url_problem(url).expect(url);
            assert!(
                problem.contains(&format!("`{shown}` carries credentials")),
                "{problem}"
            );
            assert!(!problem.contains("SEC"), "{problem}");
        }
        // Not a URL at all, and still masked: the part before the host may be a token.
        for url in [
            "https://u:SEC/RET@github.com/o/r",
            "u:SECRET@github.com:o/r",
            "u:SECRET@github.com:o/r#https://x",
            "https://u:SECRET@h/a b",
        ] {
            let problem = repo_url_problem(url).expect(url);
            assert!(problem.contains("is not a git URL"), "{problem}");
            assert!(!problem.contains("SEC"), "{problem}");
        }
    }

    proptest::proptest! {
        /// Whatever surrounds it, a token before the host is never printed by a refusal.
        #[test]
        fn a_token_is_never_printed(
            scheme in "(https?://|ssh://|git://|file://|)",
            token in "Z[A-Za-z0-9_.~%!$&'()*+,;=:/ -]{0,30}",
            host in "[a-z0-9.:-]{1,20}",
            path in "[a-z0-9/:@#?.-]{0,20}",
        ) {
            let url = format!("{scheme}{token}@{host}/{path}");
            if let Some(problem) = repo_url_problem(&url) {
                proptest::prop_assert!(!problem.contains('Z'), "{}", problem);
            } else {
                // Accepted: then what precedes the host is a login name, without a password.
                proptest::prop_assert!(!scheme.starts_with("http"));
                proptest::prop_assert!(!user_part(&url).is_some_and(|user| user.contains(':')));
            }
        }
    }
}
