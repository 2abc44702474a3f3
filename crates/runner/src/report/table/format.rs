//! Text of table cells and deltas, shared by the markdown and LaTeX renderers.

use super::build::{metric_style, TableCell};
use super::deltas::Delta;
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

/// The parts of a delta on the display scale: `(delta, low, high, significant)`.
pub fn delta_parts(metric: &str, delta: &Delta) -> Option<(String, String, String, bool)> {
    let Delta::Ci { ci, .. } = delta else { return None };
    let style = metric_style(metric);
    let f = |v: f64| format!("{:+.*}", style.decimals, v * style.scale);
    Some((f(ci.delta), f(ci.low), f(ci.high), ci.excludes_zero))
}

/// The sentence under a table that says how to read its cells.
pub fn legend(confidence: f64) -> String {
    format!(
        "ROUGE F-measures, accuracy and macro-F1 are ×100; test loss is the mean cross-entropy of the reference answers (nats per token, lower is better). \
         Each cell: mean ± sample std over seeds (n = runs); the best value of each column is bold. \
         Deltas: row − baseline with a paired bootstrap {:.0} % interval over the test examples; * marks an interval that excludes 0 \
         (test loss gets none: runs record only its mean).",
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
