//! The deploy run's notification: one JSON message that Slack and Discord incoming webhooks both
//! take. Slack reads `text`, Discord reads `content`, and each ignores the other's field; both
//! show a fenced block in a fixed-width font, so the table is plain aligned text.

use crate::summary::{or_dash, short, Summary};

/// Discord refuses a `content` longer than 2000 characters; rows past this many are counted,
/// not listed.
const LIMIT: usize = 1900;

pub(crate) fn message(summary: &Summary, run_url: Option<&str>) -> serde_json::Value {
    let cells: Vec<[&str; 4]> = summary
        .rows
        .iter()
        .map(|r| {
            [
                r.name.as_str(),
                r.result,
                or_dash(&r.reason),
                or_dash(short(&r.commit)),
            ]
        })
        .collect();
    let header = ["project", "result", "why", "commit"];
    let mut widths = header.map(str::len);
    for row in &cells {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.len());
        }
    }
    let line = |row: &[&str; 4]| {
        let padded: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:width$}"))
            .collect();
        format!("{}\n", padded.join("  ").trim_end())
    };
    let head = format!("kelev deploy: {}\n```\n", summary.counts());
    let tail = match run_url {
        Some(url) => format!("```\n{url}"),
        None => "```".to_owned(),
    };
    let mut table = line(&header);
    let mut left_out = 0;
    for row in &cells {
        let next = line(row);
        if left_out > 0 || head.len() + table.len() + next.len() + tail.len() + 40 > LIMIT {
            left_out += 1;
        } else {
            table.push_str(&next);
        }
    }
    if left_out > 0 {
        table.push_str(&format!("... and {left_out} more (see the run)\n"));
    }
    let text = format!("{head}{table}{tail}");
    serde_json::json!({ "text": text, "content": text })
}
