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

use crate::activations::{ActivationConfig, ResolvedActivation};
use crate::adapter::Adapter;
use crate::config::AdapterConfig;
use crate::dropout::SeededDropout;
use crate::params::Param;
use crate::registry::{LayerSpec, Method};
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
            if let Some(y) = crate::fused::dense_update_linear::dense_update_linear(x, base, &delta_t, mask.as_ref())? {
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

    fn linear_delta(&self) -> Result<Option<Tensor>> {
        Ok(Some((self.b.as_tensor().matmul(self.a.as_tensor())? * self.scale)?.detach()))
    }
}

/// LoRAN's settings: the activation f, under `adapter.activation`.
pub const PARAMS: &[Param] = &[Param::activation(
    "activation",
    "sinter",
    "LoRAN's element-wise f on the weight update: a name or `{ name, <params> }`; default Sinter with the paper's A = 5e-5, ω = 1e4",
)
.listed_for_every_method()];

/// Registry entry.
pub const METHOD: Method = Method {
    build: Some(build),
    params: PARAMS,
    warnings: Some(warnings),
    ..Method::new("loran", "LoRAN: y = W0·x + s·f(B·A)·dropout(x), f from adapter.activation")
};

/// The activation a config gives LoRAN (Sinter with the paper's values unless set).
pub fn activation(cfg: &AdapterConfig) -> ActivationConfig {
    cfg.params.activation("activation")
}

/// The traps of LoRAN's activation, derived from f itself so they cover every registered one:
/// - f(0) ≠ 0 (e.g. `sigmoid`): ΔW = s·f(0) in every entry at init, so the model
///   does not start at the base model;
/// - f′(0) = 0 (e.g. `relu`): with B = 0 at init, A and B never get a gradient;
/// - f′(0) ∉ {0, 1} (e.g. `cos`, f′(0) = 2): near init the update acts like LoRA
///   with scale f′(0)·s;
/// - an `amplitude` (Sinter's relative ripple) below f32 resolution: f is the identity.
///
/// Precision is not a knob: LoRAN always computes f(B·A) in f32 (evaluated in
/// f64, rounded once), whatever the base dtype, because Sinter's 5e-5 ripple
/// vanishes in bf16 (its resolution is 2⁻⁸ ≈ 4e-3).
pub fn warnings(cfg: &AdapterConfig) -> Vec<String> {
    let mut out = Vec::new();
    let Ok(act) = activation(cfg).resolve() else {
        return out; // validate() reports it
    };
    let name = act.name();
    let (f0, df0) = (act.function().f(0.0), act.function().df(0.0));
    let s = cfg.scale();
    if f0 != 0.0 {
        let hint = if name == "sigmoid" { "; `sigmoid-centered` (σ(x) − 0.5) starts at zero" } else { "" };
        out.push(format!(
            "adapter.activation: `{name}` has f(0) = {f0}, so at init (B = 0) every entry of the update is s·f(0) = {}: the model does not start at the base model{hint}",
            s * f0
        ));
    }
    if df0 == 0.0 {
        let hint = if name == "relu" { "; `leaky-relu` does train" } else { "" };
        out.push(format!(
            "adapter.activation: `{name}` has f′(0) = 0 and B·A = 0 at init, so A and B never receive a gradient: the adapter will not train{hint}"
        ));
    } else if df0 != 1.0 {
        out.push(format!(
            "adapter.activation: `{name}` has f′(0) = {df0}: near init the update acts like LoRA with scale f′(0)·s = {} instead of s = {s}",
            df0 * s
        ));
    }
    if let Some(&a) = act.params().as_map().get("amplitude") {
        if a != 0.0 && a.abs() < f32::EPSILON as f64 {
            out.push(format!(
                "adapter.activation.amplitude: {a} is below f32 resolution ({:e}): `{name}` computes as the identity",
                f32::EPSILON
            ));
        }
    }
    out
}

/// Builds a fresh LoRAN pair: LoRA's init (A kaiming-uniform(a=√5) from the layer's
/// `init` stream, B zero) and the config's activation.
pub fn build(spec: &LayerSpec) -> Result<Arc<dyn Adapter>> {
    let activation = activation(spec.config).resolve().map_err(candle_core::Error::msg)?;
    let (a, b, dropout) = crate::registry::fresh_pair(spec)?;
    Ok(Arc::new(LoranLinear::new(a, b, spec.config.scale(), activation, dropout)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loran(name: &str) -> AdapterConfig {
        let cfg = AdapterConfig { method: "loran".into(), ..AdapterConfig::default() };
        cfg.with("activation", ActivationConfig::named(name).unwrap()).unwrap()
    }

    #[test]
    fn warnings_flag_the_traps() {
        assert!(loran("sinter").warnings().is_empty());
        assert!(loran("identity").warnings().is_empty());
        assert!(loran("tanh").warnings().is_empty());
        let w = loran("sigmoid").warnings();
        assert!(w.iter().any(|m| m.contains("f(0) = 0.5") && m.contains("0.125") && m.contains("sigmoid-centered")), "{w:?}");
        let w = loran("relu").warnings();
        assert!(w.iter().any(|m| m.contains("never receive a gradient") && m.contains("leaky-relu")), "{w:?}");
        let w = loran("cos").warnings();
        assert!(w.len() == 1 && w[0].contains("f′(0) = 2") && w[0].contains("0.5"), "{w:?}");
        assert!(loran("sigmoid-centered").warnings().iter().all(|m| !m.contains("f(0)")));
        let flat = loran("relu").with("activation", ActivationConfig::named("leaky-relu").unwrap().with("slope", 0.0).unwrap()).unwrap();
        assert!(flat.warnings().iter().any(|m| m.contains("never receive a gradient")));
        let tiny = loran("sinter").with("activation", ActivationConfig::default().with("amplitude", 1e-9).unwrap()).unwrap();
        assert!(tiny.warnings().iter().any(|m| m.contains("below f32 resolution")), "{:?}", tiny.warnings());
        // Another method ignores the activation and says so instead of listing its traps.
        let w = AdapterConfig { method: "lora".into(), ..loran("sigmoid") }.warnings();
        assert!(w.len() == 1 && w[0].contains("ignored") && w[0].contains("`sigmoid`"), "{w:?}");
    }
}
