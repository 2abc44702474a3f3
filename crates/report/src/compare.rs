//! Two results folders of the same grid, number by number: are reruns bit-identical,
//! and how far apart are runs with different thread counts?

use crate::load::{scan_runs, LoadedRun};
use anyhow::Result;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// One number recorded by a run in both folders.
#[derive(Debug, Clone, PartialEq)]
pub struct NumberPair {
    /// The run id.
    pub run_id: String,
    /// `metrics.<name>`, `train.final_loss`, or `step <n> loss` / `step <n> grad_norm`.
    pub name: String,
    /// The value in the first folder.
    pub a: f64,
    /// The value in the second folder.
    pub b: f64,
}

impl NumberPair {
    /// Whether both values have the same bits (NaN equals NaN).
    pub fn identical(&self) -> bool {
        self.a.to_bits() == self.b.to_bits()
    }

    /// `|a − b|` (0 for identical values, NaN against a number is infinite).
    pub fn abs_diff(&self) -> f64 {
        if self.identical() {
            0.0
        } else if self.a.is_nan() || self.b.is_nan() {
            f64::INFINITY
        } else {
            (self.a - self.b).abs()
        }
    }
}

/// What [`compare_grid_dirs`] found.
#[derive(Debug, Clone, Default)]
pub struct Comparison {
    /// Every number of every finished run present in both folders.
    pub numbers: Vec<NumberPair>,
    /// Finished runs in only one of the folders (first folder, second folder).
    pub unmatched: (Vec<String>, Vec<String>),
    /// Thread counts recorded by the runs of each folder.
    pub threads: (BTreeSet<usize>, BTreeSet<usize>),
}

impl Comparison {
    /// Numbers whose bits differ.
    pub fn differing(&self) -> impl Iterator<Item = &NumberPair> {
        self.numbers.iter().filter(|n| !n.identical())
    }

    /// What keeps the two folders from matching, in words (`2 of 176 numbers differ, 1
    /// run finished in one folder only`), or `None` when every number of every run is
    /// bit-identical. Comparing nothing is a mismatch too: two empty folders, or folders of
    /// different grids, must not read as a passed check.
    pub fn mismatch(&self) -> Option<String> {
        let mut found = Vec::new();
        let differing = self.differing().count();
        if differing > 0 {
            found.push(format!("{differing} of {} numbers differ", self.numbers.len()));
        }
        let (only_a, only_b) = (self.unmatched.0.len(), self.unmatched.1.len());
        if only_a > 0 {
            found.push(format!("{only_a} run(s) finished in the first folder only"));
        }
        if only_b > 0 {
            found.push(format!("{only_b} run(s) finished in the second folder only"));
        }
        if self.numbers.is_empty() {
            found.push("no number was compared (no finished run is in both folders)".into());
        }
        (!found.is_empty()).then(|| found.join(", "))
    }
}

fn numbers(run: &LoadedRun) -> BTreeMap<String, f64> {
    let mut out: BTreeMap<String, f64> = run.result.metrics.iter().map(|(k, v)| (format!("metrics.{k}"), *v)).collect();
    out.insert("train.final_loss".into(), run.result.train.final_loss);
    for s in &run.steps {
        out.insert(format!("step {:>4} loss", s.step), s.loss);
        out.insert(format!("step {:>4} grad_norm", s.step), s.grad_norm);
    }
    out
}

/// Pairs the numbers of the finished runs (same run id) of two grid folders.
pub fn compare_grid_dirs(a: &Path, b: &Path) -> Result<Comparison> {
    let (runs_a, runs_b) = (scan_runs(a)?.runs, scan_runs(b)?.runs);
    let by_id = |runs: &[LoadedRun]| -> BTreeMap<String, BTreeMap<String, f64>> {
        runs.iter().map(|r| (r.result.run_id.clone(), numbers(r))).collect()
    };
    let (map_a, map_b) = (by_id(&runs_a), by_id(&runs_b));
    let mut out = Comparison {
        threads: (runs_a.iter().map(|r| r.result.threads).collect(), runs_b.iter().map(|r| r.result.threads).collect()),
        ..Comparison::default()
    };
    for (id, nums_a) in &map_a {
        let Some(nums_b) = map_b.get(id) else {
            out.unmatched.0.push(id.clone());
            continue;
        };
        for (name, &va) in nums_a {
            if let Some(&vb) = nums_b.get(name) {
                out.numbers.push(NumberPair { run_id: id.clone(), name: name.clone(), a: va, b: vb });
            }
        }
    }
    out.unmatched.1 = map_b.keys().filter(|id| !map_a.contains_key(*id)).cloned().collect();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_means_the_same_bits() {
        let pair = |a: f64, b: f64| NumberPair { run_id: "r".into(), name: "n".into(), a, b };
        assert!(pair(0.1 + 0.2, 0.1 + 0.2).identical());
        assert!(!pair(0.1 + 0.2, 0.3).identical());
        assert_eq!(pair(0.1 + 0.2, 0.3).abs_diff(), 0.1 + 0.2 - 0.3);
        assert!(pair(f64::NAN, f64::NAN).identical());
        assert_eq!(pair(f64::NAN, 1.0).abs_diff(), f64::INFINITY);
        assert!(!pair(0.0, -0.0).identical(), "signed zeros differ in bits");
    }

    #[test]
    fn a_mismatch_is_a_difference_a_missing_run_or_nothing_compared() {
        let pair = |a: f64, b: f64| NumberPair { run_id: "r".into(), name: "n".into(), a, b };
        let same = Comparison { numbers: vec![pair(1.0, 1.0), pair(2.0, 2.0)], ..Comparison::default() };
        assert_eq!(same.mismatch(), None);
        let differ = Comparison { numbers: vec![pair(1.0, 1.0), pair(2.0, 2.5)], ..Comparison::default() };
        assert_eq!(differ.mismatch().as_deref(), Some("1 of 2 numbers differ"));
        let missing = Comparison { unmatched: (vec![], vec!["r2".into()]), ..same.clone() };
        assert_eq!(missing.mismatch().as_deref(), Some("1 run(s) finished in the second folder only"));
        assert_eq!(
            Comparison::default().mismatch().as_deref(),
            Some("no number was compared (no finished run is in both folders)")
        );
    }
}
