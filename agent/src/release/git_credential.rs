//! The credential a private repository's fetch sends: a token or a deploy key from
//! `git-credentials/`, refused when other users can read it.

use std::path::Path;

/// Credentials for private repositories: `git-credentials/<project>.token` (https, sent as the
/// password of user `x-access-token`) or `git-credentials/<project>.key` (ssh), each falling
/// back to `default.token` / `default.key`.
pub(crate) fn credential(
    dir: &Path,
    project: &str,
    username: Option<&str>,
    allowed: git2::CredentialType,
) -> Result<git2::Cred, git2::Error> {
    let find = |ext: &str| {
        [format!("{project}.{ext}"), format!("default.{ext}")]
            .into_iter()
            .map(|name| dir.join(name))
            .find(|path| path.is_file())
    };
    if allowed.contains(git2::CredentialType::USERNAME) {
        // `ssh://host/repo` names no user; GitHub, GitLab and Gitea all take `git`.
        return git2::Cred::username(username.unwrap_or("git"));
    }
    if allowed.contains(git2::CredentialType::SSH_KEY) {
        if let Some(key) = find("key") {
            private(&key)?;
            return git2::Cred::ssh_key(username.unwrap_or("git"), None, &key, None);
        }
    }
    if allowed.contains(git2::CredentialType::USER_PASS_PLAINTEXT) {
        if let Some(path) = find("token") {
            private(&path)?;
            let token = std::fs::read_to_string(&path).map_err(|e| {
                git2::Error::from_str(&format!("cannot read `{}`: {e}", path.display()))
            })?;
            return git2::Cred::userpass_plaintext("x-access-token", token.trim());
        }
    }
    Err(git2::Error::from_str(&format!(
        "the repository needs credentials; put a token or deploy key in `{}` (see docs/security.md)",
        dir.display()
    )))
}

/// A credential file that others can read is refused, as ssh refuses such a key: it has
/// probably leaked to the other users of the host already, and it is not sent.
fn private(path: &Path) -> Result<(), git2::Error> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .map_err(|e| git2::Error::from_str(&format!("cannot read `{}`: {e}", path.display())))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(git2::Error::from_str(&format!(
            "`{}` is open to other users (mode {:04o}); `chmod 600` it",
            path.display(),
            mode & 0o7777
        )));
    }
    Ok(())
}
