//! `summarization`: a generated text scored against its reference with ROUGE-1/2/L/Lsum
//! F-measures ([`mod@crate::rouge`], rouge-score semantics); the primary metric is ROUGE-L.

use super::{MetricSpec, ScoreInput, TaskScorer, TaskScores};
use crate::error::{check_paired, MetricsError};
use crate::rouge::{corpus_rouge, RougeVariant};
use crate::sentences::sentence_lines;
use std::collections::BTreeMap;

/// Registry entry.
pub const SCORER: TaskScorer = TaskScorer {
    kind: "summarization",
    primary: "rougeL",
    // 2: ROUGE-Lsum splits sentences (`crate::sentences`); 1 scored the unsplit text.
    version: 2,
    metrics: &[
        MetricSpec::score("rouge1", "R-1", "ROUGE-1 F-measure: unigram overlap with the reference"),
        MetricSpec::score("rouge2", "R-2", "ROUGE-2 F-measure: bigram overlap with the reference"),
        MetricSpec::score("rougeL", "R-L", "ROUGE-L F-measure: longest common subsequence over the whole text"),
        MetricSpec::score("rougeLsum", "R-Lsum", "ROUGE-Lsum F-measure: union LCS over sentences (UAX #29 boundaries)"),
    ],
    score,
};

/// The metric names, in [`SCORER`]'s order, with the variant each one reads.
const VARIANTS: [(&str, RougeVariant); 4] = [
    ("rouge1", RougeVariant::Rouge1),
    ("rouge2", RougeVariant::Rouge2),
    ("rougeL", RougeVariant::RougeL),
    ("rougeLsum", RougeVariant::RougeLsum),
];

fn score(input: &ScoreInput) -> Result<TaskScores, MetricsError> {
    check_paired("references", input.references.len(), "predictions", input.predictions.len())?;
    // One sentence per line in both texts, for ROUGE-Lsum ([`crate::sentences`]); the other
    // variants tokenize across lines, so they do not change.
    let pairs: Vec<(String, String)> =
        input.references.iter().zip(input.predictions).map(|(r, p)| (sentence_lines(r), sentence_lines(p))).collect();
    let (corpus, each) = corpus_rouge(&pairs, input.options.rouge_stemmer)?;
    let metrics = VARIANTS.iter().map(|(name, v)| (name.to_string(), corpus.get(*v))).collect();
    let per_example = each
        .iter()
        .map(|s| VARIANTS.iter().map(|(name, v)| (name.to_string(), s.get(*v).fmeasure)).collect::<BTreeMap<_, _>>())
        .collect();
    Ok(TaskScores { metrics, per_example, labels: vec![None; pairs.len()] })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scoring::ScoreOptions;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12
    }

    #[test]
    fn lsum_scores_sentences_split_from_a_paragraph() {
        // "A b. C d." against "C d. A b.": over the whole text the LCS is 2 of 4 tokens
        // (F = 0.5); sentence by sentence each reference sentence is found whole (F = 1).
        let input = ScoreInput { references: &["A b. C d."], predictions: &["C d. A b."], labels: None, options: ScoreOptions { rouge_stemmer: false } };
        let out = score(&input).unwrap();
        assert!(close(out.metrics["rougeL"], 0.5), "{:?}", out.metrics);
        assert!(close(out.metrics["rougeLsum"], 1.0), "{:?}", out.metrics);
        assert!(close(out.metrics["rouge1"], 1.0) && close(out.metrics["rouge2"], 2.0 / 3.0), "{:?}", out.metrics);
    }

    #[test]
    fn rouge_means_by_hand() {
        // Pair 1, "a b c d" vs "a b d": unigrams P=3/3 R=3/4 → F1=6/7; bigrams "a b" of
        // {"a b","b c","c d"} vs {"a b","b d"} → P=1/2 R=1/3 F=2/5; LCS "a b d" → as ROUGE-1.
        // Pair 2 is identical → 1 everywhere. One line each, so Lsum equals L.
        let input = ScoreInput {
            references: &["a b c d", "x y"],
            predictions: &["a b d", "x y"],
            labels: None,
            options: ScoreOptions { rouge_stemmer: false },
        };
        let out = score(&input).unwrap();
        assert!(close(out.metrics["rouge1"], (6.0 / 7.0 + 1.0) / 2.0));
        assert!(close(out.metrics["rouge2"], (0.4 + 1.0) / 2.0));
        assert!(close(out.metrics["rougeL"], (6.0 / 7.0 + 1.0) / 2.0));
        assert!(close(out.metrics["rougeLsum"], out.metrics["rougeL"]));
        assert_eq!(out.per_example.len(), 2);
        assert!(close(out.per_example[0]["rouge2"], 0.4));
        assert!(close(out.per_example[1]["rougeLsum"], 1.0));
        assert_eq!(out.labels, [None, None]);
    }

    #[test]
    fn the_stemmer_option_reaches_rouge() {
        let input = |rouge_stemmer| ScoreInput { references: &["cats running"], predictions: &["cat run"], labels: None, options: ScoreOptions { rouge_stemmer } };
        assert!(close(score(&input(false)).unwrap().metrics["rouge1"], 0.0));
        assert!(close(score(&input(true)).unwrap().metrics["rouge1"], 1.0));
    }

    #[test]
    fn mismatched_lengths_name_both_inputs() {
        let input = ScoreInput { references: &["a", "b"], predictions: &["a"], labels: None, options: ScoreOptions::default() };
        let err = score(&input).unwrap_err().to_string();
        assert_eq!(err, "length mismatch: references has 2 values but predictions has 1");
    }
}
