//! What a loaded task is: its kind, its examples in three splits, and the
//! provenance the runner records with every result.

use crate::prompt::PromptTemplate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The kind of task, which decides the metrics and the answer parsing.
///
/// Scoring lives in `loran-metrics` (which knows nothing of this crate): its scorer
/// registry is keyed by [`TaskKind::name`], and the runner joins the two. A new kind is
/// a variant here (with its name) plus a scorer file and one registry line there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TaskKind {
    /// Generate a short text; scored with ROUGE against [`Example::target`].
    Summarization,
    /// Pick one label; scored with accuracy / macro-F1.
    Classification {
        /// The label names, which are also the verbalizer words the model must write.
        labels: Vec<String>,
    },
}

impl TaskKind {
    /// The key of this kind's scorer in `loran_metrics::scoring::SCORERS`.
    pub fn name(&self) -> &'static str {
        match self {
            TaskKind::Summarization => "summarization",
            TaskKind::Classification { .. } => "classification",
        }
    }

    /// The labels of a classification task, or `None` for summarization.
    pub fn labels(&self) -> Option<&[String]> {
        match self {
            TaskKind::Summarization => None,
            TaskKind::Classification { labels } => Some(labels),
        }
    }
}

/// One example: an input text and its reference output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Example {
    /// Stable identifier derived from the source (it also decides the split).
    pub id: String,
    /// The text the model reads (an article, a message body).
    pub input: String,
    /// The reference summary, or the gold label name.
    pub target: String,
}

/// The three splits of a task. Within a split, examples are ordered by their
/// split hash, so the first `n` examples are a seeded random subset.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Splits {
    /// Training examples.
    pub train: Vec<Example>,
    /// Validation examples (model selection, early checks).
    pub validation: Vec<Example>,
    /// Held-out test examples.
    pub test: Vec<Example>,
}

impl Splits {
    /// Total number of examples over the three splits.
    pub fn len(&self) -> usize {
        self.train.len() + self.validation.len() + self.test.len()
    }

    /// Whether all three splits are empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The splits with their names, in the order train, validation, test.
    pub fn named(&self) -> [(&'static str, &[Example]); 3] {
        [
            ("train", &self.train),
            ("validation", &self.validation),
            ("test", &self.test),
        ]
    }
}

/// One step of a loader's filtering, recorded for provenance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilterStep {
    /// What the step keeps, e.g. `subtitle is one sentence`.
    pub filter: String,
    /// How many examples remained after it.
    pub kept: usize,
}

/// A task ready for training and evaluation.
#[derive(Debug, Clone)]
pub struct LoadedTask {
    /// Registry name, e.g. `news-standfirst`.
    pub name: String,
    /// Summarization or classification (with its labels).
    pub kind: TaskKind,
    /// The examples.
    pub splits: Splits,
    /// sha256 of the source bytes read (see each loader for what exactly is hashed).
    pub data_sha256: String,
    /// Where the data came from: registry package and path inside it.
    pub source: String,
    /// The prompt template for this task.
    pub template: PromptTemplate,
    /// The loader's filters in order, with the count left after each.
    pub filters: Vec<FilterStep>,
}

impl LoadedTask {
    /// One-line warnings about split sizes that load but make a weak
    /// experiment, for the caller to print: a train split of a single example
    /// (every step fits that one example), and a test split that is empty
    /// (nothing to evaluate; the runner fails at evaluation) or holds a
    /// single example (its scores are one example's). A train split smaller
    /// than the batch size is not warned about: [`crate::BatchIter`] then
    /// gives batches of the whole (reshuffled) split. An empty train split
    /// never loads ([`crate::DatasetError::EmptySplit`]).
    pub fn split_warnings(&self) -> Vec<String> {
        let name = &self.name;
        let mut out = Vec::new();
        if self.splits.train.len() == 1 {
            out.push(format!(
                "task `{name}`: the train split has 1 example, so every step trains on it alone; add data, \
                 or lower `data.validation_fraction` and `data.test_fraction`"
            ));
        }
        match self.splits.test.len() {
            0 => out.push(format!(
                "task `{name}`: the test split is empty, so nothing can be evaluated; raise `data.test_fraction`, \
                 or give the data a test file"
            )),
            1 => out.push(format!(
                "task `{name}`: the test split has 1 example, so its scores are one example's; raise \
                 `data.test_fraction` or `data.max_test_examples`"
            )),
            _ => {}
        }
        out
    }
}

/// How many examples of each target a split holds (for classification:
/// the label distribution).
pub fn label_counts(split: &[Example]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for ex in split {
        *counts.entry(ex.target.clone()).or_insert(0) += 1;
    }
    counts
}

/// Mean input length in characters over a split (0 for an empty split).
pub fn mean_input_chars(split: &[Example]) -> f64 {
    if split.is_empty() {
        return 0.0;
    }
    split.iter().map(|e| e.input.chars().count()).sum::<usize>() as f64 / split.len() as f64
}
