//! Fused CPU kernels with hand-written backward passes for the training forward.
//!
//! candle's backward pass builds a zero tensor and a sum for every edge of the graph,
//! so a composition of ten primitive ops (RMSNorm, RoPE, a masked softmax, SwiGLU)
//! costs ten forward passes over the activations, ten backward ones and as many
//! zero-fills and additions. Each op here is one graph node: one pass forward, one or
//! two backward. They take f32 CPU tensors; callers fall back to the compositions for
//! other dtypes and devices. Every op is tested against its composition, values and
//! gradients.
//!
//! The fused nodes of a frozen linear with its adapter update (LoRA, LoRAN's dense
//! update) are adapter math and live in `loran_adapters::fused`; they take the frozen
//! products from [`crate::frozen_matmul`].

pub mod causal_softmax;
pub mod rms_norm;
pub mod rope;
pub mod swiglu;

pub use crate::cpu_op::fusable;
pub(crate) use crate::cpu_op::with_values;
use candle_core::{CpuStorage, Layout, Result, Shape, Tensor};

/// The op input's contiguous f32 values.
pub(crate) fn input<'a>(op: &str, storage: &'a CpuStorage, layout: &Layout) -> Result<&'a [f32]> {
    crate::cpu_op::f32_values(op, "input", storage, layout)
}

/// Elements per parallel chunk of the element-wise loops.
pub(crate) const CHUNK: usize = 1 << 14;

/// A freshly computed f32 output.
pub(crate) fn output(values: Vec<f32>, shape: &Shape) -> Result<(CpuStorage, Shape)> {
    Ok((CpuStorage::F32(values), shape.clone()))
}

/// A tensor from freshly computed values.
pub(crate) fn tensor(values: Vec<f32>, shape: &Shape) -> Result<Tensor> {
    Tensor::from_vec(values, shape.clone(), &candle_core::Device::Cpu)
}
