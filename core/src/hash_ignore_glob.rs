//! `hash_ignore` globs that can match nothing. The content hash matches each glob against paths
//! relative to the repository's root, without a leading `/` or `./`, and against a directory's
//! path without a trailing `/`; git allows no empty, `.` or `..` name. A glob that breaks any of
//! these would leave nothing out, silently.

/// Why `glob` can match no path, completing "`hash_ignore` glob `glob` ...", or `None`.
pub(crate) fn glob_problem(glob: &str) -> Option<String> {
    let fix = if glob.is_empty() {
        return Some("is empty, which matches no path".into());
    } else if let Some(rest) = glob.strip_prefix('/') {
        format!("paths are relative to the repository's root: drop the leading slash (`{rest}`)")
    } else if let Some(rest) = glob.strip_prefix("./") {
        format!("paths are relative to the repository's root: drop the leading `./` (`{rest}`)")
    } else if let Some(rest) = glob.strip_suffix('/') {
        format!(
            "a directory's name leaves out everything below it: drop the trailing slash (`{rest}`)"
        )
    } else if glob
        .split('/')
        .any(|c| c.is_empty() || c == "." || c == "..")
    {
        "no path has an empty, `.` or `..` component".into()
    } else {
        return None;
    };
    Some(format!("matches nothing\nhint: {fix}"))
}
