//! `table.md`: the scores table, the deltas table and the notes, as GitHub markdown.

use super::build::{metric_style, TableData};
use super::format::{cell_text, delta_rows, legend, row_header, DeltaText};
use super::TableReport;

fn header(table: &TableData) -> String {
    let mut line = format!("| {} |", row_header(table.kind));
    let mut rule = "|---|".to_string();
    for col in &table.columns {
        line.push_str(&format!(" {} {} |", col.task, metric_style(&col.metric).header));
        rule.push_str("---:|");
    }
    format!("{line}\n{rule}\n")
}

/// Renders the whole markdown file.
pub fn render_markdown(report: &TableReport) -> String {
    let table = &report.table;
    let mut out = format!("# {}\n\n", report.title);
    out.push_str(&header(table));
    for (r, row) in table.rows.iter().enumerate() {
        out.push_str(&format!("| {row} |"));
        for (c, col) in table.columns.iter().enumerate() {
            match &table.cells[r][c] {
                Some(cell) if cell.best => out.push_str(&format!(" **{}** |", cell_text(&col.metric, cell))),
                Some(cell) => out.push_str(&format!(" {} |", cell_text(&col.metric, cell))),
                None => out.push_str(" – |"),
            }
        }
        out.push('\n');
    }
    if let Some(baseline) = &report.baseline {
        out.push_str(&format!("\n## Against `{baseline}`: paired bootstrap deltas\n\n"));
        out.push_str(&header(table));
        for (row, cells) in delta_rows(report, baseline) {
            out.push_str(&format!("| {row} |"));
            for cell in cells {
                let text = match cell {
                    DeltaText::Interval { delta, low, high, significant } => format!("{delta} [{low}, {high}]{}", if significant { " *" } else { "" }),
                    DeltaText::Missing => "n/a".to_string(),
                    DeltaText::Empty => "–".to_string(),
                };
                out.push_str(&format!(" {text} |"));
            }
            out.push('\n');
        }
    }
    out.push_str(&format!("\n{}\n", legend(report.confidence)));
    if let Some(bootstrap) = report.bootstrap_sentence() {
        out.push_str(&format!("{bootstrap}\n"));
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
