//! One comparison "row − other row" in one column, paired by seed and by test example,
//! as an [`Inference`] over seeds × examples (`loran_stats`).
//!
//! Runs of the two rows are paired by training seed (seeds only one row has are left
//! out), and examples by id (those every recorded run of both rows scored). A diverged
//! run counted at the worst score has no predictions of its own: it scores the worst
//! value on every example (`0`, an unparseable answer, or the worst loss per token).
//! Mean metrics (ROUGE, accuracy) use the exact seed × example variance; the token-weighted
//! test loss and macro-F1 (over the task's fixed label set) use a shared example
//! bootstrap with a fixed seed, so a report renders the same bytes every time.

use super::build::{column_spec, TableColumn, TableData};
use crate::load::LoadedRun;
use loran_metrics::{macro_f1_over, Resample};
use loran_stats::{from_differences, two_stage_bootstrap, Inference};
use loran_train::record::{PredictionRecord, RunStatus};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Seed of every bootstrap in a report.
pub const BOOTSTRAP_SEED: u64 = 0;

/// A run's per-example records by id, or `None` for a diverged run counted as worst.
type Records<'a> = Option<HashMap<&'a str, &'a PredictionRecord>>;

/// Per seed, a value per example for the row and for the row it is compared with.
type PerSeed<T> = Vec<(Vec<T>, Vec<T>)>;

/// The runs of one row for one task, by seed (the first run of a seed if several).
fn by_seed<'a>(table: &TableData, runs: &'a [LoadedRun], row: &str, task: &str) -> BTreeMap<u64, &'a LoadedRun> {
    let mut out = BTreeMap::new();
    for &i in table.members.get(&(row.to_string(), task.to_string())).into_iter().flatten() {
        out.entry(runs[i].result.seed).or_insert(&runs[i]);
    }
    out
}

fn records(run: &LoadedRun) -> Result<Records<'_>, String> {
    if run.result.status != RunStatus::Ok {
        return Ok(None);
    }
    match &run.predictions {
        Some(p) => Ok(Some(p.iter().map(|r| (r.id.as_str(), r)).collect())),
        None => Err("no predictions.jsonl".into()),
    }
}

/// `row − against` in column `col`, or why it cannot be computed.
pub fn compare(table: &TableData, runs: &[LoadedRun], row: &str, against: &str, col: &TableColumn, resamples: usize) -> Result<Inference, String> {
    let (m, b) = (by_seed(table, runs, row, &col.task), by_seed(table, runs, against, &col.task));
    let seeds: Vec<u64> = m.keys().filter(|s| b.contains_key(s)).copied().collect();
    if seeds.is_empty() {
        return Err(format!("no training seed in common with `{against}`"));
    }
    let pairs: Vec<(Records, Records)> = seeds.iter().map(|s| Ok((records(m[s])?, records(b[s])?))).collect::<Result<_, String>>()?;
    let recorded: Vec<&HashMap<&str, &PredictionRecord>> = pairs.iter().flat_map(|(x, y)| [x.as_ref(), y.as_ref()]).flatten().collect();
    let Some(first) = recorded.first() else {
        return Err("every paired run diverged: no predictions to pair".into());
    };
    // Example ids every recorded run scored, in a fixed (sorted) order.
    let ids: Vec<&str> = first.keys().copied().filter(|id| recorded.iter().all(|r| r.contains_key(id))).collect::<BTreeSet<_>>().into_iter().collect();
    if ids.is_empty() {
        return Err("no test example in common".into());
    }
    let reference: Vec<&PredictionRecord> = ids.iter().map(|id| first[id]).collect();
    let worst = table.worst.get(&(col.task.clone(), col.metric.clone())).copied().unwrap_or(0.0);
    let result = match column_spec(&col.metric).resample {
        Resample::TokenWeighted => loss_delta(&pairs, &ids, &reference, worst, resamples),
        Resample::MacroF1 => f1_delta(&pairs, &ids, &reference, runs_labels(&m, &b), resamples),
        Resample::NotResampled => return Err(format!("`{}` has no per-example values", col.metric)),
        Resample::ExampleMean => mean_delta(&pairs, &ids, &col.metric, worst),
    };
    result.map(|(delta, parts)| Inference::new(delta, &parts))
}

fn mean_delta(pairs: &[(Records, Records)], ids: &[&str], metric: &str, worst: f64) -> Result<(f64, loran_stats::VarianceParts), String> {
    let value = |r: &Records, id: &str| -> Result<f64, String> {
        match r {
            None => Ok(worst),
            Some(map) => map[id].scores.get(metric).copied().ok_or_else(|| {
                "predictions lack per-example scores (written before they were recorded); re-run with --force".to_string()
            }),
        }
    };
    let x: Vec<Vec<f64>> = pairs.iter().map(|(m, b)| ids.iter().map(|id| Ok(value(m, id)? - value(b, id)?)).collect::<Result<_, String>>()).collect::<Result<_, String>>()?;
    from_differences(&x).map_err(|e| e.to_string())
}

/// Per example: (loss sum, tokens) of a run; a counted diverged run has `worst` per token.
fn loss_parts(r: &Records, ids: &[&str], reference: &[&PredictionRecord], worst: f64) -> Result<Vec<(f64, f64)>, String> {
    let missing = || "predictions lack per-example test losses (written before they were recorded); re-run with --force".to_string();
    ids.iter()
        .zip(reference)
        .map(|(id, reference)| match r {
            None => reference.loss_tokens.map(|t| (worst * t as f64, t as f64)).ok_or_else(missing),
            Some(map) => Ok((map[id].loss_sum.ok_or_else(missing)?, map[id].loss_tokens.ok_or_else(missing)? as f64)),
        })
        .collect()
}

fn loss_delta(pairs: &[(Records, Records)], ids: &[&str], reference: &[&PredictionRecord], worst: f64, resamples: usize) -> Result<(f64, loran_stats::VarianceParts), String> {
    let parts: PerSeed<(f64, f64)> =
        pairs.iter().map(|(m, b)| Ok((loss_parts(m, ids, reference, worst)?, loss_parts(b, ids, reference, worst)?))).collect::<Result<_, String>>()?;
    let mean = |run: &[(f64, f64)], idx: &[usize]| {
        let (sum, tokens) = idx.iter().fold((0.0, 0.0), |(s, n), &i| (s + run[i].0, n + run[i].1));
        sum / tokens.max(1.0)
    };
    two_stage_bootstrap(pairs.len(), ids.len(), resamples, BOOTSTRAP_SEED, |s, idx| mean(&parts[s].0, idx) - mean(&parts[s].1, idx)).map_err(|e| e.to_string())
}

/// The task's label set recorded by the runs (the first run that has one).
fn runs_labels(m: &BTreeMap<u64, &LoadedRun>, b: &BTreeMap<u64, &LoadedRun>) -> Option<Vec<String>> {
    m.values().chain(b.values()).find_map(|r| r.result.task_labels.clone())
}

fn f1_delta(pairs: &[(Records, Records)], ids: &[&str], reference: &[&PredictionRecord], labels: Option<Vec<String>>, resamples: usize) -> Result<(f64, loran_stats::VarianceParts), String> {
    let gold: Vec<&str> = reference.iter().map(|r| r.target.as_str()).collect();
    // Without a recorded label set (older runs): every label the gold answers or any
    // paired run used, fixed for all resamples.
    let classes: Vec<String> = labels.unwrap_or_else(|| {
        let mut set: BTreeSet<String> = gold.iter().map(|g| g.to_string()).collect();
        for map in pairs.iter().flat_map(|(m, b)| [m, b]).flatten() {
            set.extend(map.values().filter_map(|p| p.label.clone()));
        }
        set.into_iter().collect()
    });
    let labels_of = |r: &Records| -> Vec<Option<String>> {
        match r {
            None => vec![None; ids.len()],
            Some(map) => ids.iter().map(|id| map[id].label.clone()).collect(),
        }
    };
    let labelled: PerSeed<Option<String>> = pairs.iter().map(|(m, b)| (labels_of(m), labels_of(b))).collect();
    let f1 = |answers: &[Option<String>], idx: &[usize]| {
        let g: Vec<&str> = idx.iter().map(|&i| gold[i]).collect();
        let a: Vec<Option<&str>> = idx.iter().map(|&i| answers[i].as_deref()).collect();
        macro_f1_over(&g, &a, &classes).unwrap_or(f64::NAN)
    };
    two_stage_bootstrap(pairs.len(), ids.len(), resamples, BOOTSTRAP_SEED, |s, idx| f1(&labelled[s].0, idx) - f1(&labelled[s].1, idx)).map_err(|e| e.to_string())
}
