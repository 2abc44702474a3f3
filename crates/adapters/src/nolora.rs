//! NoLoRA-style adapter, **reconstructed from the paper's abstract** (not from official code):
//! `y = W0·x + s·B·[m ⊙ φθ(A·dropout(x))]`, with `φθ(z) = z + β ⊙ tanh(γ ⊙ z)` per rank channel.
//!
//! - `A [r, in]` and `B [out, r]` start as LoRA's ([`crate::registry::fresh_pair`]: the same
//!   seed gives the same A, and B = 0);
//! - `β`, `γ`, `m` (each `[r]`) are trainable, initialised to β = 0, γ = 1, m = 1, so at init
//!   φθ is the identity and the layer is exactly LoRA (bit for bit);
//! - all adapter math runs in f32 whatever the base dtype, with differentiable candle ops
//!   only (`tanh`, `broadcast_mul`, `+`), so every parameter receives a gradient;
//! - the nonlinearity acts per token on `A·x`, so there is no weight-space form: the layer
//!   cannot be merged.
//!
//! File keys: `lora_A.weight`, `lora_B.weight`, `nolora_beta`, `nolora_gamma`, `nolora_m`.

use crate::adapter::Adapter;
use crate::dropout::SeededDropout;
use crate::registry::{LayerSpec, Method};
use candle_core::{DType, Result, Tensor, Var};
use loran_model::linear::matmul_t;
use loran_model::{FrozenLinear, LinearAdapter};
use std::sync::Arc;

/// Key suffix of β (the per-channel amplitude of the tanh term).
pub const BETA_KEY: &str = "nolora_beta";
/// Key suffix of γ (the per-channel slope inside the tanh).
pub const GAMMA_KEY: &str = "nolora_gamma";
/// Key suffix of m (the per-channel modulation).
pub const M_KEY: &str = "nolora_m";

/// One NoLoRA-style layer: the LoRA pair, β, γ, m `[r]`, the scale s and the dropout.
#[derive(Debug)]
pub struct NoLoraLinear {
    a: Var,
    b: Var,
    beta: Var,
    gamma: Var,
    m: Var,
    scale: f64,
    dropout: SeededDropout,
}

impl NoLoraLinear {
    /// Wraps existing f32 parameters: `A [r, in]`, `B [out, r]`, and `β`, `γ`, `m` `[r]`.
    pub fn new(a: Var, b: Var, beta: Var, gamma: Var, m: Var, scale: f64, dropout: SeededDropout) -> Self {
        Self { a, b, beta, gamma, m, scale, dropout }
    }

    /// A layer from `A` and `B` with φθ at its identity init: β = 0, γ = 1, m = 1.
    pub fn init(a: Var, b: Var, scale: f64, dropout: SeededDropout) -> Result<Self> {
        let (r, device) = (a.dim(0)?, a.device().clone());
        let beta = Var::zeros(r, DType::F32, &device)?;
        let gamma = Var::ones(r, DType::F32, &device)?;
        let m = Var::ones(r, DType::F32, &device)?;
        Ok(Self::new(a, b, beta, gamma, m, scale, dropout))
    }

    /// A `[r, in]`.
    pub fn a(&self) -> &Var {
        &self.a
    }

    /// B `[out, r]`.
    pub fn b(&self) -> &Var {
        &self.b
    }

    /// β `[r]`.
    pub fn beta(&self) -> &Var {
        &self.beta
    }

    /// γ `[r]`.
    pub fn gamma(&self) -> &Var {
        &self.gamma
    }

    /// m `[r]`.
    pub fn m(&self) -> &Var {
        &self.m
    }

    /// The scale s.
    pub fn scale(&self) -> f64 {
        self.scale
    }

    /// `s·B·[m ⊙ φθ(A·dropout(x))]` in f32, for `x` of shape `[..., in]`.
    pub fn delta(&self, x: &Tensor) -> Result<Tensor> {
        let x = self.dropout.apply(&x.to_dtype(DType::F32)?)?;
        let z = matmul_t(&x, self.a.as_tensor())?;
        let bent = z.broadcast_mul(self.gamma.as_tensor())?.tanh()?.broadcast_mul(self.beta.as_tensor())?;
        let h = (z + bent)?.broadcast_mul(self.m.as_tensor())?;
        matmul_t(&h, self.b.as_tensor())? * self.scale
    }
}

impl LinearAdapter for NoLoraLinear {
    fn forward(&self, x: &Tensor, base: &FrozenLinear) -> Result<Tensor> {
        let y = base.forward(x)?;
        let delta = self.delta(x)?.to_dtype(y.dtype())?;
        y + delta
    }
}

impl Adapter for NoLoraLinear {
    fn parameters(&self) -> Vec<(String, Var)> {
        vec![
            ("lora_A.weight".into(), self.a.clone()),
            ("lora_B.weight".into(), self.b.clone()),
            (BETA_KEY.into(), self.beta.clone()),
            (GAMMA_KEY.into(), self.gamma.clone()),
            (M_KEY.into(), self.m.clone()),
        ]
    }

    fn merged_delta(&self, _base: &FrozenLinear) -> Result<Option<Tensor>> {
        Ok(None)
    }

    fn why_not_mergeable(&self) -> &'static str {
        "NoLoRA's nonlinearity φθ acts on A·x per token, so the update has no weight-space form"
    }
}

/// Registry entry: reconstructed from the abstract; β, γ and m are trained, not configured.
pub const METHOD: Method = Method {
    build: Some(build),
    reconstructed: true,
    ..Method::new(
        "nolora",
        "NoLoRA-style (reconstructed from the abstract): y = W0·x + s·B·[m ⊙ φθ(A·dropout(x))], φθ(z) = z + β⊙tanh(γ⊙z) per rank channel, LoRA at init; not mergeable",
    )
};

/// Builds a fresh layer: LoRA's A and B ([`crate::registry::fresh_pair`]), β = 0, γ = 1, m = 1.
pub fn build(spec: &LayerSpec) -> Result<Arc<dyn Adapter>> {
    let (a, b, dropout) = crate::registry::fresh_pair(spec)?;
    Ok(Arc::new(NoLoraLinear::init(a, b, spec.config.scale(), dropout)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dropout::TrainingFlag;
    use crate::seeding::stream;
    use candle_core::Device;

    fn layer(beta: f32, gamma: f32, m: f32) -> NoLoraLinear {
        let dev = Device::Cpu;
        let a = Var::from_tensor(&Tensor::new(&[[1f32, 0.0], [0.0, 1.0]], &dev).unwrap()).unwrap();
        let b = Var::from_tensor(&Tensor::new(&[[1f32, 2.0]], &dev).unwrap()).unwrap();
        let full = |v: f32| Var::from_tensor(&Tensor::new(&[v, v], &dev).unwrap()).unwrap();
        let dropout = SeededDropout::new(0.0, stream(0, "t", "dropout"), TrainingFlag::default());
        NoLoraLinear::new(a, b, full(beta), full(gamma), full(m), 0.5, dropout)
    }

    #[test]
    fn phi_bends_each_rank_channel() {
        // A = I, B = [1 2], s = 0.5: Δ = 0.5·(φ(x0) + 2·φ(x1))·m with φ(z) = z + β·tanh(γz).
        let x = Tensor::new(&[[0.3f32, -0.7]], &Device::Cpu).unwrap();
        let got = layer(0.4, 2.0, 1.5).delta(&x).unwrap().to_vec2::<f32>().unwrap()[0][0] as f64;
        let phi = |z: f64| z + 0.4 * (2.0 * z).tanh();
        let want = 0.5 * 1.5 * (phi(0.3) + 2.0 * phi(-0.7));
        assert!((got - want).abs() < 1e-6, "{got} vs {want}");
        // At init φ is the identity: Δ = s·B·A·x.
        let at_init = layer(0.0, 1.0, 1.0).delta(&x).unwrap().to_vec2::<f32>().unwrap()[0][0];
        assert_eq!(at_init, 0.5 * (0.3f32 + 2.0 * -0.7));
    }

    #[test]
    fn is_not_mergeable() {
        let l = layer(0.0, 1.0, 1.0);
        let base = FrozenLinear::new(Tensor::zeros((1, 2), DType::F32, &Device::Cpu).unwrap());
        assert!(l.merged_delta(&base).unwrap().is_none());
        assert!(l.why_not_mergeable().contains("per token"));
        assert_eq!(l.num_parameters(), 4 + 2 + 3 * 2);
    }
}
