//! `table.csv`: the table in long form, one line per row × column, on the metrics' own
//! 0–1 (or loss) scale, with the delta against the baseline where there is one.

use super::deltas::Delta;
use super::TableReport;
use anyhow::{Context, Result};
use polars::prelude::{Column, CsvWriter, DataFrame, SerWriter};

/// The CSV text (header included).
pub fn render_csv(report: &TableReport) -> Result<Vec<u8>> {
    let table = &report.table;
    let mut rows: Vec<String> = Vec::new();
    let mut tasks: Vec<String> = Vec::new();
    let mut metrics: Vec<String> = Vec::new();
    let (mut mean, mut std, mut n, mut best) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut delta, mut low, mut high, mut significant, mut paired) = (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (r, row) in table.rows.iter().enumerate() {
        for (c, col) in table.columns.iter().enumerate() {
            let Some(cell) = &table.cells[r][c] else { continue };
            rows.push(row.clone());
            tasks.push(col.task.clone());
            metrics.push(col.metric.clone());
            mean.push(cell.summary.mean);
            std.push(cell.summary.std);
            n.push(cell.summary.n as u64);
            best.push(cell.best);
            match &report.deltas[r][c] {
                Some(Delta::Ci { ci, examples }) => {
                    delta.push(Some(ci.delta));
                    low.push(Some(ci.low));
                    high.push(Some(ci.high));
                    significant.push(Some(ci.excludes_zero));
                    paired.push(Some(*examples as u64));
                }
                _ => {
                    delta.push(None);
                    low.push(None);
                    high.push(None);
                    significant.push(None);
                    paired.push(None);
                }
            }
        }
    }
    let height = rows.len();
    let baseline = vec![report.baseline.clone().unwrap_or_default(); height];
    let columns = vec![
        Column::new("row".into(), rows),
        Column::new("task".into(), tasks),
        Column::new("metric".into(), metrics),
        Column::new("mean".into(), mean),
        Column::new("std".into(), std),
        Column::new("n".into(), n),
        Column::new("best".into(), best),
        Column::new("baseline".into(), baseline),
        Column::new("delta".into(), delta),
        Column::new("ci_low".into(), low),
        Column::new("ci_high".into(), high),
        Column::new("ci_excludes_zero".into(), significant),
        Column::new("paired_examples".into(), paired),
    ];
    let mut df = DataFrame::new(height, columns).context("cannot build the table frame")?;
    let mut bytes = Vec::new();
    CsvWriter::new(&mut bytes)
        .include_header(true)
        .with_float_precision(Some(crate::report::summary::FLOAT_PRECISION))
        .with_float_scientific(Some(false))
        .finish(&mut df)
        .context("cannot serialise the table as CSV")?;
    Ok(bytes)
}
