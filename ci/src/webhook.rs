//! The deploy run's notification: one JSON message that Slack and Discord incoming webhooks both
//! take. Slack reads `text`, Discord reads `content`, and each ignores the other's field; both
//! show a fenced block in a fixed-width font, so the table is plain aligned text.

/// Discord refuses a `content` longer than 2000 characters; rows past this many are counted,
/// not listed.
const LIMIT: usize = 1900;

/// The message for `counts` (`1 deployed, 0 unchanged, 1 failed`) and the table's `cells`
/// (project, result, why, commit), with a link to the run if there is one.
pub(crate) fn message(
    counts: &str,
    cells: &[[&str; 4]],
    run_url: Option<&str>,
) -> serde_json::Value {
    let header = ["project", "result", "why", "commit"];
    let mut widths = header.map(str::len);
    for row in cells {
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
    let head = format!("kelev deploy: {counts}\n```\n");
    let tail = match run_url {
        Some(url) => format!("```\n{url}"),
        None => "```".to_owned(),
    };
    let mut table = line(&header);
    let mut left_out = 0;
    for row in cells {
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
