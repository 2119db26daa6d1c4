//! Plain-text tables, as `status` and `rebuild-all` print them.

/// Left-aligned columns two spaces apart; the last column is not padded.
pub(crate) fn render<const N: usize>(rows: &[[String; N]]) -> String {
    let mut widths = [0usize; N];
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.len());
        }
    }
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i + 1 == N {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<width$}  ", width = widths[i]));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_aligns() {
        let rows = [
            ["A".to_owned(), "BB".to_owned()],
            ["ccc".to_owned(), "d".to_owned()],
        ];
        assert_eq!(render(&rows), "A    BB\nccc  d\n");
    }
}
