//! `table.csv`: the table in long form, one line per row × column, on the metrics' own
//! 0–1 (or loss) scale, with the delta against the baseline where there is one.
//!
//! Columns: `row`, `task`, `metric`; `mean`, `std`, `n` and `best` of the cell; `baseline`,
//! `delta`, `ci_low`, `ci_high`, `ci_excludes_zero` and `paired_examples` of its delta
//! (empty without one); then `trainable_params_min` and `trainable_params_max`: the fewest
//! and most trainable parameters (`result.train.trainable_params`, exact) among the row's
//! `ok` runs of the line's task. They are equal unless those runs differ, repeat on every
//! metric line of the (row, task) pair, and are 0 for zero-shot rows. The markdown and
//! LaTeX tables show the same counts per row over all its tasks, readably.

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
    let (mut params_min, mut params_max): (Vec<u64>, Vec<u64>) = (Vec::new(), Vec::new());
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
            let (lo, hi) = table.params.get(&(row.clone(), col.task.clone())).copied().unwrap_or((0, 0));
            params_min.push(lo);
            params_max.push(hi);
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
        Column::new("trainable_params_min".into(), params_min),
        Column::new("trainable_params_max".into(), params_max),
    ];
    let mut df = DataFrame::new(height, columns).context("cannot build the table frame")?;
    let mut bytes = Vec::new();
    CsvWriter::new(&mut bytes)
        .include_header(true)
        .with_float_precision(Some(crate::summary::FLOAT_PRECISION))
        .with_float_scientific(Some(false))
        .finish(&mut df)
        .context("cannot serialise the table as CSV")?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::ReportSpec;
    use crate::test_support::table_runs;
    use std::collections::BTreeMap;

    #[test]
    fn every_line_carries_the_params_of_its_row_and_task() {
        let grid = tempfile::tempdir().unwrap();
        let runs = table_runs(grid.path());
        let report = TableReport::new("unit", &runs, &ReportSpec::default());
        let text = String::from_utf8(render_csv(&report).unwrap()).unwrap();
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().unwrap().split(',').collect();
        assert_eq!(header[header.len() - 2..], ["trainable_params_min", "trainable_params_max"]);
        let mut seen = 0;
        for line in lines {
            let cells: BTreeMap<&str, &str> = header.iter().copied().zip(line.split(',')).collect();
            let counts: Vec<u64> = runs.iter().filter(|r| r.result.method == cells["row"] && r.result.task == cells["task"]).map(|r| r.result.train.trainable_params).collect();
            assert_eq!(cells["trainable_params_min"], counts.iter().min().unwrap().to_string(), "{line}");
            assert_eq!(cells["trainable_params_max"], counts.iter().max().unwrap().to_string(), "{line}");
            seen += 1;
        }
        assert_eq!(seen, 10, "5 rows × 2 tasks, one metric each");
        assert!(text.contains("\nna-lora-style+nf4 (reconstructed),mail,accuracy,") && text.contains(",262144,262144\n"), "{text}");
        assert!(text.contains("\ndora,news,rougeL,") && text.contains(",267264,267300\n"), "{text}");
    }
}
