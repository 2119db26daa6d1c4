//! Why a manifest was refused, naming the manifest it is about. Every variant is bad data (exit
//! 65 in both binaries).

use std::fmt;
use std::path::PathBuf;

/// Where a manifest came from, as its errors name it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ManifestOrigin {
    /// `manifest `m.json``, the path as given.
    File(PathBuf),
    /// `manifest on stdin` (`manifest-put`).
    Stdin,
}

impl fmt::Display for ManifestOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ManifestOrigin::File(path) => write!(f, "manifest `{}`", path.display()),
            ManifestOrigin::Stdin => f.write_str("manifest on stdin"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("I/O error at `{path}`: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// `problem` is in the manifest's words (fields, projects), never the parser's types, and
    /// never holds a credential.
    #[error("{origin}: {problem}")]
    Refused {
        origin: ManifestOrigin,
        problem: String,
    },
}
