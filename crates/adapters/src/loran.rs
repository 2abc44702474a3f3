//! LoRAN (nonlinear LoRA, the official code's paper configuration: no P, no b):
//! `y = W0·x + s·f(B·A)·dropout(x)`, s = α/r (rsLoRA: α/√r).
//!
//! f acts element-wise on the unscaled weight update `B·A [out, in]`, in f32,
//! before s is applied. Each forward materialises `ΔW = s·f(B·A)` once and adds
//! `dropout(x)·ΔWᵀ`. Backward reaches A and B through f's custom op:
//! `dL/d(BA) = (s·Gᵀ·X) ⊙ f′(BA)`.
//!
//! Init is LoRA's, from the same seeded streams: for the same seed and layer,
//! LoRAN's A equals LoRA's A bit for bit and B starts at zero, so identity-LoRAN
//! is LoRA. Parameters are named as in the official fork's files: `mlora_A`
//! `[r, in]` and `mlora_B` `[out, r]` (see [`crate::mlora`]).

use crate::activations::ResolvedActivation;
use crate::adapter::Adapter;
use crate::dropout::SeededDropout;
use crate::registry::LayerSpec;
use candle_core::{DType, Result, Tensor, Var};
use loran_model::{FrozenLinear, LinearAdapter};
use std::sync::Arc;

/// Parameter suffix of A (the official fork's ParameterDict name).
pub const A_SUFFIX: &str = "mlora_A";
/// Parameter suffix of B.
pub const B_SUFFIX: &str = "mlora_B";

/// One LoRAN pair `A [r, in]`, `B [out, r]` with its activation, scale and dropout.
#[derive(Debug)]
pub struct LoranLinear {
    a: Var,
    b: Var,
    scale: f64,
    activation: ResolvedActivation,
    dropout: SeededDropout,
}

impl LoranLinear {
    /// Wraps existing A and B (f32).
    pub fn new(a: Var, b: Var, scale: f64, activation: ResolvedActivation, dropout: SeededDropout) -> Self {
        Self { a, b, scale, activation, dropout }
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

    /// The activation f.
    pub fn activation(&self) -> &ResolvedActivation {
        &self.activation
    }

    /// `ΔW = s·f(B·A)` `[out, in]` in f32, differentiable with respect to A and B.
    pub fn delta_weight(&self) -> Result<Tensor> {
        self.delta_weight_t()?.t()?.contiguous()
    }

    /// `ΔWᵀ = s·f(Aᵀ·Bᵀ)` `[in, out]` (f is element-wise, so this is `s·f(B·A)ᵀ`).
    ///
    /// The forward multiplies by this layout directly, so the backward's
    /// `dropout(x)ᵀ·G` arrives contiguous at f's op and is scaled by f′ in one
    /// contiguous pass.
    pub fn delta_weight_t(&self) -> Result<Tensor> {
        let ab = self.a.as_tensor().t()?.matmul(&self.b.as_tensor().t()?)?;
        self.activation.apply_scaled(&ab, self.scale)
    }

    /// `dropout(x)·ΔWᵀ` in f32, for `x` of shape `[..., in]`.
    pub fn delta(&self, x: &Tensor) -> Result<Tensor> {
        let x = self.dropout.apply(&x.to_dtype(DType::F32)?)?;
        times_update_t(&x, &self.delta_weight_t()?)
    }
}

/// `x·ΔWᵀ` for `x` `[..., in]` and a materialised `ΔWᵀ` `[in, out]` (weight-space methods).
pub(crate) fn times_update_t(x: &Tensor, delta_t: &Tensor) -> Result<Tensor> {
    let dims = x.dims().to_vec();
    let in_features = dims[dims.len() - 1];
    let y = x.reshape((x.elem_count() / in_features.max(1), in_features))?.matmul(delta_t)?;
    let mut out_dims = dims;
    *out_dims.last_mut().expect("x has at least one dim") = delta_t.dim(1)?;
    y.reshape(out_dims)
}

impl LinearAdapter for LoranLinear {
    fn forward(&self, x: &Tensor, base: &FrozenLinear) -> Result<Tensor> {
        if base.bias().is_none() && x.dtype() == DType::F32 {
            // ΔWᵀ = s·f(AᵀBᵀ) once per forward, then one node for both products.
            let mask = self.dropout.mask(x)?;
            let delta_t = self.delta_weight_t()?;
            if let Some(y) = loran_model::train_ops::dense_update_linear::dense_update_linear(x, base, &delta_t, mask.as_ref())? {
                return Ok(y);
            }
            let dropped = match &mask {
                Some(m) => (x * m)?,
                None => x.clone(),
            };
            return base.forward(x)? + times_update_t(&dropped, &delta_t)?;
        }
        let y = base.forward(x)?;
        let delta = self.delta(x)?.to_dtype(y.dtype())?;
        y + delta
    }
}

impl Adapter for LoranLinear {
    fn parameters(&self) -> Vec<(String, Var)> {
        vec![(A_SUFFIX.into(), self.a.clone()), (B_SUFFIX.into(), self.b.clone())]
    }

    /// `s·f(B·A)` `[out, in]`, the same orientation as W0 (the official merge adds
    /// its transpose, a bug for non-square layers that we do not copy).
    fn merged_delta(&self, _base: &FrozenLinear) -> Result<Option<Tensor>> {
        Ok(Some(self.delta_weight()?.detach()))
    }
}

/// Builds a fresh LoRAN pair: LoRA's init (A kaiming-uniform(a=√5) from the layer's
/// `init` stream, B zero) and the config's activation.
pub fn build(spec: &LayerSpec) -> Result<Arc<dyn Adapter>> {
    let activation = spec.config.activation.resolve().map_err(candle_core::Error::msg)?;
    let (a, b, dropout) = crate::registry::fresh_pair(spec)?;
    Ok(Arc::new(LoranLinear::new(a, b, spec.config.scale(), activation, dropout)))
}
