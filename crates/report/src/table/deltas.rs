//! Each row against the baseline row: the difference of a metric with a paired bootstrap
//! confidence interval over the test examples.
//!
//! Pairing is by example id. A row with several seeds contributes, per example, the mean
//! of its runs' scores (mean metrics), or the mean over its runs of the resampled
//! macro-F1. How a metric resamples is its spec's `resample` (`loran_metrics::scoring`).
//! Resampling uses a fixed seed, so a report renders the same bytes every time.

use super::build::{column_spec, TableColumn, TableData};
use crate::load::LoadedRun;
use loran_train::record::PredictionRecord;
use loran_metrics::{bootstrap_statistic, macro_f1, paired_bootstrap, BootstrapCi, Resample};
use std::collections::HashMap;

/// Seed of every bootstrap in a report.
pub const BOOTSTRAP_SEED: u64 = 0;

/// A row's difference from the baseline in one column.
#[derive(Debug, Clone, PartialEq)]
pub enum Delta {
    /// The interval, on the metric's 0–1 scale, and the number of paired examples.
    Ci { ci: BootstrapCi, examples: usize },
    /// Why there is none (no per-example scores, no common examples, ...).
    Missing(String),
}

/// `deltas[row][column]` against `baseline`; `None` for the baseline row itself, for
/// columns without per-example values, and where either row has no run of the task.
pub fn compute_deltas(table: &TableData, runs: &[LoadedRun], baseline: &str, resamples: usize, confidence: f64) -> Vec<Vec<Option<Delta>>> {
    table
        .rows
        .iter()
        .map(|row| {
            table
                .columns
                .iter()
                .map(|col| {
                    if row == baseline || column_spec(&col.metric).resample == Resample::NotResampled {
                        return None;
                    }
                    let method = table.members.get(&(row.clone(), col.task.clone()))?;
                    let base = table.members.get(&(baseline.to_string(), col.task.clone()))?;
                    let method: Vec<&LoadedRun> = method.iter().map(|&i| &runs[i]).collect();
                    let base: Vec<&LoadedRun> = base.iter().map(|&i| &runs[i]).collect();
                    Some(delta(col, &method, &base, resamples, confidence))
                })
                .collect()
        })
        .collect()
}

/// Per-example records of each run, keyed by example id.
fn by_id<'a>(runs: &[&'a LoadedRun]) -> Option<Vec<HashMap<&'a str, &'a PredictionRecord>>> {
    runs.iter().map(|r| Some(r.predictions.as_ref()?.iter().map(|p| (p.id.as_str(), p)).collect())).collect()
}

/// Test loss: the token-weighted mean cross-entropy of the resampled examples, averaged
/// over each row's runs, method minus baseline.
fn test_loss_delta(m: &[HashMap<&str, &PredictionRecord>], b: &[HashMap<&str, &PredictionRecord>], ids: &[&str], resamples: usize, confidence: f64) -> Delta {
    let parts = |runs: &[HashMap<&str, &PredictionRecord>]| -> Option<Vec<Vec<(f64, usize)>>> {
        runs.iter().map(|run| ids.iter().map(|id| Some((run[id].loss_sum?, run[id].loss_tokens?))).collect()).collect()
    };
    let (Some(mp), Some(bp)) = (parts(m), parts(b)) else {
        return Delta::Missing("predictions lack per-example test losses (written before they were recorded); re-run with --force".into());
    };
    let mean_loss = |all: &[Vec<(f64, usize)>], idx: &[usize]| -> f64 {
        let per_run = all.iter().map(|run| {
            let (sum, tokens) = idx.iter().fold((0.0, 0usize), |(s, n), &i| (s + run[i].0, n + run[i].1));
            sum / tokens.max(1) as f64
        });
        per_run.sum::<f64>() / all.len() as f64
    };
    match bootstrap_statistic(ids.len(), resamples, BOOTSTRAP_SEED, confidence, |idx| mean_loss(&mp, idx) - mean_loss(&bp, idx)) {
        Ok(ci) => Delta::Ci { ci, examples: ids.len() },
        Err(e) => Delta::Missing(e.to_string()),
    }
}

/// The parsed labels of each run over `ids`.
fn labels_of<'a>(runs: &[HashMap<&str, &'a PredictionRecord>], ids: &[&str]) -> Vec<Vec<Option<&'a str>>> {
    runs.iter().map(|run| ids.iter().map(|id| run[id].label.as_deref()).collect()).collect()
}

fn delta(col: &TableColumn, method: &[&LoadedRun], base: &[&LoadedRun], resamples: usize, confidence: f64) -> Delta {
    let (Some(m), Some(b)) = (by_id(method), by_id(base)) else {
        return Delta::Missing("no predictions.jsonl".into());
    };
    // Examples every run of both rows scored, in the first baseline run's order.
    let first = base[0].predictions.as_ref().expect("checked above");
    let ids: Vec<&str> = first.iter().map(|p| p.id.as_str()).filter(|id| m.iter().chain(&b).all(|run| run.contains_key(id))).collect();
    if ids.is_empty() {
        return Delta::Missing("no test example in common".into());
    }
    // How the metric resamples is its spec's call (loran_metrics::scoring).
    let resample = column_spec(&col.metric).resample;
    if resample == Resample::TokenWeighted {
        return test_loss_delta(&m, &b, &ids, resamples, confidence);
    }
    let has_scores = |runs: &[HashMap<&str, &PredictionRecord>]| runs.iter().all(|run| ids.iter().all(|id| !run[id].scores.is_empty()));
    if !has_scores(&m) || !has_scores(&b) {
        return Delta::Missing("predictions lack per-example scores (written before they were recorded); re-run with --force".into());
    }
    let result = if resample == Resample::MacroF1 {
        let gold: Vec<&str> = ids.iter().map(|id| b[0][id].target.as_str()).collect();
        let (m_labels, b_labels) = (labels_of(&m, &ids), labels_of(&b, &ids));
        let mean_f1 = |all: &[Vec<Option<&str>>], idx: &[usize]| -> f64 {
            let g: Vec<&str> = idx.iter().map(|&i| gold[i]).collect();
            all.iter().map(|l| macro_f1(&g, &idx.iter().map(|&i| l[i]).collect::<Vec<_>>()).unwrap_or(f64::NAN)).sum::<f64>() / all.len() as f64
        };
        bootstrap_statistic(ids.len(), resamples, BOOTSTRAP_SEED, confidence, |idx| mean_f1(&m_labels, idx) - mean_f1(&b_labels, idx))
    } else {
        let per_example = |runs: &[HashMap<&str, &PredictionRecord>]| -> Option<Vec<f64>> {
            ids.iter().map(|id| Some(runs.iter().map(|run| run[id].scores.get(&col.metric).copied()).sum::<Option<f64>>()? / runs.len() as f64)).collect()
        };
        match (per_example(&m), per_example(&b)) {
            (Some(mv), Some(bv)) => paired_bootstrap(&mv, &bv, resamples, BOOTSTRAP_SEED, confidence),
            _ => return Delta::Missing(format!("no per-example `{}` scores", col.metric)),
        }
    };
    match result {
        Ok(ci) => Delta::Ci { ci, examples: ids.len() },
        Err(e) => Delta::Missing(e.to_string()),
    }
}
