//! Sine-LoRA (weight space): `ΔW = sin(ω·B·A)/g`, so `y = W0·x + ΔW·dropout(x)`.
//!
//! After "Efficient Learning with Sine-Activated Low-Rank Matrices" (Ji et al.): the sine of
//! the scaled low-rank product raises the update's rank at no parameter cost.
//! - A and B start as LoRA's ([`crate::registry::fresh_pair`]), so ΔW = 0 at init;
//! - ω and g come from `adapter.sine` ([`SineLoraConfig`]); the default g = ω/s makes
//!   `ΔW ≈ s·B·A` for small B·A, i.e. LoRA to first order (the same first step);
//! - `sin(ω·B·A)/g` is computed in f32 (f64 inside the element-wise op, rounded once),
//!   through the activations' custom op, whose backward multiplies by `ω·cos(ω·B·A)/g`;
//! - the update lives in weight space, so the layer merges exactly: `W0 += ΔW`.
//!
//! File keys: `lora_A.weight`, `lora_B.weight` (as LoRA).

use crate::activations::{apply_scaled, Activation};
use crate::adapter::Adapter;
use crate::dropout::SeededDropout;
use crate::error::{AdapterError, Result};
use crate::registry::LayerSpec;
use candle_core::{DType, Tensor, Var};
use loran_model::{FrozenLinear, LinearAdapter};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

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

/// f(x) = sin(ωx), f′(x) = ω·cos(ωx), for the activations' element-wise op.
#[derive(Debug)]
struct Sine {
    omega: f64,
}

impl Activation for Sine {
    fn f(&self, x: f64) -> f64 {
        (self.omega * x).sin()
    }
    fn df(&self, x: f64) -> f64 {
        self.omega * (self.omega * x).cos()
    }
    fn f_df(&self, x: f64) -> (f64, f64) {
        let (sin, cos) = (self.omega * x).sin_cos();
        (sin, self.omega * cos)
    }
}

/// One Sine-LoRA layer: `A [r, in]`, `B [out, r]`, frequency ω, divisor g and dropout.
#[derive(Debug)]
pub struct SineLoraLinear {
    a: Var,
    b: Var,
    omega: f64,
    gain: f64,
    sine: Arc<dyn Activation>,
    dropout: SeededDropout,
}

impl SineLoraLinear {
    /// Wraps existing A and B (f32) with frequency `omega` and divisor `gain`.
    pub fn new(a: Var, b: Var, omega: f64, gain: f64, dropout: SeededDropout) -> Self {
        Self { a, b, omega, gain, sine: Arc::new(Sine { omega }), dropout }
    }

    /// A `[r, in]`.
    pub fn a(&self) -> &Var {
        &self.a
    }

    /// B `[out, r]`.
    pub fn b(&self) -> &Var {
        &self.b
    }

    /// The frequency ω.
    pub fn omega(&self) -> f64 {
        self.omega
    }

    /// The divisor g.
    pub fn gain(&self) -> f64 {
        self.gain
    }

    /// `ΔW = sin(ω·B·A)/g` `[out, in]` in f32, differentiable with respect to A and B.
    pub fn delta_weight(&self) -> candle_core::Result<Tensor> {
        self.delta_weight_t()?.t()?.contiguous()
    }

    /// `ΔWᵀ = sin(ω·Aᵀ·Bᵀ)/g` `[in, out]`, the layout the forward multiplies by (as LoRAN's).
    pub fn delta_weight_t(&self) -> candle_core::Result<Tensor> {
        let ab = self.a.as_tensor().t()?.matmul(&self.b.as_tensor().t()?)?;
        apply_scaled(self.sine.clone(), 1.0 / self.gain, &ab)
    }

    /// `dropout(x)·ΔWᵀ` in f32, for `x` of shape `[..., in]`.
    pub fn delta(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let x = self.dropout.apply(&x.to_dtype(DType::F32)?)?;
        crate::loran::times_update_t(&x, &self.delta_weight_t()?)
    }
}

impl LinearAdapter for SineLoraLinear {
    fn forward(&self, x: &Tensor, base: &FrozenLinear) -> candle_core::Result<Tensor> {
        let y = base.forward(x)?;
        let delta = self.delta(x)?.to_dtype(y.dtype())?;
        y + delta
    }
}

impl Adapter for SineLoraLinear {
    fn parameters(&self) -> Vec<(String, Var)> {
        vec![("lora_A.weight".into(), self.a.clone()), ("lora_B.weight".into(), self.b.clone())]
    }

    /// `sin(ω·B·A)/g` `[out, in]`, detached.
    fn merged_delta(&self, _base: &FrozenLinear) -> candle_core::Result<Option<Tensor>> {
        Ok(Some(self.delta_weight()?.detach()))
    }
}

/// Builds a fresh layer: LoRA's A and B, ω and g = `gain_for(s)` from `adapter.sine`.
pub fn build(spec: &LayerSpec) -> candle_core::Result<Arc<dyn Adapter>> {
    let sine = spec.config.sine_config();
    let (a, b, dropout) = crate::registry::fresh_pair(spec)?;
    Ok(Arc::new(SineLoraLinear::new(a, b, sine.omega, sine.gain_for(spec.config.scale()), dropout)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dropout::TrainingFlag;
    use crate::seeding::stream;
    use candle_core::Device;

    #[test]
    fn sine_and_its_slope() {
        let f = Sine { omega: 3.0 };
        for x in [-0.4, 0.0, 0.25, 1.3] {
            assert_eq!(f.f_df(x), (f.f(x), f.df(x)));
            let h = 1e-6;
            assert!(((f.f(x + h) - f.f(x - h)) / (2.0 * h) - f.df(x)).abs() < 1e-8);
        }
        assert_eq!((f.f(0.0), f.df(0.0)), (0.0, 3.0));
    }

    #[test]
    fn default_gain_is_omega_over_s_and_b_zero_gives_zero_update() {
        let cfg = crate::AdapterConfig { r: 4, alpha: 8.0, ..Default::default() };
        assert_eq!(cfg.sine_config().gain_for(cfg.scale()), 50.0);
        let dev = Device::Cpu;
        let a = Var::from_tensor(&Tensor::ones((4, 3), DType::F32, &dev).unwrap()).unwrap();
        let b = Var::zeros((2, 4), DType::F32, &dev).unwrap();
        let dropout = SeededDropout::new(0.0, stream(0, "t", "dropout"), TrainingFlag::default());
        let layer = SineLoraLinear::new(a, b, 100.0, 50.0, dropout);
        let dw = layer.delta_weight().unwrap();
        assert_eq!(dw.dims(), &[2, 3]);
        assert_eq!(dw.abs().unwrap().sum_all().unwrap().to_scalar::<f32>().unwrap(), 0.0);
    }
}
