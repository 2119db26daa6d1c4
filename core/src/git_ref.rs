//! The manifest's `ref`: a branch or tag name, which the agent looks up as `refs/heads/<ref>`,
//! then `refs/tags/<ref>`.

/// Why `git_ref` is no branch or tag name, completing "`ref` `git_ref` ...", or `None`.
pub(crate) fn ref_problem(git_ref: &str) -> Option<String> {
    let short = |prefix: &str, what: &str| {
        git_ref.strip_prefix(prefix).map(|name| {
            format!(
                "is a full ref name, and `ref` takes the {what} name alone\nhint: write \
                 `\"ref\": \"{}\"`",
                name.escape_default()
            )
        })
    };
    if !is_ref_name(git_ref) {
        Some("is not a branch or tag name".into())
    } else if let Some(problem) =
        short("refs/heads/", "branch").or_else(|| short("refs/tags/", "tag"))
    {
        Some(problem)
    } else if git_ref.starts_with("refs/") || git_ref == "HEAD" {
        Some("is not a branch or tag name\nhint: name the branch to deploy, such as `main`".into())
    } else {
        None
    }
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
