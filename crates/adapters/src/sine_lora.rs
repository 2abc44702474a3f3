//! Sine-LoRA (weight space): `ΔW = sin(ω·B·A)/g`, so `y = W0·x + ΔW·dropout(x)`.
//!
//! After "Efficient Learning with Sine-Activated Low-Rank Matrices" (Ji et al.): the sine of
//! the scaled low-rank product raises the update's rank at no parameter cost.
//! - A and B start as LoRA's ([`crate::registry::fresh_pair`]), so ΔW = 0 at init;
//! - ω and g come from `adapter.sine` ([`PARAMS`]); the default g = ω/s makes
//!   `ΔW ≈ s·B·A` for small B·A, i.e. LoRA to first order (the same first step);
//! - `sin(ω·B·A)/g` is computed in f32 (f64 inside the element-wise op, rounded once),
//!   through the activations' custom op, whose backward multiplies by `ω·cos(ω·B·A)/g`;
//! - the update lives in weight space, so the layer merges exactly: `W0 += ΔW`.
//!
//! File keys: `lora_A.weight`, `lora_B.weight` (as LoRA).

use crate::activations::{apply_scaled, Activation};
use crate::adapter::Adapter;
use crate::dropout::SeededDropout;
use crate::config::AdapterConfig;
use crate::params::{Param, Range};
use crate::registry::{LayerSpec, Method};
use candle_core::{DType, Tensor, Var};
use loran_model::{FrozenLinear, LinearAdapter};
use std::sync::Arc;

/// Sine-LoRA's settings, the group `adapter.sine: { omega, gain }`.
pub const PARAMS: &[Param] = &[Param::group(
    "sine",
    &[
        Param::number("omega", 100.0, Range::above(0.0), "frequency ω applied to the low-rank product before the sine"),
        Param::optional_number(
            "gain",
            Range::above(0.0),
            "ω/s",
            "divisor g of the sine; null: ω/s with s = α/r (α/√r with rsLoRA), so that near init sin(ω·BA)/g ≈ s·BA and the first steps match LoRA's",
        ),
    ],
    "Sine-LoRA's frequency ω and divisor g",
)];

/// Registry entry.
pub const METHOD: Method = Method {
    build: Some(build),
    params: PARAMS,
    ..Method::new("sine-lora", "Sine-LoRA: y = W0·x + sin(ω·B·A)/g·dropout(x), ω and g from adapter.sine (default g = ω/s: LoRA to first order)")
};

/// The frequency ω a config gives Sine-LoRA.
pub fn omega(cfg: &AdapterConfig) -> f64 {
    cfg.params.number("sine.omega")
}

/// The divisor g a config gives Sine-LoRA: `sine.gain`, or ω/s when it is null.
pub fn gain(cfg: &AdapterConfig) -> f64 {
    cfg.params.optional_number("sine.gain").unwrap_or(omega(cfg) / cfg.scale())
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

    /// `(ω/g)·B·A`, the update linearised at 0 (`s·B·A` with the default g = ω/s).
    fn linear_delta(&self) -> candle_core::Result<Option<Tensor>> {
        Ok(Some((self.b.as_tensor().matmul(self.a.as_tensor())? * (self.omega / self.gain))?.detach()))
    }
}

/// Builds a fresh layer: LoRA's A and B, ω and g from `adapter.sine` ([`omega`], [`gain`]).
pub fn build(spec: &LayerSpec) -> candle_core::Result<Arc<dyn Adapter>> {
    let (a, b, dropout) = crate::registry::fresh_pair(spec)?;
    Ok(Arc::new(SineLoraLinear::new(a, b, omega(spec.config), gain(spec.config), dropout)))
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
        assert_eq!((omega(&cfg), gain(&cfg)), (100.0, 50.0));
        let cfg = cfg.with("sine.gain", 2.0).unwrap();
        assert_eq!((omega(&cfg), gain(&cfg)), (100.0, 2.0));
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
