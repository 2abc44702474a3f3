//! ROUGE-1, ROUGE-2, ROUGE-L and ROUGE-Lsum with the semantics of Google's
//! `rouge-score` package (its tokenizer, NLTK's Porter stemmer and the
//! summary-level `rougeLsum`), computed by the [`rougers`] crate.
//!
//! Scores are on the 0–1 scale everywhere in this module; multiply by 100
//! for paper-style tables.

use std::sync::OnceLock;

use rougers::{RougeScorer, RougeType, Score, Scores, Tokenizer};
use serde::{Deserialize, Serialize};

use crate::error::MetricsError;

/// Precision, recall and F-measure of one ROUGE variant, each in [0, 1].
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Prf {
    /// Matched units over units in the prediction.
    pub precision: f64,
    /// Matched units over units in the target.
    pub recall: f64,
    /// Harmonic mean of precision and recall (0 when both are 0).
    pub fmeasure: f64,
}

impl From<Score> for Prf {
    fn from(score: Score) -> Self {
        Prf {
            precision: score.precision,
            recall: score.recall,
            fmeasure: score.fmeasure,
        }
    }
}

/// One of the four ROUGE variants this crate reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RougeVariant {
    /// Unigram overlap.
    Rouge1,
    /// Bigram overlap.
    Rouge2,
    /// Longest common subsequence over the whole text.
    RougeL,
    /// Summary-level LCS over newline-separated sentences.
    RougeLsum,
}

impl RougeVariant {
    /// All variants, in report order.
    pub const ALL: [RougeVariant; 4] = [
        RougeVariant::Rouge1,
        RougeVariant::Rouge2,
        RougeVariant::RougeL,
        RougeVariant::RougeLsum,
    ];

    /// The name `rouge-score` uses: `rouge1`, `rouge2`, `rougeL` or `rougeLsum`.
    pub fn name(self) -> &'static str {
        match self {
            RougeVariant::Rouge1 => "rouge1",
            RougeVariant::Rouge2 => "rouge2",
            RougeVariant::RougeL => "rougeL",
            RougeVariant::RougeLsum => "rougeLsum",
        }
    }

    fn rougers_type(self) -> RougeType {
        match self {
            RougeVariant::Rouge1 => RougeType::N(1),
            RougeVariant::Rouge2 => RougeType::N(2),
            RougeVariant::RougeL => RougeType::L,
            RougeVariant::RougeLsum => RougeType::LSum,
        }
    }
}

/// ROUGE scores of one (target, prediction) pair.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RougeScores {
    /// ROUGE-1.
    pub rouge1: Prf,
    /// ROUGE-2.
    pub rouge2: Prf,
    /// ROUGE-L (one LCS over all tokens; newlines are ordinary separators).
    pub rouge_l: Prf,
    /// ROUGE-Lsum (union LCS over the non-empty lines of each text).
    pub rouge_lsum: Prf,
}

impl RougeScores {
    /// The scores of one variant.
    pub fn get(&self, variant: RougeVariant) -> Prf {
        match variant {
            RougeVariant::Rouge1 => self.rouge1,
            RougeVariant::Rouge2 => self.rouge2,
            RougeVariant::RougeL => self.rouge_l,
            RougeVariant::RougeLsum => self.rouge_lsum,
        }
    }

    fn from_rougers(scores: &Scores) -> Self {
        let pick = |variant: RougeVariant| {
            scores
                .get(variant.rougers_type())
                .map(Prf::from)
                .expect("the shared scorer is built with all four variants")
        };
        RougeScores {
            rouge1: pick(RougeVariant::Rouge1),
            rouge2: pick(RougeVariant::Rouge2),
            rouge_l: pick(RougeVariant::RougeL),
            rouge_lsum: pick(RougeVariant::RougeLsum),
        }
    }
}

/// The process-wide scorer for all four variants, one per stemming choice.
fn scorer(use_stemmer: bool) -> &'static RougeScorer {
    static PLAIN: OnceLock<RougeScorer> = OnceLock::new();
    static STEMMED: OnceLock<RougeScorer> = OnceLock::new();
    let cell = if use_stemmer { &STEMMED } else { &PLAIN };
    cell.get_or_init(|| {
        let types = RougeVariant::ALL.iter().map(|v| v.rougers_type()).collect();
        RougeScorer::with_tokenizer(types, Tokenizer::new(use_stemmer))
            .expect("rouge1, rouge2, rougeL and rougeLsum are valid rougers types")
    })
}

/// Scores `prediction` against `target` exactly as
/// `rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL", "rougeLsum"],
/// use_stemmer).score(target, prediction)` does.
///
/// Text is lowercased and cut into runs of ASCII `[a-z0-9]`; with
/// `use_stemmer`, tokens longer than three characters go through the Porter
/// stemmer. `rougeLsum` takes the non-empty lines (split on `'\n'`) as
/// sentences, so put one sentence per line in both texts to use it.
pub fn rouge(target: &str, prediction: &str, use_stemmer: bool) -> RougeScores {
    RougeScores::from_rougers(&scorer(use_stemmer).score(target, prediction))
}

/// Mean F-measure of each variant over a corpus, on the 0–1 scale.
///
/// This is the plain arithmetic mean over pairs, not the bootstrap median
/// that `rouge-score`'s `BootstrapAggregator` (and Hugging Face `evaluate`)
/// reports; the two agree to within bootstrap noise.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct CorpusRouge {
    /// Mean ROUGE-1 F-measure.
    pub rouge1: f64,
    /// Mean ROUGE-2 F-measure.
    pub rouge2: f64,
    /// Mean ROUGE-L F-measure.
    pub rouge_l: f64,
    /// Mean ROUGE-Lsum F-measure.
    pub rouge_lsum: f64,
    /// Number of pairs averaged.
    pub n: usize,
}

impl CorpusRouge {
    /// The mean F-measure of one variant.
    pub fn get(&self, variant: RougeVariant) -> f64 {
        match variant {
            RougeVariant::Rouge1 => self.rouge1,
            RougeVariant::Rouge2 => self.rouge2,
            RougeVariant::RougeL => self.rouge_l,
            RougeVariant::RougeLsum => self.rouge_lsum,
        }
    }
}

/// Scores every `(target, prediction)` pair and averages the F-measures.
///
/// Returns the corpus means and the per-example scores, in input order (feed
/// [`fmeasures`] of two systems to [`crate::paired_bootstrap`]).
///
/// # Errors
///
/// [`MetricsError::EmptyInput`] for an empty corpus, whose mean is undefined.
pub fn corpus_rouge<T: AsRef<str>, P: AsRef<str>>(
    pairs: &[(T, P)],
    use_stemmer: bool,
) -> Result<(CorpusRouge, Vec<RougeScores>), MetricsError> {
    if pairs.is_empty() {
        return Err(MetricsError::EmptyInput { what: "pairs" });
    }
    let per_example: Vec<RougeScores> = pairs
        .iter()
        .map(|(target, prediction)| rouge(target.as_ref(), prediction.as_ref(), use_stemmer))
        .collect();
    let mean = |variant: RougeVariant| {
        fmeasures(&per_example, variant).iter().sum::<f64>() / per_example.len() as f64
    };
    let corpus = CorpusRouge {
        rouge1: mean(RougeVariant::Rouge1),
        rouge2: mean(RougeVariant::Rouge2),
        rouge_l: mean(RougeVariant::RougeL),
        rouge_lsum: mean(RougeVariant::RougeLsum),
        n: per_example.len(),
    };
    Ok((corpus, per_example))
}

/// The F-measure of one variant for each example, in order.
pub fn fmeasures(scores: &[RougeScores], variant: RougeVariant) -> Vec<f64> {
    scores.iter().map(|s| s.get(variant).fmeasure).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOL: f64 = 1e-12;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= TOL
    }

    #[test]
    fn readme_example_of_rouge_score() {
        // The README of google-research/rouge gives these rouge1/rougeL values.
        let s = rouge(
            "The quick brown fox jumps over the lazy dog",
            "The quick brown dog jumps on the log.",
            true,
        );
        assert!(close(s.rouge1.precision, 0.75));
        assert!(close(s.rouge1.recall, 2.0 / 3.0));
        assert!(close(s.rouge1.fmeasure, 12.0 / 17.0));
        assert!(close(s.rouge_l.precision, 5.0 / 8.0));
        assert!(close(s.rouge_l.recall, 5.0 / 9.0));
    }

    #[test]
    fn bigram_counts_by_hand() {
        // target bigrams: "a b", "b c", "c d"; prediction: "a b", "b d".
        let s = rouge("a b c d", "a b d", false);
        assert!(close(s.rouge2.precision, 0.5));
        assert!(close(s.rouge2.recall, 1.0 / 3.0));
        assert!(close(s.rouge2.fmeasure, 0.4));
    }

    #[test]
    fn lsum_uses_lines_but_rouge_l_does_not() {
        // Swapping the two lines breaks the whole-text LCS but not the
        // per-sentence union LCS.
        let target = "one two three\nfour five six";
        let prediction = "four five six\none two three";
        let s = rouge(target, prediction, false);
        assert!(close(s.rouge_lsum.fmeasure, 1.0));
        assert!(close(s.rouge_l.fmeasure, 0.5));
    }

    #[test]
    fn stemming_changes_matches() {
        let plain = rouge("cats running", "cat run", false);
        let stemmed = rouge("cats running", "cat run", true);
        assert!(close(plain.rouge1.fmeasure, 0.0));
        assert!(close(stemmed.rouge1.fmeasure, 1.0));
    }

    #[test]
    fn corpus_mean_is_mean_of_fmeasures() {
        let pairs = [("a b c d", "a b d"), ("x y", "x y"), ("p q", "r s")];
        let (corpus, each) = corpus_rouge(&pairs, false).expect("non-empty");
        assert_eq!(corpus.n, 3);
        assert_eq!(each.len(), 3);
        // rouge2 F per pair: 0.4, 1, 0.
        assert!(close(corpus.rouge2, 1.4 / 3.0));
        assert!(close(corpus.get(RougeVariant::Rouge2), corpus.rouge2));
        assert_eq!(fmeasures(&each, RougeVariant::Rouge2), vec![0.4, 1.0, 0.0]);
        for variant in RougeVariant::ALL {
            let f = fmeasures(&each, variant);
            assert!(close(corpus.get(variant), f.iter().sum::<f64>() / 3.0));
        }
    }

    #[test]
    fn empty_corpus_is_an_error() {
        let pairs: [(String, String); 0] = [];
        assert_eq!(
            corpus_rouge(&pairs, false).unwrap_err(),
            MetricsError::EmptyInput { what: "pairs" }
        );
    }

    #[test]
    fn variant_names_match_rouge_score() {
        let names: Vec<_> = RougeVariant::ALL.iter().map(|v| v.name()).collect();
        assert_eq!(names, ["rouge1", "rouge2", "rougeL", "rougeLsum"]);
    }
}
