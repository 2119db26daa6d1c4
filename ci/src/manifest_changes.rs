//! `kelev removed`: the projects `manifest-put` reported removed, read from its documented
//! lines (docs/commands.md#manifest-put) here and nowhere else.

use std::io::Write;
use std::path::Path;

use kelev_core::ProjectName;

use crate::error::Error;

/// One line of `manifest-put`'s output.
#[derive(Debug, PartialEq)]
pub(crate) enum Change {
    Added(ProjectName),
    Changed(ProjectName),
    Removed(ProjectName),
    Unchanged,
    /// `waiting for the lock on ...`: progress while another manifest-put holds the lock.
    Waiting,
}

impl Change {
    pub(crate) fn parse(line: &str) -> Option<Change> {
        if line == "unchanged" {
            return Some(Change::Unchanged);
        }
        if line.starts_with("waiting for the lock on ") {
            return Some(Change::Waiting);
        }
        let (word, name) = line.split_once(' ')?;
        let name = ProjectName::parse(name)?;
        match word {
            "added" => Some(Change::Added(name)),
            "changed" => Some(Change::Changed(name)),
            "removed" => Some(Change::Removed(name)),
            _ => None,
        }
    }
}

/// Print each removed project's name, one a line; a line `manifest-put` does not print is bad
/// data (65), so a change of its output fails here rather than removing nothing.
pub(crate) fn run(changes: &Path, out: &mut dyn Write) -> Result<i32, Error> {
    let text =
        std::fs::read_to_string(changes).map_err(|e| Error::data_at(changes, e.to_string()))?;
    let mut removed = Vec::new();
    for line in text.lines().filter(|l| !l.is_empty()) {
        match Change::parse(line) {
            Some(Change::Removed(name)) => removed.push(name),
            Some(_) => {}
            None => {
                return Err(Error::data_at(
                    changes,
                    format!(
                        "`{}` is not a line manifest-put prints",
                        line.escape_default()
                    ),
                ))
            }
        }
    }
    for name in removed {
        let _ = writeln!(out, "{name}");
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_each_documented_line() {
        let name = |s| ProjectName::parse(s).unwrap();
        for (line, change) in [
            ("added blog", Some(Change::Added(name("blog")))),
            (
                "changed fun-n-games",
                Some(Change::Changed(name("fun-n-games"))),
            ),
            ("removed old-site", Some(Change::Removed(name("old-site")))),
            ("unchanged", Some(Change::Unchanged)),
            (
                "waiting for the lock on the manifest, held by ci (deploy)",
                Some(Change::Waiting),
            ),
            ("removed", None),
            ("removed Old_Site", None),
            ("removed a b", None),
            ("deleted blog", None),
            ("", None),
        ] {
            assert_eq!(Change::parse(line), change, "{line:?}");
        }
    }
}
