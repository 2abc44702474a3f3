//! DoRA (weight-decomposed low-rank adaptation) with PEFT semantics.
//!
//! The adapted weight is `W' = m ⊙ (W0 + s·B·A) / ‖W0 + s·B·A‖`, the norm taken per
//! output row. As in PEFT:
//! - `A [r, in]` is kaiming-uniform(a=√5), `B [out, r]` zero, and the magnitude
//!   `m [out]` starts at the row norms `‖W0 + s·B·A‖ = ‖W0‖`, so a fresh layer is the base;
//! - the norm is **detached**: no gradient flows through it, only through `m`, `A`, `B`
//!   in the numerator;
//! - with `k = m / norm` and `xd = dropout(x)`, the output is
//!   `y = base(x) + (k − 1)·(xd·W0ᵀ) + k·s·(xd·Aᵀ·Bᵀ)`. Without active dropout `xd = x`
//!   and `xd·W0ᵀ` is the base output minus its bias, so the bias is never scaled by `k`;
//! - an NF4 base is dequantized (`W0` is the dequantized weight), once per forward.
//!
//! All adapter math is f32. Files use PEFT's keys: `lora_A.weight`, `lora_B.weight`
//! and `lora_magnitude_vector` (PEFT ≥ 0.12, shape `[out]`), with `use_dora: true`.

use crate::adapter::Adapter;
use crate::dropout::SeededDropout;
use crate::registry::{LayerSpec, Method};
use candle_core::{DType, Result, Tensor, Var};
use loran_model::linear::matmul_t;
use loran_model::{FrozenLinear, LinearAdapter};
use std::sync::Arc;

/// PEFT's key suffix of the magnitude vector.
pub const MAGNITUDE_KEY: &str = "lora_magnitude_vector";

/// One DoRA layer: the LoRA pair, the magnitude vector, the scale and the dropout.
#[derive(Debug)]
pub struct DoraLinear {
    a: Var,
    b: Var,
    magnitude: Var,
    scale: f64,
    dropout: SeededDropout,
}

/// Row norms `‖W0 + s·B·A‖₂` (`[out]`, f32) of the un-normalised adapted weight,
/// computed from `w0 [out, in]`, `a [r, in]` and `b [out, r]` as given (detach them
/// first to keep gradients out).
pub fn weight_norm(w0: &Tensor, a: &Tensor, b: &Tensor, scale: f64) -> Result<Tensor> {
    let w = (w0.to_dtype(DType::F32)? + (b.matmul(a)? * scale)?)?;
    w.sqr()?.sum(1)?.sqrt()
}

impl DoraLinear {
    /// Wraps existing `A [r, in]`, `B [out, r]` and magnitude `m [out]` (f32).
    pub fn new(a: Var, b: Var, magnitude: Var, scale: f64, dropout: SeededDropout) -> Self {
        Self { a, b, magnitude, scale, dropout }
    }

    /// A fresh layer over `base`: the magnitude starts at `‖W0 + s·B·A‖` per output row.
    pub fn init(base: &FrozenLinear, a: Var, b: Var, scale: f64, dropout: SeededDropout) -> Result<Self> {
        let m = weight_norm(&base.weight()?, a.as_tensor(), b.as_tensor(), scale)?;
        Ok(Self::new(a, b, Var::from_tensor(&m)?, scale, dropout))
    }

    /// A `[r, in]`.
    pub fn a(&self) -> &Var {
        &self.a
    }

    /// B `[out, r]`.
    pub fn b(&self) -> &Var {
        &self.b
    }

    /// The magnitude `m [out]`.
    pub fn magnitude(&self) -> &Var {
        &self.magnitude
    }

    /// The scale s.
    pub fn scale(&self) -> f64 {
        self.scale
    }

    /// The detached row norms `‖W0 + s·B·A‖` for this layer's current A and B.
    pub fn norm(&self, w0: &Tensor) -> Result<Tensor> {
        Ok(weight_norm(w0, &self.a.as_tensor().detach(), &self.b.as_tensor().detach(), self.scale)?.detach())
    }

    /// The per-row factor `k = m / ‖W0 + s·B·A‖` (gradient to `m` only).
    fn factor(&self, w0: &Tensor) -> Result<Tensor> {
        self.magnitude.as_tensor().div(&self.norm(w0)?)
    }
}

impl LinearAdapter for DoraLinear {
    fn forward(&self, x: &Tensor, base: &FrozenLinear) -> Result<Tensor> {
        let w0 = base.weight()?.to_dtype(DType::F32)?;
        let x32 = x.to_dtype(DType::F32)?;
        let k = self.factor(&w0)?;
        // The base output without its bias; with the bias added it is `base(x)`.
        let xw = matmul_t(&x32, &w0)?;
        let y = match base.bias() {
            Some(bias) => xw.broadcast_add(&bias.to_dtype(DType::F32)?)?,
            None => xw.clone(),
        };
        let (xd, xd_w) = if self.dropout.is_active() {
            let xd = self.dropout.apply(&x32)?;
            let xd_w = matmul_t(&xd, &w0)?;
            (xd, xd_w)
        } else {
            (x32, xw)
        };
        let lora = (matmul_t(&matmul_t(&xd, self.a.as_tensor())?, self.b.as_tensor())? * self.scale)?;
        let delta = (xd_w.broadcast_mul(&(&k - 1.0)?)? + lora.broadcast_mul(&k)?)?;
        (y + delta)?.to_dtype(x.dtype())
    }
}

impl Adapter for DoraLinear {
    fn parameters(&self) -> Vec<(String, Var)> {
        vec![
            ("lora_A.weight".into(), self.a.clone()),
            ("lora_B.weight".into(), self.b.clone()),
            (MAGNITUDE_KEY.into(), self.magnitude.clone()),
        ]
    }

    /// `ΔW = k ⊙ (W0 + s·B·A) − W0` with `k = m / ‖W0 + s·B·A‖` per output row (PEFT's merge).
    fn merged_delta(&self, base: &FrozenLinear) -> Result<Option<Tensor>> {
        let w0 = base.weight()?.to_dtype(DType::F32)?;
        let k = self.factor(&w0)?.detach();
        let adapted = (&w0 + (self.b.as_tensor().matmul(self.a.as_tensor())? * self.scale)?)?;
        let merged = adapted.broadcast_mul(&k.unsqueeze(1)?)?;
        Ok(Some((merged - w0)?.detach()))
    }

    /// `s·B·A`, the numerator's low-rank part, without the magnitude's row scaling.
    fn linear_delta(&self) -> Result<Option<Tensor>> {
        Ok(Some((self.b.as_tensor().matmul(self.a.as_tensor())? * self.scale)?.detach()))
    }
}

/// Registry entry: DoRA has no settings beyond the shared ones.
pub const METHOD: Method = Method {
    build: Some(build),
    ..Method::new("dora", "DoRA (PEFT semantics): W' = m ⊙ (W0 + s·B·A) / ‖W0 + s·B·A‖ per output row, norm detached")
};

/// Builds a fresh DoRA layer: A kaiming-uniform(a=√5) from the same stream as LoRA,
/// B zero, m = ‖W0‖ per output row (so the layer starts as the base).
pub fn build(spec: &LayerSpec) -> Result<Arc<dyn Adapter>> {
    let (a, b, dropout) = crate::registry::fresh_pair(spec)?;
    Ok(Arc::new(DoraLinear::init(spec.base, a, b, spec.config.scale(), dropout)?))
}
