//! The majority-class floor of a classification task: what always answering the most
//! frequent label of the test examples scores. A fine-tuned model must beat it.

use crate::load::LoadedRun;
use loran_train::record::RunStatus;
use loran_metrics::macro_f1;
use std::collections::BTreeMap;

/// The floor of one task, from the test targets of its first run with predictions.
#[derive(Debug, Clone, PartialEq)]
pub struct MajorityFloor {
    /// Task name.
    pub task: String,
    /// The most frequent label (ties: the first in name order).
    pub label: String,
    /// How many test examples carry it.
    pub count: usize,
    /// Test examples.
    pub examples: usize,
    /// Accuracy of always answering `label`.
    pub accuracy: f64,
    /// Macro-F1 of always answering `label`, over the labels present in the targets.
    pub macro_f1: f64,
}

impl MajorityFloor {
    /// One sentence for the report's notes.
    pub fn sentence(&self) -> String {
        format!(
            "{}: always answering `{}` (the most frequent label of these {} test examples) scores accuracy {:.4} ({}/{}) and macro-F1 {:.4}.",
            self.task, self.label, self.examples, self.accuracy, self.count, self.examples, self.macro_f1
        )
    }
}

/// The floor of every classification task (runs reporting `accuracy`) in `runs`.
pub fn majority_floors(runs: &[LoadedRun]) -> Vec<MajorityFloor> {
    let mut seen: BTreeMap<&str, MajorityFloor> = BTreeMap::new();
    for run in runs {
        let task = run.result.task.as_str();
        if seen.contains_key(task) || run.result.status != RunStatus::Ok || !run.result.metrics.contains_key("accuracy") {
            continue;
        }
        let Some(predictions) = run.predictions.as_ref().filter(|p| !p.is_empty()) else { continue };
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for p in predictions {
            *counts.entry(p.target.as_str()).or_default() += 1;
        }
        let (label, count) = counts.iter().fold(("", 0), |best, (l, c)| if *c > best.1 { (l, *c) } else { best });
        let gold: Vec<&str> = predictions.iter().map(|p| p.target.as_str()).collect();
        let constant: Vec<Option<&str>> = vec![Some(label); gold.len()];
        let f1 = macro_f1(&gold, &constant).unwrap_or(f64::NAN);
        let examples = gold.len();
        seen.insert(task, MajorityFloor { task: task.to_string(), label: label.to_string(), count, examples, accuracy: count as f64 / examples as f64, macro_f1: f1 });
    }
    seen.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::load_runs;
    use crate::test_support::{result, write_run};

    #[test]
    fn the_floor_is_the_most_frequent_target() {
        let grid = tempfile::tempdir().unwrap();
        let dir = write_run(grid.path(), &result("lora", "mail", 0, &[("accuracy", 0.5)]), &[]);
        let lines: String = ["a", "b", "b", "c", "b", "a"]
            .iter()
            .enumerate()
            .map(|(i, t)| format!("{{\"id\":\"{i}\",\"target\":\"{t}\",\"prediction\":\"a\",\"score\":0.0}}\n"))
            .collect();
        std::fs::write(dir.join("predictions.jsonl"), lines).unwrap();
        write_run(grid.path(), &result("news", "news", 0, &[("rougeL", 0.5)]), &[]);
        let floors = majority_floors(&load_runs(grid.path()).unwrap());
        assert_eq!(floors.len(), 1, "summarization has no floor");
        let f = &floors[0];
        assert_eq!((f.label.as_str(), f.count, f.examples), ("b", 3, 6));
        assert_eq!(f.accuracy, 0.5);
        // F1 of b: precision 3/6, recall 1 → 2/3; a and c score 0; macro over 3 labels.
        assert!((f.macro_f1 - (2.0 / 3.0) / 3.0).abs() < 1e-12, "{}", f.macro_f1);
        assert!(f.sentence().contains("always answering `b`") && f.sentence().contains("(3/6)"));
    }
}
