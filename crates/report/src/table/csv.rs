//! `table.csv`: the table in long form, one line per row × column, on the metrics' own
//! 0–1 (or loss) scale, with the delta against the baseline where there is one.
//!
//! Columns: `row`, `task`, `metric`; `mean`, `std`, `n` (runs counted), `runs` (all),
//! `diverged`, `failed` and `best` of the cell; `baseline` (the row its delta is against); of its delta (empty without
//! one) `delta`, `ci_low`, `ci_high` (the raw interval), `ci_excludes_zero`, `p`, `p_holm`
//! (Holm over the table), `significant_holm`, `se`, `seed_share` (share of the variance
//! that is seed to seed), `mde` (detectable at 80 % power), `paired_seeds` and
//! `paired_examples`; then `trainable_params_min` and `trainable_params_max`: the fewest
//! and most trainable parameters (`result.train.trainable_params`, exact) among the row's
//! `ok` runs of the line's task. They are equal unless those runs differ, repeat on every
//! metric line of the (row, task) pair, and are 0 for zero-shot rows. The markdown and
//! LaTeX tables show the same counts per row over all its tasks, readably.

use super::deltas::{Delta, DeltaEstimate};
use super::TableReport;
use anyhow::{Context, Result};
use polars::prelude::{Column, CsvWriter, DataFrame, SerWriter};

/// The CSV text (header included).
pub fn render_csv(report: &TableReport) -> Result<Vec<u8>> {
    let table = &report.table;
    let alpha = 1.0 - report.confidence;
    let mut rows: Vec<String> = Vec::new();
    let mut rows_against: Vec<String> = Vec::new();
    let mut tasks: Vec<String> = Vec::new();
    let mut metrics: Vec<String> = Vec::new();
    let (mut mean, mut std, mut n, mut best) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut runs, mut diverged, mut failed) = (Vec::<u64>::new(), Vec::<u64>::new(), Vec::<u64>::new());
    let mut d = DeltaColumns::default();
    let (mut params_min, mut params_max): (Vec<u64>, Vec<u64>) = (Vec::new(), Vec::new());
    for (r, row) in table.rows.iter().enumerate() {
        for (c, col) in table.columns.iter().enumerate() {
            let Some(cell) = &table.cells[r][c] else { continue };
            rows.push(row.clone());
            rows_against.push(report.against[r].clone().unwrap_or_else(|| report.baseline.clone().filter(|b| b == row).unwrap_or_default()));
            tasks.push(col.task.clone());
            metrics.push(col.metric.clone());
            mean.push(cell.summary.mean);
            std.push(cell.summary.std);
            n.push(cell.summary.n as u64);
            best.push(cell.best);
            runs.push(cell.counts.total as u64);
            diverged.push(cell.counts.diverged as u64);
            failed.push(cell.counts.failed as u64);
            let (lo, hi) = table.params.get(&(row.clone(), col.task.clone())).copied().unwrap_or((0, 0));
            params_min.push(lo);
            params_max.push(hi);
            d.push(report.deltas[r][c].as_ref().and_then(Delta::estimate), alpha);
        }
    }
    let height = rows.len();
    let baseline: Vec<String> = rows_against;
    let mut columns = vec![
        Column::new("row".into(), rows),
        Column::new("task".into(), tasks),
        Column::new("metric".into(), metrics),
        Column::new("mean".into(), mean),
        Column::new("std".into(), std),
        Column::new("n".into(), n),
        Column::new("runs".into(), runs),
        Column::new("diverged".into(), diverged),
        Column::new("failed".into(), failed),
        Column::new("best".into(), best),
        Column::new("baseline".into(), baseline),
    ];
    columns.extend(d.into_columns());
    columns.push(Column::new("trainable_params_min".into(), params_min));
    columns.push(Column::new("trainable_params_max".into(), params_max));
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

/// The delta columns of `table.csv`, empty where a line has no delta.
#[derive(Default)]
struct DeltaColumns {
    delta: Vec<Option<f64>>,
    low: Vec<Option<f64>>,
    high: Vec<Option<f64>>,
    excludes_zero: Vec<Option<bool>>,
    p: Vec<Option<f64>>,
    p_holm: Vec<Option<f64>>,
    significant_holm: Vec<Option<bool>>,
    se: Vec<Option<f64>>,
    seed_share: Vec<Option<f64>>,
    mde: Vec<Option<f64>>,
    seeds: Vec<Option<u64>>,
    examples: Vec<Option<u64>>,
}

impl DeltaColumns {
    fn push(&mut self, e: Option<&DeltaEstimate>, alpha: f64) {
        self.delta.push(e.map(|e| e.inference.delta));
        self.low.push(e.map(|e| e.low));
        self.high.push(e.map(|e| e.high));
        self.excludes_zero.push(e.map(|e| e.p < alpha));
        self.p.push(e.map(|e| e.p));
        self.p_holm.push(e.map(|e| e.p_holm));
        self.significant_holm.push(e.map(|e| e.p_holm < alpha));
        self.se.push(e.map(|e| e.inference.se()));
        self.seed_share.push(e.map(|e| e.inference.seed_share()));
        self.mde.push(e.and_then(|e| e.mde.is_finite().then_some(e.mde)));
        self.seeds.push(e.map(|e| e.inference.seeds as u64));
        self.examples.push(e.map(|e| e.inference.examples as u64));
    }

    fn into_columns(self) -> Vec<Column> {
        vec![
            Column::new("delta".into(), self.delta),
            Column::new("ci_low".into(), self.low),
            Column::new("ci_high".into(), self.high),
            Column::new("ci_excludes_zero".into(), self.excludes_zero),
            Column::new("p".into(), self.p),
            Column::new("p_holm".into(), self.p_holm),
            Column::new("significant_holm".into(), self.significant_holm),
            Column::new("se".into(), self.se),
            Column::new("seed_share".into(), self.seed_share),
            Column::new("mde".into(), self.mde),
            Column::new("paired_seeds".into(), self.seeds),
            Column::new("paired_examples".into(), self.examples),
        ]
    }
}
