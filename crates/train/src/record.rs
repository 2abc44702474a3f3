//! What a finished (or failed) run leaves on disk: `result.json` and `metrics.jsonl` lines.
//!
//! `result.json` is written last and atomically; its presence marks a run as done.

pub use crate::identity::{ActivationIdentity, RunIdentity};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;

/// serde for `f64` fields that may be NaN or infinite (a diverged run's loss): JSON has no
/// such numbers, so they are written as `null` and `null` reads back as NaN.
pub mod nullable_f64 {
    use super::*;

    /// Writes a finite value as a number, anything else as `null`.
    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        if v.is_finite() {
            s.serialize_f64(*v)
        } else {
            s.serialize_none()
        }
    }

    /// Reads a number, or `null` as NaN.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
    }
}

/// [`nullable_f64`] for every value of a name → number map.
pub mod nullable_f64_map {
    use super::*;

    /// Writes finite values as numbers, others as `null`.
    pub fn serialize<S: Serializer>(m: &BTreeMap<String, f64>, s: S) -> Result<S::Ok, S::Error> {
        let as_options: BTreeMap<&String, Option<f64>> = m.iter().map(|(k, v)| (k, v.is_finite().then_some(*v))).collect();
        as_options.serialize(s)
    }

    /// Reads numbers, or `null` as NaN.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, f64>, D::Error> {
        let m = BTreeMap::<String, Option<f64>>::deserialize(d)?;
        Ok(m.into_iter().map(|(k, v)| (k, v.unwrap_or(f64::NAN))).collect())
    }
}

/// Version of the `result.json` layout. 2 added [`RunResult::identity`]; a run written
/// with schema 1 is outdated ([`crate::damage::older_schema`]): the grid redoes it and
/// reports leave it out.
pub const RESULT_SCHEMA: u32 = 2;

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    /// Trained and evaluated.
    Ok,
    /// An error stopped it; see `error`.
    Failed,
    /// The loss became NaN or infinite.
    Diverged,
}

/// Training figures of a run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainSummary {
    /// Optimizer steps taken.
    pub steps: usize,
    /// Mean loss over the last ≤10 steps (NaN, written `null`, when no step ran).
    #[serde(with = "nullable_f64")]
    pub final_loss: f64,
    /// Target tokens seen by the loss.
    pub target_tokens: u64,
    /// Trainable parameters (adapter only).
    pub trainable_params: u64,
}

/// Wall-clock seconds of the phases of a run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Timings {
    /// Model and data loading.
    #[serde(with = "nullable_f64")]
    pub load_s: f64,
    /// Training.
    #[serde(with = "nullable_f64")]
    pub train_s: f64,
    /// Evaluation (test loss, generation and scoring).
    #[serde(with = "nullable_f64")]
    pub eval_s: f64,
    /// The teacher-forced test loss, part of `eval_s` (0 in runs recorded before it was split out).
    #[serde(default, with = "nullable_f64")]
    pub test_loss_s: f64,
    /// Greedy generation and scoring, part of `eval_s` (0 in runs recorded before it was split out).
    #[serde(default, with = "nullable_f64")]
    pub generate_s: f64,
    /// Everything.
    #[serde(with = "nullable_f64")]
    pub total_s: f64,
}

/// The content of `result.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunResult {
    /// [`RESULT_SCHEMA`].
    pub schema: u32,
    /// How the run ended.
    pub status: RunStatus,
    /// Grid name (`results/<grid>/`).
    pub grid: String,
    /// Run folder name: `<group>-s<seed>-<hash8>`.
    pub run_id: String,
    /// The cell without its seed; tables and figures aggregate runs of one group.
    pub group: String,
    /// sha256 of the resolved config (hex).
    pub config_hash: String,
    /// Training seed.
    pub seed: u64,
    /// Task name (`news-standfirst`, ...).
    pub task: String,
    /// Method label as shown in reports when the run was written (`lora`, `qlora`,
    /// `loran-sinter+nf4`, `zero-shot`, ...; [`RunIdentity::method_label`] of `identity`).
    /// For reading only: reports group and sort by `identity`.
    pub method: String,
    /// The run's method, quantization, activation, rank and other settings as fields.
    pub identity: RunIdentity,
    /// The axis values that define this cell (dotted key → value as text).
    pub labels: BTreeMap<String, String>,
    /// Test metrics on a 0–1 scale (`rouge1`, `rougeL`, `accuracy`, `macro_f1`, ...).
    #[serde(with = "nullable_f64_map")]
    pub metrics: BTreeMap<String, f64>,
    /// The metric tables and bar charts show first for this task.
    pub primary_metric: String,
    /// Training figures.
    pub train: TrainSummary,
    /// Phase timings.
    pub timings: Timings,
    /// Peak resident memory of the process so far, MiB.
    #[serde(with = "nullable_f64")]
    pub peak_rss_mb: f64,
    /// Matmul threads used.
    pub threads: usize,
    /// Versions of loran-lab, candle and rustc.
    pub versions: BTreeMap<String, String>,
    /// `git rev-parse HEAD` of the harness (plus `-dirty` when modified), or `unknown`.
    pub git: String,
    /// sha256 of the dataset source bytes.
    pub data_sha256: String,
    /// The error, for failed or diverged runs.
    pub error: Option<String>,
    /// UTC time the run ended, RFC 3339.
    pub finished_at: String,
    /// Traps in the config the runner warned about when it resolved it (e.g. a sigmoid
    /// LoRAN does not start at the base model).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// The run folder this result was copied from (same config hash, another grid).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reused_from: Option<String>,
    /// Lines written to `metrics.jsonl`, so a truncated file is seen as damage rather
    /// than read as a shorter run (absent in runs recorded before it existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_records: Option<usize>,
    /// Lines written to `predictions.jsonl` (absent when the run wrote none, and in runs
    /// recorded before it existed), so a deleted or cut file is seen as damage rather
    /// than silently turning the bootstrap deltas into "n/a".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prediction_records: Option<usize>,
    /// The scorer's [`loran_metrics::TaskScorer::version`] that made `metrics` (absent in
    /// runs recorded before it existed: version 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scorer_version: Option<u32>,
    /// The task's label set, for classification tasks: macro-F1's fixed class set, which
    /// the report's bootstrap resamples keep (absent for summarization).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_labels: Option<Vec<String>>,
    /// Bytes of the saved `adapter/` folder (absent when the run saved none, and in runs
    /// recorded before adapters were saved).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adapter_bytes: Option<u64>,
}

/// The fields `result.json` has had in every schema, read on their own so that a run of an
/// older schema, which no longer parses as a [`RunResult`], is recognised and redone rather
/// than taken for a damaged file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ResultHeader {
    /// The file's [`RESULT_SCHEMA`].
    pub schema: u32,
    /// How the run ended.
    pub status: RunStatus,
    /// sha256 of the resolved config (hex).
    pub config_hash: String,
}

/// One line of `metrics.jsonl`, written after every optimizer step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepRecord {
    /// 1-based optimizer step.
    pub step: usize,
    /// Mean loss over the step's target tokens.
    #[serde(with = "nullable_f64")]
    pub loss: f64,
    /// Learning rate used for the step.
    #[serde(with = "nullable_f64")]
    pub lr: f64,
    /// Global gradient norm before clipping.
    #[serde(with = "nullable_f64")]
    pub grad_norm: f64,
    /// Target tokens in the step.
    pub tokens: u64,
    /// Seconds since training started.
    #[serde(with = "nullable_f64")]
    pub elapsed_s: f64,
    /// The frozen base's loss on the same batch (absent without a frozen-prefix cache).
    /// `loss − base_loss` is the step's gain free of how hard its examples are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_loss: Option<f64>,
}

/// One line of `predictions.jsonl`: a test example, what the model said and its score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PredictionRecord {
    /// Example id.
    pub id: String,
    /// Reference summary or gold label.
    pub target: String,
    /// Generated text.
    pub prediction: String,
    /// Per-example score of the primary metric (ROUGE-L F, or 1/0 for a correct label).
    #[serde(with = "nullable_f64")]
    pub score: f64,
    /// Per-example scores of every metric that has one (`rouge1`, `rouge2`, `rougeL`,
    /// `rougeLsum` F-measures, or `accuracy` as 1/0): what paired bootstraps resample.
    /// Empty in files written before it existed.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub scores: BTreeMap<String, f64>,
    /// The label parsed from the answer of a classification task (`None` when the answer
    /// names no label, or for summarization); macro-F1 bootstraps need it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Summed teacher-forced cross-entropy (nats) of the reference answer's tokens, when
    /// the run measured `test_loss`; with [`Self::loss_tokens`] it lets the test loss be
    /// bootstrapped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss_sum: Option<f64>,
    /// Target tokens behind [`Self::loss_sum`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss_tokens: Option<usize>,
}

#[cfg(test)]
mod float_tests {
    /// Timings and metrics read back from `result.json` must be the numbers written:
    /// serde_json's default float parser may land one ULP off (then a grid's time split
    /// and the sum of its cells' timings disagree); the workspace turns on `float_roundtrip`.
    #[test]
    fn floats_read_back_from_json_are_the_numbers_written() {
        let mut x = 0.1f64;
        for _ in 0..20_000 {
            x = (x * 1.618_033_988_749_895 + 0.377_219_513_862_411).fract() * 40.0;
            let back: f64 = serde_json::from_str(&serde_json::to_string(&x).unwrap()).unwrap();
            assert_eq!(back.to_bits(), x.to_bits(), "{x:?} read back as {back:?}");
        }
    }
}
