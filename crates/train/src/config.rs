//! The fully resolved configuration of one run (one grid cell at one seed).

use loran_adapters::AdapterConfig;
use loran_datasets::TaskOptions;
use loran_model::{ComputeDtype, QuantMode};
use serde::{Deserialize, Serialize};

/// Learning-rate schedule after warm-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Schedule {
    /// Constant after warm-up.
    Constant,
    /// Linear decay to 0 at the last step (HF Trainer's default).
    Linear,
    /// Half-cosine decay to 0 at the last step.
    Cosine,
}

/// Which held-out split a run is evaluated on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EvalSplit {
    /// The test split: generation metrics and `test_loss` (what tables report).
    #[default]
    Test,
    /// The validation split: only the teacher-forced `validation_loss`, no generation.
    /// What a grid's `lr_sweep` selects on, so choosing a learning rate never sees the
    /// test split.
    Validation,
}

impl EvalSplit {
    /// Whether this is the default (kept out of the serialized config, so configs
    /// written before the key existed keep their hash).
    pub fn is_test(&self) -> bool {
        *self == EvalSplit::Test
    }
}

/// Optimisation settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainConfig {
    /// Optimizer steps (default 200; valid: at least 0, where 0 skips training).
    pub steps: usize,
    /// Peak learning rate (default 2e-4, the QLoRA/LoRAN value; valid: in (0, 1]).
    pub lr: f64,
    /// Examples per step (default 4; valid: at least 1).
    pub batch_size: usize,
    /// Longest training sequence in tokens, prompt plus answer (default 256; valid: at least 3
    /// and at most the model's positions).
    pub max_len: usize,
    /// Longest answer kept for training, in tokens (default 64; valid: in [1, max_len − 2]).
    pub max_target_tokens: usize,
    /// Share of steps spent warming up linearly from 0 (default 0.03; valid: in [0, 1]).
    pub warmup_ratio: f64,
    /// Decay after warm-up (default `linear`).
    pub schedule: Schedule,
    /// Clip the global gradient norm to this (default 0.3, as QLoRA; valid: at least 0); 0
    /// disables clipping.
    pub max_grad_norm: f64,
    /// AdamW decoupled weight decay (default 0; valid: in [0, 1]).
    pub weight_decay: f64,
    /// AdamW β1 (default 0.9; valid: in [0, 1)).
    pub beta1: f64,
    /// AdamW β2 (default 0.999; valid: in [0, 1)).
    pub beta2: f64,
    /// AdamW ε (default 1e-8; valid: in (0, 1]).
    pub eps: f64,
    /// Compute the frozen blocks below the lowest adapter once per example and reuse
    /// them across steps and cells (default true; same math, different float rounding).
    pub cache_frozen_prefix: bool,
    /// Recompute each adapted block's activations in the backward pass instead of
    /// keeping them (activation checkpointing): less memory, about one more forward
    /// pass of time (default false).
    pub gradient_checkpointing: bool,
    /// Arithmetic of the frozen-weight matmuls while training: `f32` (default) or `bf16`
    /// (bf16 inputs, f32 accumulation, as QLoRA's `bnb_4bit_compute_dtype`; adapters,
    /// their gradients and the optimizer stay f32). Left out of the config hash at f32,
    /// so runs recorded before the key existed keep their hash.
    #[serde(skip_serializing_if = "ComputeDtype::is_f32")]
    pub compute_dtype: ComputeDtype,
    /// Save the trained adapter in the run folder under `adapter/` (loran-lab's native
    /// layout, read by `loran analyze`; default true). Runs without training (method
    /// `none`, 0 steps) or that diverged save none. Left out of the config hash when true,
    /// so runs recorded before the key existed keep their hash; `false` is another config
    /// (another run id), so a run reused from another grid has an adapter whenever one was asked for.
    #[serde(skip_serializing_if = "is_true")]
    pub save_adapter: bool,
}

fn is_true(b: &bool) -> bool {
    *b
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            steps: 200,
            lr: 2e-4,
            batch_size: 4,
            max_len: 256,
            max_target_tokens: 64,
            warmup_ratio: 0.03,
            schedule: Schedule::Linear,
            max_grad_norm: 0.3,
            weight_decay: 0.0,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            cache_frozen_prefix: true,
            gradient_checkpointing: false,
            compute_dtype: ComputeDtype::F32,
            save_adapter: true,
        }
    }
}

/// Evaluation settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EvalConfig {
    /// Most test examples scored (default 200; valid: at least 1; the test split is a seeded
    /// random order).
    pub max_examples: usize,
    /// Most generated tokens per answer (default 64; valid: at least 1).
    pub max_new_tokens: usize,
    /// Porter-stem words before ROUGE, as rouge-score's `use_stemmer=True` (default true).
    pub rouge_stemmer: bool,
    /// Prompts generated together (left-padded; default 8; valid: at least 1). Greedy results
    /// do not depend on it.
    pub batch_size: usize,
    /// Also record `test_loss`: the mean cross-entropy of the reference answers of the same
    /// test examples under teacher forcing, a low-variance companion to the generation
    /// metrics (default true; lower is better).
    pub test_loss: bool,
    /// Arithmetic of the frozen-weight matmuls in the test loss and generation: `f32` or
    /// `bf16` (default: `train.compute_dtype`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compute_dtype: Option<ComputeDtype>,
    /// `test` (default) or `validation` (only `validation_loss` on the validation split,
    /// at most `max_examples` of it; for learning-rate selection).
    #[serde(skip_serializing_if = "EvalSplit::is_test")]
    pub split: EvalSplit,
}

impl Default for EvalConfig {
    fn default() -> Self {
        Self { max_examples: 200, max_new_tokens: 64, rouge_stemmer: true, batch_size: 8, test_loss: true, compute_dtype: None, split: EvalSplit::Test }
    }
}

/// Everything that defines one run. Every key has a documented default, and every numeric
/// key a valid range, checked by [`crate::ranges`] when the config is resolved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RunConfig {
    /// Base model: registry key, HF folder, .gguf file or hub id (default `smollm2-135m`).
    pub model: String,
    /// Task registry key (default `news-standfirst`).
    pub task: String,
    /// Task data options (splits, caps, prompt style).
    pub data: TaskOptions,
    /// The adapter (default: LoRA with the paper's r=64, α=16, dropout 0.2 on q/v).
    pub adapter: AdapterConfig,
    /// Storage of the frozen base linears: `none` (f32), `nf4` (QLoRA's 4-bit NormalFloat,
    /// blocks of 64) or `nf4-dq` (plus double quantization of the block scales). Default `none`.
    pub quant: QuantMode,
    /// Optimisation.
    pub train: TrainConfig,
    /// Evaluation.
    pub eval: EvalConfig,
    /// Training seed: adapter init, dropout and batch order (default 0).
    pub seed: u64,
}

impl Default for RunConfig {
    fn default() -> Self {
        Self {
            model: "smollm2-135m".into(),
            task: "news-standfirst".into(),
            data: TaskOptions::default(),
            adapter: AdapterConfig::default(),
            quant: QuantMode::None,
            train: TrainConfig::default(),
            eval: EvalConfig::default(),
            seed: 0,
        }
    }
}

impl RunConfig {
    /// The arithmetic of the evaluation's frozen matmuls: `eval.compute_dtype`, else the training one.
    pub fn eval_compute_dtype(&self) -> ComputeDtype {
        self.eval.compute_dtype.unwrap_or(self.train.compute_dtype)
    }
}

impl TrainConfig {
    /// The token limits the datasets crate applies.
    pub fn token_limits(&self) -> loran_datasets::TokenLimits {
        loran_datasets::TokenLimits { max_len: self.max_len, max_target_tokens: self.max_target_tokens }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quant_reads_from_yaml_and_rejects_unknown_modes() {
        let cfg: RunConfig = serde_saphyr::from_str("quant: nf4-dq\n").unwrap();
        assert_eq!(cfg.quant, QuantMode::Nf4Dq);
        let err = serde_saphyr::from_str::<RunConfig>("quant: int8\n").unwrap_err().to_string();
        assert!(err.contains("int8") && err.contains("nf4"), "{err}");
    }

    #[test]
    fn save_adapter_defaults_to_true_and_is_serialized_only_when_false() {
        let cfg: RunConfig = serde_saphyr::from_str("seed: 1\n").unwrap();
        assert!(cfg.train.save_adapter);
        let json = serde_json::to_value(&cfg).unwrap();
        assert!(json["train"].get("save_adapter").is_none(), "{json}");
        let off: RunConfig = serde_saphyr::from_str("train: { save_adapter: false }\n").unwrap();
        assert_eq!(serde_json::to_value(&off).unwrap()["train"]["save_adapter"], false);
    }
}
