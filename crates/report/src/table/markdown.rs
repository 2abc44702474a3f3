//! `table.md`: the scores table, the deltas table and the notes, as GitHub markdown.
//!
//! The scores table has a `Trainable params` column right after the row label
//! ([`params_text`]); the deltas table does not repeat it.

use super::build::{column_spec, TableData};
use super::format::{cell_text, delta_rows, legend, params_text, row_header, DeltaText, PARAMS_HEADER};
use super::{resolve, TableReport};

fn header(table: &TableData, params: bool) -> String {
    let mut line = format!("| {} |", row_header(table.kind));
    let mut rule = "|---|".to_string();
    if params {
        line.push_str(&format!(" {PARAMS_HEADER} |"));
        rule.push_str("---:|");
    }
    for col in &table.columns {
        line.push_str(&format!(" {} {} |", col.task, column_spec(&col.metric).header));
        rule.push_str("---:|");
    }
    format!("{line}\n{rule}\n")
}

/// Renders the whole markdown file.
pub fn render_markdown(report: &TableReport) -> String {
    let table = &report.table;
    let mut out = format!("# {}\n\n", report.title);
    out.push_str(&header(table, true));
    for (r, row) in table.rows.iter().enumerate() {
        out.push_str(&format!("| {row} | {} |", params_text(table.row_params(row))));
        for (c, col) in table.columns.iter().enumerate() {
            match &table.cells[r][c] {
                Some(cell) if cell.best => out.push_str(&format!(" **{}** |", cell_text(&col.metric, cell, table.diverged))),
                Some(cell) => out.push_str(&format!(" {} |", cell_text(&col.metric, cell, table.diverged))),
                None => out.push_str(" – |"),
            }
        }
        out.push('\n');
    }
    if let Some(baseline) = &report.baseline {
        out.push_str(&format!("\n## Against `{baseline}`: paired deltas\n\n"));
        out.push_str(&header(table, false));
        for (row, cells) in delta_rows(report) {
            out.push_str(&format!("| {row} |"));
            for cell in cells {
                let text = match cell {
                    DeltaText::Interval { delta, low, high, mark: "" } => format!("{delta} [{low}, {high}]"),
                    DeltaText::Interval { delta, low, high, mark } => format!("{delta} [{low}, {high}] {mark}"),
                    DeltaText::Missing => "n/a".to_string(),
                    DeltaText::Empty => "–".to_string(),
                };
                out.push_str(&format!(" {text} |"));
            }
            out.push('\n');
        }
    }
    out.push_str(&format!("\n{}\n", legend(report.confidence, table.diverged)));
    let resolved = [resolve::seeds_sentence(report), resolve::examples_sentence(report), resolve::mde_sentence(report)];
    for sentence in resolved.into_iter().flatten() {
        out.push_str(&format!("\n{sentence}\n"));
    }
    if !report.setup.is_empty() {
        out.push_str("\nSetup, read from the counted runs' configs:\n\n");
        for line in &report.setup {
            out.push_str(&format!("- {line}\n"));
        }
    }
    let controls = resolve::control_lines(report);
    if !controls.is_empty() {
        out.push_str("\n## Controls\n\n");
        for line in controls {
            out.push_str(&format!("- {line}\n"));
        }
    }
    let notes = report.notes();
    if !notes.is_empty() {
        out.push_str("\n## Notes\n\n");
        for note in notes {
            out.push_str(&format!("- {note}\n"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::ReportSpec;
    use crate::table::format::RECONSTRUCTED_NOTE;
    use crate::test_support::table_runs;

    #[test]
    fn the_params_column_follows_the_row_label_and_reconstructed_rows_get_a_note() {
        let grid = tempfile::tempdir().unwrap();
        let runs = table_runs(grid.path());
        let spec = ReportSpec { baseline: Some("lora".into()), ..ReportSpec::default() };
        let md = render_markdown(&TableReport::new("unit", &runs, &spec));
        let lines: Vec<&str> = md.lines().collect();
        let at = lines.iter().position(|l| l.starts_with("| method |")).unwrap();
        assert_eq!(lines[at], "| method | Trainable params | news R-L | mail Acc |");
        assert_eq!(lines[at + 1], "|---|---:|---:|---:|");
        let params: Vec<(&str, &str)> = lines[at + 2..at + 7]
            .iter()
            .map(|l| {
                let cells: Vec<&str> = l.split('|').map(str::trim).collect();
                (cells[1], cells[2])
            })
            .collect();
        assert_eq!(
            params,
            [
                ("zero-shot", "—"),
                ("lora", "258k"),
                ("dora", "267,264–267,300"),
                ("na-lora-style+nf4 (reconstructed)", "258k–262k"),
                ("nolora-style (reconstructed)", "259k"),
            ],
            "{md}"
        );
        // The deltas table keeps its own layout.
        let deltas = lines.iter().position(|l| l.starts_with("## Against `lora`: paired deltas")).unwrap();
        assert_eq!(lines[deltas + 2], "| method | news R-L | mail Acc |");
        assert!(lines.contains(&format!("- {RECONSTRUCTED_NOTE}").as_str()), "{md}");
        assert_eq!(md.matches("authors' code").count(), 1, "{md}");

        let plain: Vec<_> = runs.into_iter().filter(|r| !r.result.method.contains("(reconstructed)")).collect();
        let md = render_markdown(&TableReport::new("unit", &plain, &spec));
        assert!(!md.contains("reconstructed") && !md.contains("authors' code"), "{md}");
    }
}
