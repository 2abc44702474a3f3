//! Each row against the baseline row, as one family of tests per table: the paired
//! difference per column with an interval over seeds × examples ([`paired`](super::paired)),
//! its raw and Holm-adjusted p-values, and the smallest difference the comparison
//! detects; plus the equivalence tests of the grid's control rows.

use super::build::{column_spec, TableColumn, TableData};
use super::paired::compare;
use crate::load::LoadedRun;
use crate::settings::Control;
use loran_metrics::Resample;
use loran_stats::{holm, Inference};

/// Power at which [`DeltaEstimate::mde`] is computed.
pub const POWER: f64 = 0.8;

/// A standard error at or below this (on the 0–1 or nats scale) is rounding noise of
/// runs that scored every example alike by the same margin: no variance, no MDE.
pub const NO_VARIANCE: f64 = 1e-12;

/// One row's difference from the baseline in one column.
#[derive(Debug, Clone, PartialEq)]
pub struct DeltaEstimate {
    /// The estimate, its variance parts, seeds and examples.
    pub inference: Inference,
    /// The interval at the report's confidence, on the metric's 0–1 (or loss) scale.
    pub low: f64,
    /// Upper end of the interval.
    pub high: f64,
    /// Two-sided p-value of "no difference".
    pub p: f64,
    /// Holm-adjusted over every delta of the table.
    pub p_holm: f64,
    /// The smallest true difference detected with probability [`POWER`] at level α (NaN
    /// when the two rows' runs scored every example alike: a zero variance says nothing).
    pub mde: f64,
}

/// A row's difference from the baseline in one column.
#[derive(Debug, Clone, PartialEq)]
pub enum Delta {
    /// The estimate.
    Estimate(DeltaEstimate),
    /// Why there is none (no predictions, no common seeds or examples, ...).
    Missing(String),
}

impl Delta {
    /// The estimate, when there is one.
    pub fn estimate(&self) -> Option<&DeltaEstimate> {
        match self {
            Delta::Estimate(e) => Some(e),
            Delta::Missing(_) => None,
        }
    }
}

/// Whether a column's metric has per-example values to compare.
pub fn comparable(col: &TableColumn) -> bool {
    column_spec(&col.metric).resample != Resample::NotResampled
}

/// `deltas[row][column]` against the row `against[row]`, Holm-adjusted over the whole
/// table; `None` for rows compared with nothing (the baseline), columns without
/// per-example values, and where either row has no counted run of the task.
pub fn compute_deltas(table: &TableData, runs: &[LoadedRun], against: &[Option<String>], resamples: usize, confidence: f64) -> Vec<Vec<Option<Delta>>> {
    let alpha = 1.0 - confidence;
    let mut deltas: Vec<Vec<Option<Delta>>> = table
        .rows
        .iter()
        .zip(against)
        .map(|(row, baseline)| {
            table
                .columns
                .iter()
                .map(|col| {
                    let has = |r: &str| table.members.contains_key(&(r.to_string(), col.task.clone()));
                    let baseline = baseline.as_deref()?;
                    if row == baseline || !comparable(col) || !has(row) || !has(baseline) {
                        return None;
                    }
                    Some(match compare(table, runs, row, baseline, col, resamples) {
                        Ok(inference) => {
                            let (low, high) = inference.interval(confidence);
                            // Identical runs give no variance: nothing to say what else they would detect.
                            let mde = if inference.se() > NO_VARIANCE { inference.min_detectable(alpha, POWER) } else { f64::NAN };
                            Delta::Estimate(DeltaEstimate { inference, low, high, p: inference.p_value(), p_holm: f64::NAN, mde })
                        }
                        Err(why) => Delta::Missing(why),
                    })
                })
                .collect()
        })
        .collect();
    let mut family: Vec<&mut DeltaEstimate> = deltas
        .iter_mut()
        .flatten()
        .filter_map(|d| match d {
            Some(Delta::Estimate(e)) => Some(e),
            _ => None,
        })
        .collect();
    let adjusted = holm(&family.iter().map(|e| e.p).collect::<Vec<_>>());
    for (e, p) in family.iter_mut().zip(adjusted) {
        e.p_holm = p;
    }
    deltas
}

/// The largest detectable difference of each column over its deltas with a variance
/// (`None` without any): a difference at least this large is detected with [`POWER`] in
/// every row of the column (rows whose runs barely differ from the baseline's detect far
/// smaller ones; `table.csv` has each delta's own).
pub fn column_mde(table: &TableData, deltas: &[Vec<Option<Delta>>]) -> Vec<Option<f64>> {
    (0..table.columns.len())
        .map(|c| {
            deltas.iter().filter_map(|row| Some(row[c].as_ref()?.estimate()?.mde)).filter(|m| m.is_finite()).reduce(f64::max)
        })
        .collect()
}

/// One column of a control's equivalence test.
#[derive(Debug, Clone, PartialEq)]
pub struct Equivalence {
    /// The column.
    pub column: TableColumn,
    /// The margin on the metric's 0–1 (or loss) scale.
    pub margin: f64,
    /// The difference and its `1 − 2α` interval, or why there is none.
    pub outcome: Result<(f64, f64, f64), String>,
    /// Whether that interval lies inside ±margin (TOST at level α).
    pub equivalent: bool,
}

/// A control row's equivalence tests, one per comparable column with a margin.
#[derive(Debug, Clone, PartialEq)]
pub struct ControlResult {
    /// The control row.
    pub row: String,
    /// The row it should match.
    pub against: String,
    /// Per column.
    pub columns: Vec<Equivalence>,
}

/// TOST for each control: `row − against` per column, equivalent when the `1 − 2α`
/// interval lies within the margin (points ÷ 100 for metrics shown ×100, `loss_margin`
/// nats for the test loss; columns without a margin are skipped). A control against the
/// baseline reuses that row's estimate from `deltas` instead of computing it again
/// (`against[row]` is what each row of `deltas` was compared with).
#[allow(clippy::too_many_arguments)]
pub fn equivalence(
    table: &TableData,
    runs: &[LoadedRun],
    deltas: &[Vec<Option<Delta>>],
    against_rows: &[Option<String>],
    controls: &[Control],
    baseline: Option<&str>,
    resamples: usize,
    alpha: f64,
) -> Vec<ControlResult> {
    let mut out = Vec::new();
    for control in controls {
        let Some(against) = control.against.as_deref().or(baseline) else { continue };
        let row = super::baseline_row(&control.row, table, runs);
        let against = super::baseline_row(against, table, runs);
        let mut columns = Vec::new();
        let reuse = table.rows.iter().position(|r| *r == row).filter(|&r| against_rows.get(r).and_then(Option::as_deref) == Some(against.as_str()));
        for (c, col) in table.columns.iter().enumerate().filter(|(_, c)| comparable(c)) {
            let spec = column_spec(&col.metric);
            let margin = if spec.scale == 1.0 { control.loss_margin } else { Some(control.margin / spec.scale) };
            let Some(margin) = margin else { continue };
            let outcome = if !table.rows.contains(&row) || !table.rows.contains(&against) {
                Err(format!("`{}` or `{against}` is not a row of this table", control.row))
            } else {
                let known = reuse.and_then(|r| Some(deltas[r][c].as_ref()?.estimate()?.inference));
                known.map_or_else(|| compare(table, runs, &row, &against, col, resamples), Ok).map(|inf| {
                    let (low, high) = inf.interval(1.0 - 2.0 * alpha);
                    (inf.delta, low, high)
                })
            };
            let equivalent = matches!(outcome, Ok((_, low, high)) if -margin < low && high < margin);
            columns.push(Equivalence { column: col.clone(), margin, outcome, equivalent });
        }
        out.push(ControlResult { row, against, columns });
    }
    out
}
