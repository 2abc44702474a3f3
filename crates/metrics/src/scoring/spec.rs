//! What a metric is, for everything downstream of its value: the key in `result.json`,
//! how a table shows it, which way is better, and how a bootstrap resamples it. Reports
//! read these instead of keeping their own per-metric tables, so a new task kind's
//! metrics render without touching the report.

/// Which way a metric improves: decides the bold cell of a column and figure captions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Larger is better (scores).
    Higher,
    /// Smaller is better (losses, error rates).
    Lower,
}

/// How a report resamples a metric over test examples for a paired bootstrap interval.
/// The metric's definition decides it: a corpus statistic such as macro-F1 is not the
/// mean of per-example values, so it cannot be resampled as one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resample {
    /// The mean of per-example values, which the scorer returns under the metric's name
    /// in [`TaskScores::per_example`](super::TaskScores::per_example).
    ExampleMean,
    /// Macro-F1 recomputed on each resample from the parsed labels
    /// ([`TaskScores::labels`](super::TaskScores::labels)) against the references.
    MacroF1,
    /// A token-weighted mean: per example a summed loss and its token count, divided
    /// after summing over the resample (the runner records both per example).
    TokenWeighted,
    /// Not resampled: the report shows no interval for it.
    NotResampled,
}

/// One metric's description. Values themselves are always on their natural scale
/// (0–1 for scores, nats per token for losses); `scale` only applies on display.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MetricSpec {
    /// Key in `result.json`'s `metrics` and in per-example `scores`, e.g. `rougeL`.
    pub name: &'static str,
    /// Short column header in tables, e.g. `R-L`.
    pub header: &'static str,
    /// Factor applied before display (100 turns a 0–1 score into points).
    pub scale: f64,
    /// Decimals shown after scaling; also the precision at which ties for best count.
    pub decimals: usize,
    /// Which way is better.
    pub direction: Direction,
    /// How a paired bootstrap resamples it.
    pub resample: Resample,
    /// Whether the paper-shaped tables give it a column (diagnostics such as the share of
    /// unparseable answers stay in `result.json` and `summary.csv` only).
    pub table: bool,
    /// One line on what it measures.
    pub doc: &'static str,
}

impl MetricSpec {
    /// A 0–1 score shown ×100 with two decimals, higher is better, resampled as a mean
    /// of per-example values: the shape of ROUGE and accuracy.
    pub const fn score(name: &'static str, header: &'static str, doc: &'static str) -> Self {
        MetricSpec {
            name,
            header,
            scale: 100.0,
            decimals: 2,
            direction: Direction::Higher,
            resample: Resample::ExampleMean,
            table: true,
            doc,
        }
    }

    /// Whether larger values are better.
    pub fn higher_is_better(&self) -> bool {
        self.direction == Direction::Higher
    }
}

/// `test_loss`: computed by the runner (teacher-forced, it needs the model), not by a
/// scorer, but described here so that reports find every metric's spec in one place.
pub const TEST_LOSS: MetricSpec = MetricSpec {
    name: "test_loss",
    header: "Test loss",
    scale: 1.0,
    decimals: 3,
    direction: Direction::Lower,
    resample: Resample::TokenWeighted,
    table: true,
    doc: "mean cross-entropy of the reference answers of the scored test examples, nats per token",
};

/// Metrics the runner adds to every task's results after its scorer's, in column order.
pub const RUN_METRICS: &[MetricSpec] = &[TEST_LOSS];
