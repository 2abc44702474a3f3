//! LoRA with PEFT semantics: `y = W0·x + s·B·A·dropout(x)`, s = α/r (rsLoRA: α/√r).

use crate::adapter::Adapter;
use crate::dropout::SeededDropout;
use crate::registry::{LayerSpec, Method};
use candle_core::{DType, Result, Tensor, Var};
use loran_model::linear::matmul_t;
use loran_model::{FrozenLinear, LinearAdapter};

/// One LoRA pair `A [r, in]`, `B [out, r]` with its scale and dropout.
#[derive(Debug)]
pub struct LoraLinear {
    a: Var,
    b: Var,
    scale: f64,
    dropout: SeededDropout,
}

impl LoraLinear {
    /// Wraps existing A and B (f32) with scale `s` and dropout.
    pub fn new(a: Var, b: Var, scale: f64, dropout: SeededDropout) -> Self {
        Self { a, b, scale, dropout }
    }

    /// A `[r, in]`.
    pub fn a(&self) -> &Var {
        &self.a
    }

    /// B `[out, r]`.
    pub fn b(&self) -> &Var {
        &self.b
    }

    /// The scale s.
    pub fn scale(&self) -> f64 {
        self.scale
    }

    /// `s·B·A·dropout(x)` in f32, for `x` of shape `[..., in]`.
    pub fn delta(&self, x: &Tensor) -> Result<Tensor> {
        self.low_rank(&self.dropout.apply(&x.to_dtype(DType::F32)?)?)
    }

    /// `s·B·A·u` for an input that already went through dropout.
    fn low_rank(&self, u: &Tensor) -> Result<Tensor> {
        let h = matmul_t(u, self.a.as_tensor())?;
        matmul_t(&h, self.b.as_tensor())? * self.scale
    }
}

impl LinearAdapter for LoraLinear {
    fn forward(&self, x: &Tensor, base: &FrozenLinear) -> Result<Tensor> {
        if base.bias().is_none() && x.dtype() == DType::F32 {
            // One graph node for the frozen product and the update (f32 on the CPU).
            let mask = self.dropout.mask(x)?;
            let fused = crate::fused::lora_linear::lora_linear(x, base, self.a.as_tensor(), self.b.as_tensor(), self.scale, mask.as_ref())?;
            if let Some(y) = fused {
                return Ok(y);
            }
            let dropped = match &mask {
                Some(m) => (x * m)?,
                None => x.clone(),
            };
            return base.forward(x)? + self.low_rank(&dropped)?;
        }
        let y = base.forward(x)?;
        let delta = self.delta(x)?.to_dtype(y.dtype())?;
        y + delta
    }
}

impl Adapter for LoraLinear {
    fn parameters(&self) -> Vec<(String, Var)> {
        vec![("lora_A.weight".into(), self.a.clone()), ("lora_B.weight".into(), self.b.clone())]
    }

    fn merged_delta(&self, _base: &FrozenLinear) -> Result<Option<Tensor>> {
        self.linear_delta()
    }

    /// The same tensor as the merge, bit for bit: LoRA's update is its linear one.
    fn linear_delta(&self) -> Result<Option<Tensor>> {
        Ok(Some((self.b.as_tensor().matmul(self.a.as_tensor())? * self.scale)?))
    }
}

/// Registry entry: LoRA has no settings beyond the shared ones.
pub const METHOD: Method = Method { build: Some(build), ..Method::new("lora", "LoRA (PEFT semantics): y = W0·x + s·B·A·dropout(x)") };

/// Builds a fresh LoRA pair: A kaiming-uniform(a=√5), B zero (so the layer starts as the base).
pub fn build(spec: &LayerSpec) -> Result<std::sync::Arc<dyn Adapter>> {
    let (a, b, dropout) = crate::registry::fresh_pair(spec)?;
    Ok(std::sync::Arc::new(LoraLinear::new(a, b, spec.config.scale(), dropout)))
}
