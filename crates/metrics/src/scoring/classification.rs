//! `classification`: each generated answer is parsed into one of the task's labels
//! ([`parse_label`]) and scored with accuracy and macro-F1 over the task's own label set
//! ([`macro_f1_over`]), an unparseable answer counting as wrong. The primary metric is
//! accuracy. Version 2: macro-F1 averages the task's labels, not gold ∪ predicted.

use super::{Direction, MetricSpec, Resample, ScoreInput, TaskScorer, TaskScores};
use crate::answer::parse_label;
use crate::classification::{classify, macro_f1_over};
use crate::error::{check_paired, MetricsError};
use std::collections::BTreeMap;

/// Registry entry.
pub const SCORER: TaskScorer = TaskScorer {
    kind: "classification",
    primary: "accuracy",
    version: 2,
    metrics: &[
        MetricSpec::score("accuracy", "Acc", "share of answers that parse to the gold label"),
        MetricSpec {
            resample: Resample::MacroF1,
            ..MetricSpec::score("macro_f1", "Macro-F1", "unweighted mean F1 over the task's labels (a label absent from the test set scores 0)")
        },
        MetricSpec {
            name: "unparseable",
            header: "Unparseable",
            scale: 100.0,
            decimals: 2,
            direction: Direction::Lower,
            resample: Resample::NotResampled,
            table: false,
            doc: "share of answers that are none of the labels (a diagnostic, not a table column)",
        },
    ],
    score,
};

fn score(input: &ScoreInput) -> Result<TaskScores, MetricsError> {
    let labels = input.labels.ok_or(MetricsError::MissingLabels { kind: SCORER.kind })?;
    check_paired("references", input.references.len(), "predictions", input.predictions.len())?;
    let parsed: Vec<Option<String>> = input.predictions.iter().map(|p| parse_label(p, labels)).collect();
    let report = classify(input.references, &parsed)?;
    let metrics = BTreeMap::from([
        ("accuracy".to_string(), report.accuracy),
        ("macro_f1".to_string(), macro_f1_over(input.references, &parsed, labels)?),
        ("unparseable".to_string(), report.unparseable as f64 / report.n as f64),
    ]);
    let per_example = input
        .references
        .iter()
        .zip(&parsed)
        .map(|(gold, p)| BTreeMap::from([("accuracy".to_string(), f64::from(p.as_deref() == Some(*gold)))]))
        .collect();
    Ok(TaskScores { metrics, per_example, labels: parsed })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scoring::ScoreOptions;

    fn labels() -> Vec<String> {
        ["a", "b", "c"].map(String::from).to_vec()
    }

    #[test]
    fn accuracy_and_macro_f1_by_hand() {
        // Answers parse to [a, b, b, None] against gold [a, a, b, c]:
        //   a: TP=1 FN=1 → F1=2/3; b: TP=1 FP=1 → F1=2/3; c: FN=1 → F1=0.
        //   macro-F1 = 4/9, accuracy = 2/4, unparseable = 1/4.
        let labels = labels();
        let input = ScoreInput {
            references: &["a", "a", "b", "c"],
            predictions: &["A.", "b\nbecause", "  b", "none of them"],
            labels: Some(&labels),
            options: ScoreOptions::default(),
        };
        let out = score(&input).unwrap();
        assert_eq!(out.metrics["accuracy"], 0.5);
        assert!((out.metrics["macro_f1"] - 4.0 / 9.0).abs() < 1e-12);
        // A fourth label absent from these examples still counts (F1 0): (4/3)/4 = 1/3.
        let four = ["a", "b", "c", "d"].map(String::from).to_vec();
        let out4 = score(&ScoreInput { labels: Some(&four), ..input }).unwrap();
        assert!((out4.metrics["macro_f1"] - 1.0 / 3.0).abs() < 1e-12, "{}", out4.metrics["macro_f1"]);
        assert_eq!(out.metrics["unparseable"], 0.25);
        let correct: Vec<f64> = out.per_example.iter().map(|s| s["accuracy"]).collect();
        assert_eq!(correct, [1.0, 0.0, 1.0, 0.0]);
        assert!(out.per_example.iter().all(|s| s.len() == 1), "macro-F1 has no per-example value");
        assert_eq!(out.labels, [Some("a".into()), Some("b".into()), Some("b".into()), None]);
    }

    #[test]
    fn without_labels_it_says_what_to_pass() {
        let input = ScoreInput { references: &["a"], predictions: &["a"], labels: None, options: ScoreOptions::default() };
        let err = score(&input).unwrap_err().to_string();
        assert!(err.contains("`classification`") && err.contains("ScoreInput::labels"), "{err}");
    }

    #[test]
    fn mismatched_lengths_name_both_inputs() {
        let labels = labels();
        let input = ScoreInput { references: &["a", "b"], predictions: &["a"], labels: Some(&labels), options: ScoreOptions::default() };
        assert_eq!(score(&input).unwrap_err().to_string(), "length mismatch: references has 2 values but predictions has 1");
    }
}
