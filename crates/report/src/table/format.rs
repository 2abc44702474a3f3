//! Text of table cells and deltas, shared by the markdown and LaTeX renderers.

use super::build::{column_spec, RunCounts, TableCell};
use super::deltas::Delta;
use super::TableReport;
use crate::settings::{DivergedRuns, TableKind};

/// The header of the row-label column.
pub fn row_header(kind: TableKind) -> &'static str {
    match kind {
        TableKind::Main => "method",
        TableKind::Ablation => "activation",
        TableKind::Rank => "rank",
    }
}

/// The header of the trainable-parameters column, right after the row label.
pub const PARAMS_HEADER: &str = "Trainable params";

/// The note under a table with a row labelled `(reconstructed)`.
pub const RECONSTRUCTED_NOTE: &str = "`-style (reconstructed)` rows follow formulations reconstructed from the papers' abstracts (NoLoRA, NA-LoRA; see the README's Methods section); they are not the authors' code.";

/// A parameter count, readably: exact below 1000, else three significant digits with
/// `k`, `M`, `B` or `T` (`295k`, `1.23M`, `12.0k`).
pub fn count_text(n: u64) -> String {
    if n < 1000 {
        return n.to_string();
    }
    let (mut value, mut unit) = (n as f64 / 1e3, "k");
    // Rounded to three significant digits the value must stay below 1000 of its unit.
    for next in ["M", "B", "T"] {
        if value < 999.5 {
            break;
        }
        (value, unit) = (value / 1e3, next);
    }
    let decimals = if value < 9.995 { 2 } else if value < 99.95 { 1 } else { 0 };
    format!("{value:.decimals$}{unit}")
}

/// `n` with a comma every three digits (`258,048`).
fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// The trainable-parameters cell of a row from the fewest and most among its runs:
/// [`count_text`], `a–b` where the runs differ (exact counts when both ends would read
/// alike), `—` for a row that trains nothing (zero-shot) or has no run.
pub fn params_text(range: Option<(u64, u64)>) -> String {
    match range {
        None | Some((_, 0)) => "—".to_string(),
        Some((lo, hi)) if lo == hi => count_text(lo),
        Some((lo, hi)) => {
            let (a, b) = (count_text(lo), count_text(hi));
            if a == b {
                format!("{}–{}", grouped(lo), grouped(hi))
            } else {
                format!("{a}–{b}")
            }
        }
    }
}

/// A cell on the metric's display scale: `mean ± std (n=k)` when every run finished, else
/// with what happened to the others: `(n=5; 2 diverged)` when diverged runs count at the
/// worst score, `(3 of 5 runs; 2 diverged)` when they are left out; failed runs never
/// count (`(2 of 3 runs; 1 failed)`). A cell without a counted run shows `–` and why.
pub fn cell_text(metric: &str, cell: &TableCell, policy: DivergedRuns) -> String {
    let spec = column_spec(metric);
    let scaled = cell.summary.scaled(spec.scale);
    let counts = cell.counts;
    if counts.diverged == 0 && counts.failed == 0 {
        return scaled.display(spec.decimals);
    }
    let number = match scaled.std {
        _ if scaled.n == 0 => "–".to_string(),
        Some(std) => format!("{:.*} ± {:.*}", spec.decimals, scaled.mean, spec.decimals, std),
        None => format!("{:.*}", spec.decimals, scaled.mean),
    };
    format!("{number} ({})", counts_text(counts, policy))
}

/// `n=5; 2 diverged` or `3 of 5 runs; 2 diverged; 1 failed`.
pub fn counts_text(counts: RunCounts, policy: DivergedRuns) -> String {
    let counted = counts.total - counts.failed - if policy == DivergedRuns::LeaveOut { counts.diverged } else { 0 };
    let mut parts = vec![if counted == counts.total { format!("n={counted}") } else { format!("{counted} of {} runs", counts.total) }];
    if counts.diverged > 0 {
        parts.push(format!("{} diverged", counts.diverged));
    }
    if counts.failed > 0 {
        parts.push(format!("{} failed", counts.failed));
    }
    parts.join("; ")
}

/// A delta cell as the renderers show it.
#[derive(Debug, Clone, PartialEq)]
pub enum DeltaText {
    /// The difference and its interval on the display scale, and its mark: `*` when the
    /// Holm-adjusted p-value is below α, `†` when only the raw interval excludes 0.
    Interval { delta: String, low: String, high: String, mark: &'static str },
    /// An interval could not be computed (the notes say why).
    Missing,
    /// Nothing to compare (no per-example values, or no run of the row or baseline).
    Empty,
}

/// Mark of a delta significant after the Holm correction.
pub const HOLM_MARK: &str = "*";
/// Mark of a delta whose raw interval excludes 0 but that the Holm correction does not keep.
pub const RAW_MARK: &str = "†";

/// The rows of the deltas table: every row compared with another (all but the baseline's),
/// with its cells' text.
pub fn delta_rows(report: &TableReport) -> impl Iterator<Item = (&str, Vec<DeltaText>)> + '_ {
    let table = &report.table;
    let alpha = 1.0 - report.confidence;
    table.rows.iter().enumerate().filter(move |(r, _)| report.against[*r].is_some()).map(move |(r, row)| {
        let cells = table.columns.iter().enumerate().map(|(c, col)| match &report.deltas[r][c] {
            Some(Delta::Estimate(e)) => {
                let spec = column_spec(&col.metric);
                let f = |v: f64| format!("{:+.*}", spec.decimals, v * spec.scale);
                let mark = if e.p_holm < alpha {
                    HOLM_MARK
                } else if e.p < alpha {
                    RAW_MARK
                } else {
                    ""
                };
                DeltaText::Interval { delta: f(e.inference.delta), low: f(e.low), high: f(e.high), mark }
            }
            Some(Delta::Missing(_)) => DeltaText::Missing,
            None => DeltaText::Empty,
        });
        (row.as_str(), cells.collect())
    })
}

/// The sentences under a table that say how to read its cells.
pub fn legend(confidence: f64, policy: DivergedRuns) -> String {
    let diverged = match policy {
        DivergedRuns::Worst => "a diverged run counts at the worst score (0 for ROUGE, accuracy and macro-F1; the column's highest test loss) and the cell says how many diverged",
        DivergedRuns::LeaveOut => "diverged runs are left out of means and deltas (report setting `diverged: leave-out`) and the cell says how many",
    };
    format!(
        "ROUGE F-measures, accuracy and macro-F1 (over the task's own labels) are ×100; test loss is the mean cross-entropy of the reference answers (nats per token, lower is better). \
         Each cell: mean ± sample std over seeds (n = runs counted); {diverged}; failed runs never count. The best value of each column is bold. \
         Deltas: row − baseline, paired by training seed and test example, with a {:.0} % interval whose width counts both seed-to-seed and example-to-example variance \
         (a Student-t half-width for each part, added in quadrature; see crates/stats). \
         {HOLM_MARK} marks a difference that stays significant after the Holm–Bonferroni correction over every delta of this table (family-wise α = {}); \
         {RAW_MARK} marks one whose raw interval excludes 0 but that the correction does not keep. Intervals are the raw ones. \
         Trainable params: the parameters each of the row's runs trains (k = thousand, M = million; a–b where its runs differ; — for none).",
        confidence * 100.0,
        super::resolve::alpha_text(1.0 - confidence)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_read_with_three_significant_digits() {
        let cases = [
            (0, "0"),
            (999, "999"),
            (1_000, "1.00k"),
            (1_234, "1.23k"),
            (9_996, "10.0k"),
            (12_345, "12.3k"),
            (99_960, "100k"),
            (258_048, "258k"),
            (295_000, "295k"),
            (999_499, "999k"),
            (999_500, "1.00M"),
            (1_234_567, "1.23M"),
            (7_000_000_000, "7.00B"),
            (1_500_000_000_000, "1.50T"),
        ];
        for (n, want) in cases {
            assert_eq!(count_text(n), want, "{n}");
        }
        assert_eq!(grouped(258_048), "258,048");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1_000_000), "1,000,000");
    }

    #[test]
    fn params_cells_show_ranges_and_a_dash_for_none() {
        assert_eq!(params_text(Some((258_048, 258_048))), "258k");
        assert_eq!(params_text(Some((258_048, 267_264))), "258k–267k");
        assert_eq!(params_text(Some((258_048, 258_300))), "258,048–258,300", "ends that read alike are exact");
        assert_eq!(params_text(Some((12, 40))), "12–40");
        assert_eq!(params_text(Some((0, 0))), "—");
        assert_eq!(params_text(None), "—");
        assert_eq!(params_text(Some((0, 4096))), "0–4.10k");
    }
}
