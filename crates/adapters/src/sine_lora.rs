//! Sine-LoRA (weight space): `ΔW = sin(ω·B·A)/g`, so `y = W0·x + ΔW·dropout(x)`.

use crate::error::{AdapterError, Result};
use serde::{Deserialize, Serialize};

/// Sine-LoRA's knobs, the `adapter.sine:` section (method `sine-lora`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SineLoraConfig {
    /// Frequency ω applied to the low-rank product before the sine. Default 100.
    #[serde(default = "default_omega")]
    pub omega: f64,
    /// Divisor g of the sine. Default (`null`): ω/s with s = α/r (α/√r with rsLoRA), so that
    /// near init `sin(ω·BA)/g ≈ s·BA` and the first steps match LoRA's.
    #[serde(default)]
    pub gain: Option<f64>,
}

fn default_omega() -> f64 {
    100.0
}

impl Default for SineLoraConfig {
    fn default() -> Self {
        Self { omega: default_omega(), gain: None }
    }
}

impl SineLoraConfig {
    /// The divisor g for update scale `s` (the configured one, or ω/s).
    pub fn gain_for(&self, s: f64) -> f64 {
        self.gain.unwrap_or(self.omega / s)
    }

    /// Checks ranges; errors name the key.
    pub fn validate(&self) -> Result<()> {
        if !(self.omega.is_finite() && self.omega > 0.0) {
            return Err(AdapterError::config("sine.omega", format!("{} must be a positive number, e.g. 100", self.omega)));
        }
        if let Some(g) = self.gain {
            if !(g.is_finite() && g > 0.0) {
                return Err(AdapterError::config("sine.gain", format!("{g} must be a positive number, or null for ω/s")));
            }
        }
        Ok(())
    }
}
