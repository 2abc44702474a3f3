//! Accuracy and macro-F1 over string labels, where a prediction may be
//! missing (`None`: the model's answer could not be parsed into a label).
//!
//! An unparseable prediction is always wrong: it counts as a false negative
//! for its gold class and is not a class of its own. Macro-F1 then equals
//! scikit-learn's
//! `f1_score(gold, pred_with_sentinel, labels=sorted(set(gold) | parsed_preds), average="macro")`
//! with the default `zero_division`: every class that occurs among the gold
//! labels or the parsed predictions counts, with F1 = 2·TP / (2·TP + FP + FN).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{check_paired, MetricsError};

/// Precision, recall, F1 and support of one class.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClassScores {
    /// The class label.
    pub label: String,
    /// TP / (TP + FP), or 0 when the class was never predicted.
    pub precision: f64,
    /// TP / (TP + FN), or 0 when the class never occurs in the gold labels.
    pub recall: f64,
    /// 2·TP / (2·TP + FP + FN): the harmonic mean of precision and recall.
    pub f1: f64,
    /// Number of gold examples of this class.
    pub support: usize,
}

/// Everything [`classify`] computes over one evaluation set.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClassificationReport {
    /// Fraction of examples whose parsed prediction equals the gold label.
    pub accuracy: f64,
    /// Unweighted mean of the per-class F1 values.
    pub macro_f1: f64,
    /// One entry per class, sorted by label (as scikit-learn sorts them).
    pub per_class: Vec<ClassScores>,
    /// Number of examples.
    pub n: usize,
    /// Number of predictions that were `None`.
    pub unparseable: usize,
}

#[derive(Default)]
struct Counts {
    tp: usize,
    fp: usize,
    fn_: usize,
}

fn ratio(numerator: usize, denominator: usize) -> f64 {
    if denominator == 0 {
        0.0
    } else {
        numerator as f64 / denominator as f64
    }
}

/// Accuracy, macro-F1 and the per-class breakdown of `predictions` against
/// `gold`, paired by position.
///
/// # Errors
///
/// [`MetricsError::LengthMismatch`] if the lengths differ (naming both), and
/// [`MetricsError::EmptyInput`] if there are no examples.
pub fn classify<G: AsRef<str>, P: AsRef<str>>(
    gold: &[G],
    predictions: &[Option<P>],
) -> Result<ClassificationReport, MetricsError> {
    check_paired("gold", gold.len(), "predictions", predictions.len())?;
    let mut counts: BTreeMap<&str, Counts> = BTreeMap::new();
    let mut correct = 0;
    let mut unparseable = 0;
    for (gold, prediction) in gold.iter().zip(predictions) {
        let gold = gold.as_ref();
        match prediction.as_ref().map(AsRef::as_ref) {
            Some(predicted) if predicted == gold => {
                correct += 1;
                counts.entry(gold).or_default().tp += 1;
            }
            Some(predicted) => {
                counts.entry(gold).or_default().fn_ += 1;
                counts.entry(predicted).or_default().fp += 1;
            }
            None => {
                unparseable += 1;
                counts.entry(gold).or_default().fn_ += 1;
            }
        }
    }
    let per_class: Vec<ClassScores> = counts
        .into_iter()
        .map(|(label, c)| ClassScores {
            label: label.to_owned(),
            precision: ratio(c.tp, c.tp + c.fp),
            recall: ratio(c.tp, c.tp + c.fn_),
            f1: ratio(2 * c.tp, 2 * c.tp + c.fp + c.fn_),
            support: c.tp + c.fn_,
        })
        .collect();
    let macro_f1 = per_class.iter().map(|c| c.f1).sum::<f64>() / per_class.len() as f64;
    Ok(ClassificationReport {
        accuracy: correct as f64 / gold.len() as f64,
        macro_f1,
        per_class,
        n: gold.len(),
        unparseable,
    })
}

/// Fraction of positions where the prediction parsed and equals the gold label.
///
/// # Errors
///
/// As [`classify`]: mismatched lengths or no examples.
pub fn accuracy<G: AsRef<str>, P: AsRef<str>>(
    gold: &[G],
    predictions: &[Option<P>],
) -> Result<f64, MetricsError> {
    classify(gold, predictions).map(|report| report.accuracy)
}

/// Macro-averaged F1 over the union of gold and parsed predicted labels.
///
/// # Errors
///
/// As [`classify`]: mismatched lengths or no examples.
pub fn macro_f1<G: AsRef<str>, P: AsRef<str>>(
    gold: &[G],
    predictions: &[Option<P>],
) -> Result<f64, MetricsError> {
    classify(gold, predictions).map(|report| report.macro_f1)
}

/// Macro-averaged F1 over a fixed class set `classes` (a task's own labels), so that a
/// bootstrap resample in which a rare class is absent scores it 0 instead of dropping it
/// from the average (the union of gold and predicted labels changes between resamples).
/// Equals scikit-learn's `f1_score(gold, pred, labels=classes, average="macro",
/// zero_division=0)` with unparseable answers mapped to a class of their own: an
/// unparseable answer is a miss of its gold class and a hit of no task label. That extra
/// class is counted but not averaged: it has no gold examples, so its F1 is 0 by
/// definition and averaging it would only scale every score by K/(K + 1). Labels outside
/// `classes` count as wrong answers, like unparseable ones.
///
/// # Errors
///
/// As [`classify`]: mismatched lengths or no examples.
pub fn macro_f1_over<G: AsRef<str>, P: AsRef<str>, C: AsRef<str>>(
    gold: &[G],
    predictions: &[Option<P>],
    classes: &[C],
) -> Result<f64, MetricsError> {
    check_paired("gold", gold.len(), "predictions", predictions.len())?;
    if classes.is_empty() {
        return Err(MetricsError::EmptyInput { what: "classes" });
    }
    let index: BTreeMap<&str, usize> = classes.iter().enumerate().map(|(i, c)| (c.as_ref(), i)).collect();
    let mut counts: Vec<Counts> = (0..classes.len()).map(|_| Counts::default()).collect();
    for (gold, prediction) in gold.iter().zip(predictions) {
        let g = index.get(gold.as_ref()).copied();
        let p = prediction.as_ref().and_then(|p| index.get(p.as_ref()).copied());
        match (g, p) {
            (Some(g), Some(p)) if g == p => counts[g].tp += 1,
            (g, p) => {
                if let Some(g) = g {
                    counts[g].fn_ += 1;
                }
                if let Some(p) = p {
                    counts[p].fp += 1;
                }
            }
        }
    }
    Ok(counts.iter().map(|c| ratio(2 * c.tp, 2 * c.tp + c.fp + c.fn_)).sum::<f64>() / classes.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macro_f1_over_a_fixed_label_set_by_hand() {
        // Labels a, b, c; c never occurs. Gold a a b b; predictions a, b, b, unparseable.
        let gold = ["a", "a", "b", "b"];
        let pred = [Some("a"), Some("b"), Some("b"), None];
        // a: tp 1, fn 1 → 2/3; b: tp 1, fp 1, fn 1 → 1/2; c: 0/0 → 0. Mean over 3 = 7/18.
        let f1 = macro_f1_over(&gold, &pred, &["a", "b", "c"]).unwrap();
        assert!((f1 - 7.0 / 18.0).abs() < 1e-12, "{f1}");
        // Over the union of gold and predicted (a, b) it would be 7/12: c's 0 is the difference.
        assert!((macro_f1(&gold, &pred).unwrap() - 7.0 / 12.0).abs() < 1e-12);
        // A label outside the set misses its gold class and hits no label, like an
        // unparseable answer: a 2/3, b 2/3 (no false positive now), c 0 → 4/9.
        let outside = macro_f1_over(&gold, &[Some("a"), Some("z"), Some("b"), None], &["a", "b", "c"]).unwrap();
        let unparseable = macro_f1_over(&gold, &[Some("a"), None, Some("b"), None], &["a", "b", "c"]).unwrap();
        assert!((outside - 4.0 / 9.0).abs() < 1e-12 && outside == unparseable, "{outside} {unparseable}");
        assert!(macro_f1_over(&gold, &pred, &[] as &[&str]).is_err());
    }

    const TOL: f64 = 1e-12;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= TOL
    }

    #[test]
    fn brief_example_with_one_unparseable() {
        // gold [a,a,b,c], pred [a,b,b,None]:
        //   a: TP=1 FP=0 FN=1 -> P=1,   R=1/2, F1=2/3
        //   b: TP=1 FP=1 FN=0 -> P=1/2, R=1,   F1=2/3
        //   c: TP=0 FP=0 FN=1 -> P=0,   R=0,   F1=0 (None is c's false negative)
        //   macro-F1 = (2/3 + 2/3 + 0) / 3 = 4/9; accuracy = 2/4.
        let gold = ["a", "a", "b", "c"];
        let pred = [Some("a"), Some("b"), Some("b"), None];
        let r = classify(&gold, &pred).expect("paired");
        assert!(close(r.accuracy, 0.5));
        assert!(close(r.macro_f1, 4.0 / 9.0));
        assert_eq!(r.unparseable, 1);
        assert_eq!(r.n, 4);
        let labels: Vec<_> = r.per_class.iter().map(|c| c.label.as_str()).collect();
        assert_eq!(labels, ["a", "b", "c"]);
        let a = &r.per_class[0];
        assert!(close(a.precision, 1.0) && close(a.recall, 0.5) && close(a.f1, 2.0 / 3.0));
        assert_eq!(a.support, 2);
        let b = &r.per_class[1];
        assert!(close(b.precision, 0.5) && close(b.recall, 1.0) && close(b.f1, 2.0 / 3.0));
        assert_eq!(b.support, 1);
        let c = &r.per_class[2];
        assert!(close(c.precision, 0.0) && close(c.recall, 0.0) && close(c.f1, 0.0));
        assert_eq!(c.support, 1);
    }

    #[test]
    fn sklearn_documentation_example() {
        // scikit-learn's f1_score docstring: y_true=[0,1,2,0,1,2],
        // y_pred=[0,2,1,0,0,1], average="macro" -> 0.26666666666666666.
        //   class 0: TP=2 FP=1 FN=0 -> F1=4/5; classes 1 and 2: TP=0 -> F1=0.
        let gold = ["0", "1", "2", "0", "1", "2"];
        let pred = ["0", "2", "1", "0", "0", "1"].map(Some);
        assert!(close(macro_f1(&gold, &pred).expect("paired"), 0.8 / 3.0));
        // accuracy_score on the same data: 2/6.
        assert!(close(accuracy(&gold, &pred).expect("paired"), 1.0 / 3.0));
    }

    #[test]
    fn predicted_label_outside_gold_is_a_class() {
        // gold [a,b,b,b,c], pred [a,b,d,None,a]:
        //   a: TP=1 FP=1 FN=0 -> F1=2/3
        //   b: TP=1 FP=0 FN=2 -> P=1, R=1/3, F1=1/2
        //   c: TP=0 FP=0 FN=1 -> F1=0
        //   d: TP=0 FP=1 FN=0 -> F1=0 (support 0, recall 0 by zero_division)
        //   macro-F1 = (2/3 + 1/2) / 4 = 7/24; accuracy = 2/5.
        let gold = ["a", "b", "b", "b", "c"];
        let pred = [Some("a"), Some("b"), Some("d"), None, Some("a")];
        let r = classify(&gold, &pred).expect("paired");
        assert!(close(r.macro_f1, 7.0 / 24.0));
        assert!(close(r.accuracy, 0.4));
        assert_eq!(r.per_class.len(), 4);
        let d = &r.per_class[3];
        assert_eq!((d.label.as_str(), d.support), ("d", 0));
        assert!(close(d.precision, 0.0) && close(d.recall, 0.0));
        let supports: usize = r.per_class.iter().map(|c| c.support).sum();
        assert_eq!(supports, gold.len());
    }

    #[test]
    fn all_unparseable_scores_zero() {
        let gold = ["x", "y"];
        let pred: [Option<&str>; 2] = [None, None];
        let r = classify(&gold, &pred).expect("paired");
        assert_eq!((r.accuracy, r.macro_f1, r.unparseable), (0.0, 0.0, 2));
        assert_eq!(r.per_class.len(), 2);
    }

    #[test]
    fn perfect_predictions_score_one() {
        let gold = vec!["sci.space".to_string(), "rec.autos".to_string()];
        let pred = vec![Some("sci.space".to_string()), Some("rec.autos".to_string())];
        let r = classify(&gold, &pred).expect("paired");
        assert_eq!((r.accuracy, r.macro_f1), (1.0, 1.0));
    }

    #[test]
    fn rejects_mismatched_and_empty_inputs() {
        let err = accuracy(&["a", "b"], &[Some("a")]).unwrap_err();
        assert_eq!(
            err,
            MetricsError::LengthMismatch {
                left_name: "gold",
                left: 2,
                right_name: "predictions",
                right: 1
            }
        );
        let empty: [&str; 0] = [];
        let none: [Option<&str>; 0] = [];
        assert_eq!(
            macro_f1(&empty, &none).unwrap_err(),
            MetricsError::EmptyInput { what: "gold" }
        );
    }
}
