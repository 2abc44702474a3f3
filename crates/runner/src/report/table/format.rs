//! Text of table cells and deltas, shared by the markdown and LaTeX renderers.

use super::build::{metric_style, TableCell};
use super::deltas::Delta;
use super::TableReport;
use crate::report::settings::TableKind;

/// The header of the row-label column.
pub fn row_header(kind: TableKind) -> &'static str {
    match kind {
        TableKind::Main => "method",
        TableKind::Ablation => "activation",
        TableKind::Rank => "rank",
    }
}

/// `mean ± std (n=k)` of a cell on the metric's display scale.
pub fn cell_text(metric: &str, cell: &TableCell) -> String {
    let style = metric_style(metric);
    cell.summary.scaled(style.scale).display(style.decimals)
}

/// A delta cell as the renderers show it.
#[derive(Debug, Clone, PartialEq)]
pub enum DeltaText {
    /// The difference and its interval on the display scale, and whether it excludes 0.
    Interval { delta: String, low: String, high: String, significant: bool },
    /// An interval could not be computed (the notes say why).
    Missing,
    /// Nothing to compare (no per-example values, or no run of the row or baseline).
    Empty,
}

/// The rows of the deltas table: every row but the baseline, with its cells' text.
pub fn delta_rows<'a>(report: &'a TableReport, baseline: &'a str) -> impl Iterator<Item = (&'a str, Vec<DeltaText>)> + 'a {
    let table = &report.table;
    table.rows.iter().enumerate().filter(move |(_, row)| *row != baseline).map(move |(r, row)| {
        let cells = table.columns.iter().enumerate().map(|(c, col)| match &report.deltas[r][c] {
            Some(Delta::Ci { ci, .. }) => {
                let style = metric_style(&col.metric);
                let f = |v: f64| format!("{:+.*}", style.decimals, v * style.scale);
                DeltaText::Interval { delta: f(ci.delta), low: f(ci.low), high: f(ci.high), significant: ci.excludes_zero }
            }
            Some(Delta::Missing(_)) => DeltaText::Missing,
            None => DeltaText::Empty,
        });
        (row.as_str(), cells.collect())
    })
}

/// The sentence under a table that says how to read its cells.
pub fn legend(confidence: f64) -> String {
    format!(
        "ROUGE F-measures, accuracy and macro-F1 are ×100; test loss is the mean cross-entropy of the reference answers (nats per token, lower is better). \
         Each cell: mean ± sample std over seeds (n = runs); the best value of each column is bold. \
         Deltas: row − baseline with a paired bootstrap {:.0} % interval over the test examples (test loss: of the token-weighted mean); \
         * marks an interval that excludes 0.",
        confidence * 100.0
    )
}

/// The distinct reasons deltas are missing, in first-seen order.
pub fn missing_reasons(deltas: &[Vec<Option<Delta>>]) -> Vec<String> {
    let mut reasons: Vec<String> = Vec::new();
    for delta in deltas.iter().flatten().flatten() {
        if let Delta::Missing(why) = delta {
            if !reasons.contains(why) {
                reasons.push(why.clone());
            }
        }
    }
    reasons
}
