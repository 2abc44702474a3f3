//! NA-LoRA-style knobs, the `adapter.na_lora:` section (method `na-lora`).

use crate::error::{AdapterError, Result};
use serde::{Deserialize, Serialize};

/// How the importance mask weighs the rows of B.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MaskKind {
    /// 1 for channels whose importance is at or above the `quantile`, else 0.
    Hard,
    /// `I / max I` per channel.
    Soft,
}

/// NA-LoRA-style settings. Every field has a documented default; the defaults are
/// ours (the paper publishes only its abstract), chosen for short CPU runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NaLoraConfig {
    /// β of the per-channel EMAs: `I ← β·I + (1 − β)·batch mean`. Default 0.9.
    #[serde(default = "default_ema")]
    pub ema: f64,
    /// `hard` (top channels kept) or `soft` (`I / max I`). Default `hard`.
    #[serde(default = "default_mask")]
    pub mask: MaskKind,
    /// Hard mask: channels with importance below this quantile of all channels
    /// (linear interpolation, numpy's default) are masked. Default 0.25.
    #[serde(default = "default_quantile")]
    pub quantile: f64,
    /// Optimizer steps before the first mask. Default 10.
    #[serde(default = "default_warmup")]
    pub warmup: usize,
    /// The mask is recomputed every K steps from the warm-up on. Default 10.
    #[serde(rename = "every", default = "default_every")]
    pub every: usize,
    /// A channel whose mean κ(z) is at least this is saturated-on (φ acts like a
    /// degree-1 homogeneous map, z ≳ −0.1 for SiLU). Default 0.9.
    #[serde(default = "default_kappa_on")]
    pub kappa_on: f64,
    /// A channel whose mean κ(z) is at most this is closed (φ(z) ≈ 0, z ≲ −1.28 for
    /// SiLU). Between the two it is in transition. Default 0.
    #[serde(default)]
    pub kappa_closed: f64,
    /// Step multiplier of B's rows in saturated-on channels. Default 1.
    #[serde(default = "one")]
    pub scale_on: f64,
    /// Step multiplier of B's rows in transition channels. Default 1.5.
    #[serde(default = "default_scale_transition")]
    pub scale_transition: f64,
    /// Step multiplier of B's rows in closed channels. Default 0.5.
    #[serde(default = "default_scale_closed")]
    pub scale_closed: f64,
}

fn default_ema() -> f64 {
    0.9
}
fn default_mask() -> MaskKind {
    MaskKind::Hard
}
fn default_quantile() -> f64 {
    0.25
}
fn default_warmup() -> usize {
    10
}
fn default_every() -> usize {
    10
}
fn default_kappa_on() -> f64 {
    0.9
}
fn one() -> f64 {
    1.0
}
fn default_scale_transition() -> f64 {
    1.5
}
fn default_scale_closed() -> f64 {
    0.5
}

impl Default for NaLoraConfig {
    fn default() -> Self {
        Self {
            ema: default_ema(),
            mask: default_mask(),
            quantile: default_quantile(),
            warmup: default_warmup(),
            every: default_every(),
            kappa_on: default_kappa_on(),
            kappa_closed: 0.0,
            scale_on: one(),
            scale_transition: default_scale_transition(),
            scale_closed: default_scale_closed(),
        }
    }
}

impl NaLoraConfig {
    /// Checks ranges; errors name the key.
    pub fn validate(&self) -> Result<()> {
        let bad = |key: &str, detail: String| Err(AdapterError::config(&format!("na_lora.{key}"), detail));
        if !(0.0..1.0).contains(&self.ema) {
            return bad("ema", format!("{} is not in [0, 1); e.g. 0.9", self.ema));
        }
        if !(0.0..1.0).contains(&self.quantile) {
            return bad("quantile", format!("{} is not in [0, 1); e.g. 0.25 masks the least active quarter", self.quantile));
        }
        if self.every == 0 {
            return bad("every", "must be at least 1 (steps between mask updates)".into());
        }
        if !(self.kappa_closed.is_finite() && self.kappa_on.is_finite() && self.kappa_closed < self.kappa_on) {
            return bad("kappa_closed", format!("{} must be below kappa_on ({})", self.kappa_closed, self.kappa_on));
        }
        for (key, v) in [("scale_on", self.scale_on), ("scale_transition", self.scale_transition), ("scale_closed", self.scale_closed)] {
            if !(v.is_finite() && v >= 0.0) {
                return bad(key, format!("{v} must be a finite number ≥ 0"));
            }
        }
        Ok(())
    }

    /// Whether a mask update is due once `steps_done` optimizer steps have finished.
    pub fn mask_due(&self, steps_done: usize) -> bool {
        steps_done >= self.warmup && (steps_done - self.warmup).is_multiple_of(self.every)
    }
}
