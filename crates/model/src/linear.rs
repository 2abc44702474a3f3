//! Frozen base linears and the seam where an adapter wraps one.

use crate::bf16_compute::{Bf16Packs, ComputeDtype};
use crate::quant::nf4_weight::msg;
use crate::quant::{Nf4Weight, QuantMode};
use candle_core::{Result, Tensor};
use std::fmt::Debug;
use std::sync::Arc;

/// How a frozen linear stores its weight.
#[derive(Debug, Clone)]
pub enum LinearWeight {
    /// A dense `[out, in]` tensor.
    Dense(Tensor),
    /// Packed NF4 codes, dequantized to f32 inside every forward.
    Nf4(Nf4Weight),
}

impl LinearWeight {
    /// The dense `[out, in]` weight: a cheap handle, or a fresh dequantized f32 copy.
    pub fn dense(&self) -> Result<Tensor> {
        match self {
            LinearWeight::Dense(w) => Ok(w.clone()),
            LinearWeight::Nf4(w) => w.dequantize(),
        }
    }
}

/// How a frozen linear multiplies: in f32, or in bf16 with the packed layouts of a
/// dense weight (shared by clones; an NF4 weight packs each time it is used).
#[derive(Debug, Clone, Default)]
pub enum FrozenCompute {
    /// f32 inputs and accumulation.
    #[default]
    F32,
    /// bf16 inputs, f32 accumulation ([`crate::bf16_compute`]).
    Bf16(Arc<Bf16Packs>),
}

/// A frozen linear layer `y = x·Wᵀ (+ b)` whose weight never receives gradients.
///
/// The weight is dense or NF4 ([`LinearWeight`]); cloning shares the storage.
#[derive(Debug, Clone)]
pub struct FrozenLinear {
    weight: LinearWeight,
    bias: Option<Tensor>,
    compute: FrozenCompute,
}

impl FrozenLinear {
    /// Wraps a `[out_features, in_features]` weight.
    pub fn new(weight: Tensor) -> Self {
        Self { weight: LinearWeight::Dense(weight), bias: None, compute: FrozenCompute::F32 }
    }

    /// Wraps an NF4 `[out_features, in_features]` weight.
    pub fn from_nf4(weight: Nf4Weight) -> Self {
        Self { weight: LinearWeight::Nf4(weight), bias: None, compute: FrozenCompute::F32 }
    }

    /// Adds a `[out_features]` bias.
    pub fn with_bias(mut self, bias: Tensor) -> Self {
        self.bias = Some(bias);
        self
    }

    /// The bias, if any.
    pub fn bias(&self) -> Option<&Tensor> {
        self.bias.as_ref()
    }

    /// The weight as stored.
    pub fn storage(&self) -> &LinearWeight {
        &self.weight
    }

    /// How the frozen products are computed.
    pub fn compute(&self) -> &FrozenCompute {
        &self.compute
    }

    /// The arithmetic of the frozen products.
    pub fn compute_dtype(&self) -> ComputeDtype {
        match self.compute {
            FrozenCompute::F32 => ComputeDtype::F32,
            FrozenCompute::Bf16(_) => ComputeDtype::Bf16,
        }
    }

    /// Computes the frozen products in `dtype` from now on (packs are made on first use).
    pub fn set_compute_dtype(&mut self, dtype: ComputeDtype) {
        if dtype != self.compute_dtype() {
            self.compute = fresh_compute(dtype);
        }
    }

    /// The NF4 weight, when the layer is quantized.
    pub fn nf4(&self) -> Option<&Nf4Weight> {
        match &self.weight {
            LinearWeight::Nf4(w) => Some(w),
            LinearWeight::Dense(_) => None,
        }
    }

    /// Whether the weight is stored quantized.
    pub fn is_quantized(&self) -> bool {
        self.nf4().is_some()
    }

    /// The dense weight `[out, in]`: a cheap handle for dense storage, a fresh f32
    /// dequantization for NF4.
    pub fn weight(&self) -> Result<Tensor> {
        self.weight.dense()
    }

    /// Replaces the weight with a dense one (used by exact adapter merges); a quantized
    /// layer becomes dense. The shape must not change.
    pub fn set_weight(&mut self, weight: Tensor) -> Result<()> {
        if weight.dims() != self.dims() {
            candle_core::bail!("set_weight: shape {:?} differs from {:?}", weight.dims(), self.dims());
        }
        self.weight = LinearWeight::Dense(weight);
        // Packs of the old weight must not serve the new one.
        self.compute = fresh_compute(self.compute_dtype());
        Ok(())
    }

    /// A copy of this layer stored as `mode` says (the bias stays dense).
    ///
    /// NF4 reads the weight as f32 and quantizes it in blocks of 64 as bitsandbytes does;
    /// `nf4-dq` also double-quantizes the absmax values. A layer already in the requested
    /// form is shared as is; otherwise a quantized layer is first dequantized. A
    /// non-finite weight is an error naming its position.
    pub fn quantize(&self, mode: QuantMode) -> Result<FrozenLinear> {
        let weight = match (mode, &self.weight) {
            (QuantMode::None, LinearWeight::Dense(_)) => return Ok(self.clone()),
            (QuantMode::Nf4, LinearWeight::Nf4(w)) if !w.is_double_quant() => return Ok(self.clone()),
            (QuantMode::Nf4Dq, LinearWeight::Nf4(w)) if w.is_double_quant() => return Ok(self.clone()),
            (QuantMode::None, LinearWeight::Nf4(w)) => LinearWeight::Dense(w.dequantize()?),
            (QuantMode::Nf4 | QuantMode::Nf4Dq, _) => {
                let nf4 = Nf4Weight::quantize(&self.weight()?, mode == QuantMode::Nf4Dq)
                    .map_err(|e| msg(format!("cannot quantize to {mode}: {}", loran_io::one_line(&e.to_string()))))?;
                LinearWeight::Nf4(nf4)
            }
        };
        Ok(FrozenLinear { weight, bias: self.bias.clone(), compute: fresh_compute(self.compute_dtype()) })
    }

    /// Bytes held by the weight (packed codes and statistics for NF4, bf16 packs made
    /// so far) plus the bias.
    pub fn storage_bytes(&self) -> usize {
        let weight = match &self.weight {
            LinearWeight::Dense(w) => w.elem_count() * w.dtype().size_in_bytes(),
            LinearWeight::Nf4(w) => w.storage_bytes(),
        };
        let packs = match &self.compute {
            FrozenCompute::F32 => 0,
            FrozenCompute::Bf16(p) => p.bytes(),
        };
        weight + packs + self.bias.as_ref().map_or(0, |b| b.elem_count() * b.dtype().size_in_bytes())
    }

    fn dims(&self) -> &[usize] {
        match &self.weight {
            LinearWeight::Dense(w) => w.dims(),
            LinearWeight::Nf4(w) => w.dims(),
        }
    }

    /// Number of input features.
    pub fn in_features(&self) -> usize {
        self.dims().get(1).copied().unwrap_or(0)
    }

    /// Number of output features.
    pub fn out_features(&self) -> usize {
        self.dims().first().copied().unwrap_or(0)
    }

    /// `x·Wᵀ (+ b)` for `x` of shape `[..., in]`.
    ///
    /// An NF4 weight is dequantized to f32 here (cast to `x`'s dtype if that differs)
    /// and used in a normal matmul: it is a constant, so gradients reach `x`. Inside
    /// a graph the backward dequantizes it again instead of keeping the f32 copy.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let y = crate::frozen_matmul::frozen_matmul_t(x, self)?;
        match &self.bias {
            Some(b) => y.broadcast_add(b),
            None => Ok(y),
        }
    }
}

fn fresh_compute(dtype: ComputeDtype) -> FrozenCompute {
    match dtype {
        ComputeDtype::F32 => FrozenCompute::F32,
        ComputeDtype::Bf16 => FrozenCompute::Bf16(Arc::new(Bf16Packs::default())),
    }
}

/// `x·Wᵀ` for `x` of shape `[..., in]` and `w` of shape `[out, in]`, as one 2-D GEMM.
pub fn matmul_t(x: &Tensor, w: &Tensor) -> Result<Tensor> {
    let dims = x.dims();
    let in_features = dims[dims.len() - 1];
    let rows = x.elem_count() / in_features.max(1);
    let y = x.reshape((rows, in_features))?.matmul(&w.t()?)?;
    let mut out_dims = dims.to_vec();
    *out_dims.last_mut().expect("x has at least one dim") = w.dim(0)?;
    y.reshape(out_dims)
}

/// An adapter around one frozen linear (LoRA and its variants live in the adapters crate).
pub trait LinearAdapter: Debug + Send + Sync {
    /// The adapted layer's output for input `x` (`[..., in]`), given the frozen base layer.
    fn forward(&self, x: &Tensor, base: &FrozenLinear) -> Result<Tensor>;
}

/// A self-gated activation `φ(z) = z·g(z)` that a linear's output feeds directly
/// (SwiGLU's `gate_proj` feeds SiLU).
///
/// Which activation a linear feeds is a fact of the architecture that only the model
/// knows, so the model states it on each [`AdaptableLinear`] ([`AdaptableLinear::gate`]),
/// for any adapter to read; what an adapter does with it (statistics of the
/// pre-activation `z`, say) is adapter logic and stays in the adapters crate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GateActivation {
    /// `φ(z) = z·σ(z)`, LLaMA's SwiGLU gate.
    Silu,
}

impl GateActivation {
    /// Name for messages and docs.
    pub fn name(self) -> &'static str {
        match self {
            GateActivation::Silu => "SiLU",
        }
    }
}

/// A named linear of the model: a frozen base plus an optional adapter.
#[derive(Debug, Clone)]
pub struct AdaptableLinear {
    name: String,
    base: FrozenLinear,
    adapter: Option<Arc<dyn LinearAdapter>>,
    gate: Option<GateActivation>,
}

impl AdaptableLinear {
    /// A linear called `name` (its Hugging Face path, e.g. `model.layers.7.self_attn.q_proj`).
    pub fn new(name: impl Into<String>, base: FrozenLinear) -> Self {
        Self { name: name.into(), base, adapter: None, gate: None }
    }

    /// Marks this linear's output as the pre-activation of the self-gated `gate`.
    pub fn feeding(mut self, gate: GateActivation) -> Self {
        self.gate = Some(gate);
        self
    }

    /// The self-gated activation this linear's output feeds, if any.
    pub fn gate(&self) -> Option<GateActivation> {
        self.gate
    }

    /// The Hugging Face path of this layer.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The frozen base layer.
    pub fn base(&self) -> &FrozenLinear {
        &self.base
    }

    /// The frozen base layer, for merges.
    pub fn base_mut(&mut self) -> &mut FrozenLinear {
        &mut self.base
    }

    /// The adapter, if one is attached.
    pub fn adapter(&self) -> Option<&Arc<dyn LinearAdapter>> {
        self.adapter.as_ref()
    }

    /// Attaches (`Some`) or removes (`None`) an adapter; returns the previous one.
    pub fn set_adapter(&mut self, adapter: Option<Arc<dyn LinearAdapter>>) -> Option<Arc<dyn LinearAdapter>> {
        std::mem::replace(&mut self.adapter, adapter)
    }

    /// The base output, or the adapter's output when one is attached.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        match &self.adapter {
            Some(adapter) => adapter.forward(x, &self.base),
            None => self.base.forward(x),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quant::QuantMode;
    use candle_core::Device;

    #[derive(Debug)]
    struct AddOne;
    impl LinearAdapter for AddOne {
        fn forward(&self, x: &Tensor, base: &FrozenLinear) -> Result<Tensor> {
            base.forward(x)? + 1.0
        }
    }

    #[test]
    fn forward_is_x_times_w_transposed_and_adapter_wraps_it() {
        let dev = Device::Cpu;
        let w = Tensor::new(&[[1f32, 2., 3.], [4., 5., 6.]], &dev).unwrap();
        let x = Tensor::new(&[[[1f32, 0., -1.]], [[2., 1., 0.]]], &dev).unwrap();
        let mut lin = AdaptableLinear::new("layer", FrozenLinear::new(w));
        let y = lin.forward(&x).unwrap();
        assert_eq!(y.dims(), &[2, 1, 2]);
        assert_eq!(y.flatten_all().unwrap().to_vec1::<f32>().unwrap(), vec![-2., -2., 4., 13.]);
        lin.set_adapter(Some(Arc::new(AddOne)));
        let y = lin.forward(&x).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
        assert_eq!(y, vec![-1., -1., 5., 14.]);
        assert!(lin.set_adapter(None).is_some());
    }

    #[test]
    fn nf4_forward_passes_gradients_to_its_input() {
        let w = crate::fixtures::uniform(&[48, 32], 0.2, 1);
        let bias = crate::fixtures::uniform(&[48], 0.1, 2);
        let lin = FrozenLinear::new(w).with_bias(bias).quantize(QuantMode::Nf4Dq).unwrap();
        assert!(lin.is_quantized());
        assert_eq!((lin.in_features(), lin.out_features()), (32, 48));
        let x = candle_core::Var::from_tensor(&crate::fixtures::uniform(&[2, 5, 32], 1.0, 3)).unwrap();
        let g = crate::fixtures::uniform(&[2, 5, 48], 1.0, 4);
        let y = lin.forward(x.as_tensor()).unwrap();
        let loss = (&y * &g).unwrap().sum_all().unwrap();
        let grads = loss.backward().unwrap();
        let dx = grads.get(x.as_tensor()).expect("x gets a gradient through the NF4 layer");
        let expected = g.reshape((10, 48)).unwrap().matmul(&lin.weight().unwrap()).unwrap().reshape((2, 5, 32)).unwrap();
        let diff = (dx - expected).unwrap().abs().unwrap().flatten_all().unwrap().max(0).unwrap().to_scalar::<f32>().unwrap();
        assert!(diff < 1e-5, "dx differs from g·W_deq by {diff}");
        // The dense twin with the dequantized weight gives the same output.
        let dense = FrozenLinear::new(lin.weight().unwrap()).with_bias(lin.bias().unwrap().clone());
        let y2 = dense.forward(x.as_tensor()).unwrap();
        let diff = (y - y2).unwrap().abs().unwrap().flatten_all().unwrap().max(0).unwrap().to_scalar::<f32>().unwrap();
        assert_eq!(diff, 0.0);
    }

    #[test]
    fn nf4_storage_is_about_four_and_a_half_bits_per_parameter() {
        let w = crate::fixtures::uniform(&[576, 576], 0.05, 5);
        let dense = FrozenLinear::new(w);
        assert_eq!(dense.storage_bytes(), 576 * 576 * 4);
        let nf4 = dense.quantize(QuantMode::Nf4).unwrap();
        let dq = dense.quantize(QuantMode::Nf4Dq).unwrap();
        let bits = |l: &FrozenLinear| 8.0 * l.storage_bytes() as f64 / (576.0 * 576.0);
        assert_eq!(nf4.storage_bytes(), 576 * 576 / 2 + 4 * 576 * 576 / 64);
        assert_eq!(bits(&nf4), 4.5);
        assert!((bits(&dq) - 4.127).abs() < 0.001, "{}", bits(&dq));
        assert_eq!(nf4.nf4().unwrap().bits_per_param(), bits(&nf4));
        // set_weight turns a quantized layer dense; quantize(None) dequantizes.
        let mut back = nf4.clone();
        back.set_weight(nf4.weight().unwrap()).unwrap();
        assert!(!back.is_quantized());
        assert!(!nf4.quantize(QuantMode::None).unwrap().is_quantized());
        assert!(nf4.quantize(QuantMode::Nf4).unwrap().nf4().unwrap().packed().as_ptr() == nf4.nf4().unwrap().packed().as_ptr());
    }
}
