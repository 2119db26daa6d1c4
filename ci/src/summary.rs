//! `kelev summary`: the deploy run's closing table, from each matrix job's result file. A project
//! of the matrix without a result (its job died early) counts as failed.

use std::io::Write;
use std::path::Path;

use serde::Deserialize;

use crate::error::Error;

#[derive(Deserialize)]
struct Matrix {
    include: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    name: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Outcome {
    name: String,
    result: String,
    #[serde(default)]
    commit: String,
    #[serde(default)]
    hash: String,
}

pub(crate) fn run(matrix: &str, results: &Path, out: &mut dyn Write) -> Result<i32, Error> {
    let matrix: Matrix = serde_json::from_str(matrix).map_err(|e| Error::Data {
        what: "--matrix".into(),
        message: e.to_string(),
    })?;
    let mut outcomes = Vec::new();
    for entry in std::fs::read_dir(results).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "json") {
            let bytes = std::fs::read(&path).map_err(|e| Error::Data {
                what: path.display().to_string(),
                message: e.to_string(),
            })?;
            let outcome: Outcome = serde_json::from_slice(&bytes).map_err(|e| Error::Data {
                what: path.display().to_string(),
                message: e.to_string(),
            })?;
            outcomes.push(outcome);
        }
    }
    let mut table =
        String::from("| project | result | commit | content hash |\n|---|---|---|---|\n");
    let mut counts = [0usize; 3];
    for entry in &matrix.include {
        let outcome = outcomes.iter().find(|o| o.name == entry.name);
        let (result, commit, hash) = match outcome {
            Some(o) if ["deployed", "unchanged"].contains(&o.result.as_str()) => {
                (o.result.as_str(), o.commit.as_str(), o.hash.as_str())
            }
            Some(o) => ("failed", o.commit.as_str(), o.hash.as_str()),
            None => ("failed", "", ""),
        };
        counts[match result {
            "deployed" => 0,
            "unchanged" => 1,
            _ => 2,
        }] += 1;
        let short = |s: &str| {
            if s.is_empty() {
                "-".to_owned()
            } else {
                format!("`{}`", &s[..s.len().min(12)])
            }
        };
        table.push_str(&format!(
            "| {} | {result} | {} | {} |\n",
            entry.name,
            short(commit),
            short(hash)
        ));
    }
    let _ = write!(
        out,
        "### kelev deploy\n\n{} deployed, {} unchanged, {} failed\n\n{table}",
        counts[0], counts[1], counts[2]
    );
    Ok(0)
}
