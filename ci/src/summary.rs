//! `kelev summary`: the deploy run's closing table, from each matrix job's result file. A project
//! of the matrix without a result (its job died early) counts as failed.

use std::io::Write;
use std::path::Path;

use serde::Deserialize;

use kelev_core::DeployResult;

use crate::error::Error;
use crate::record::JobResult;

#[derive(Deserialize)]
struct Matrix {
    include: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    name: String,
}

fn given(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

/// How the table is printed: Markdown for the job summary, or the one JSON message of a
/// notification webhook.
#[derive(Clone, Copy, clap::ValueEnum)]
pub(crate) enum Format {
    Markdown,
    Webhook,
}

/// One project's line, in matrix order.
pub(crate) struct Row {
    pub(crate) name: String,
    /// `deployed`, `unchanged` or `failed`.
    pub(crate) result: DeployResult,
    /// Why it was deployed or skipped (`kelev decide`); none if the job never got that far.
    pub(crate) reason: Option<String>,
    pub(crate) commit: Option<String>,
    pub(crate) hash: Option<String>,
}

pub(crate) struct Summary {
    pub(crate) rows: Vec<Row>,
}

impl Summary {
    fn load(matrix: &str, results: &Path) -> Result<Summary, Error> {
        // JSON text as the workflow passes it, or a file holding it, as `plan --host-status`.
        let matrix: Matrix = match matrix.trim_start().starts_with('{') {
            true => serde_json::from_str(matrix).map_err(|e| Error::Data {
                what: "--matrix".into(),
                message: e.to_string(),
            })?,
            false => crate::error::read_json(Path::new(matrix))?,
        };
        let mut outcomes = Vec::new();
        // A mistyped directory would report every project failed, and exit 0.
        let entries = std::fs::read_dir(results).map_err(|e| Error::Data {
            what: results.display().to_string(),
            message: format!("cannot read the `--results` directory: {e}"),
        })?;
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "json") {
                outcomes.push(crate::error::read_json::<JobResult>(&path)?);
            }
        }
        let rows = matrix
            .include
            .into_iter()
            .map(
                |entry| match outcomes.iter().position(|o| o.name == entry.name) {
                    Some(i) => {
                        let o = outcomes.swap_remove(i);
                        Row {
                            name: o.name,
                            result: o.result,
                            reason: given(o.reason),
                            commit: given(o.commit),
                            hash: given(o.hash),
                        }
                    }
                    None => Row {
                        name: entry.name,
                        result: DeployResult::Failed,
                        reason: None,
                        commit: None,
                        hash: None,
                    },
                },
            )
            .collect();
        Ok(Summary { rows })
    }

    /// `1 deployed, 0 unchanged, 1 failed`
    pub(crate) fn counts(&self) -> String {
        let count = |result| self.rows.iter().filter(|r| r.result == result).count();
        format!(
            "{} deployed, {} unchanged, {} failed",
            count(DeployResult::Deployed),
            count(DeployResult::Unchanged),
            count(DeployResult::Failed)
        )
    }

    fn markdown(&self) -> String {
        let mut text = format!(
            "### kelev deploy\n\n{}\n\n| project | result | why | commit | content hash |\n|---|---|---|---|---|\n",
            self.counts()
        );
        for row in &self.rows {
            let code = |s: &Option<String>| match s {
                Some(s) => format!("`{}`", short(s)),
                None => "-".to_owned(),
            };
            text.push_str(&format!(
                "| {} | {} | {} | {} | {} |\n",
                row.name,
                row.result,
                or_dash(&row.reason),
                code(&row.commit),
                code(&row.hash)
            ));
        }
        text
    }
}

/// The first 12 hex digits of a commit or content hash, as docs/commands.md shows them.
fn short(s: &str) -> &str {
    &s[..s.len().min(12)]
}

fn or_dash(s: &Option<String>) -> &str {
    s.as_deref().unwrap_or("-")
}

impl Summary {
    /// The notification's table: project, result, why, commit.
    fn cells(&self) -> Vec<[&str; 4]> {
        self.rows
            .iter()
            .map(|r| {
                [
                    r.name.as_str(),
                    r.result.as_str(),
                    or_dash(&r.reason),
                    r.commit.as_deref().map_or("-", short),
                ]
            })
            .collect()
    }
}

pub(crate) fn run(
    matrix: &str,
    results: &Path,
    format: Format,
    run_url: Option<&str>,
    out: &mut dyn Write,
) -> Result<i32, Error> {
    let summary = Summary::load(matrix, results)?;
    let text = match format {
        Format::Markdown => summary.markdown(),
        Format::Webhook => format!(
            "{}\n",
            crate::webhook::message(&summary.counts(), &summary.cells(), run_url)
        ),
    };
    let _ = write!(out, "{text}");
    Ok(0)
}
