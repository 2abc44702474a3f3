//! Fused CPU kernels with hand-written backward passes for the training forward.
//!
//! candle's backward pass builds a zero tensor and a sum for every edge of the graph,
//! so a composition of ten primitive ops (RMSNorm, RoPE, a masked softmax, SwiGLU)
//! costs ten forward passes over the activations, ten backward ones and as many
//! zero-fills and additions. Each op here is one graph node: one pass forward, one or
//! two backward. They take f32 CPU tensors; callers fall back to the compositions for
//! other dtypes and devices. Every op is tested against its composition, values and
//! gradients.

pub mod causal_softmax;
pub mod dense_update_linear;
pub mod lora_linear;
pub mod rms_norm;
pub mod rope;
pub mod swiglu;

pub use crate::cpu_op::fusable;
pub(crate) use crate::cpu_op::with_values;
use candle_core::{CpuStorage, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

/// The op input's contiguous f32 values.
pub(crate) fn input<'a>(op: &str, storage: &'a CpuStorage, layout: &Layout) -> Result<&'a [f32]> {
    crate::cpu_op::f32_values(op, "input", storage, layout)
}

/// Elements per parallel chunk of the element-wise helpers below.
pub(crate) const CHUNK: usize = 1 << 14;

/// `x ⊙ m` (or `x` itself without a mask), in parallel, as a new tensor shaped like `x`.
pub(crate) fn masked(x: &Tensor, mask: Option<&Tensor>) -> Result<Tensor> {
    let Some(m) = mask else { return Ok(x.clone()) };
    let mut out = vec![0f32; x.elem_count()];
    with_values(x, |xv| {
        with_values(m, |mv| {
            out.par_chunks_mut(CHUNK).zip(xv.par_chunks(CHUNK)).zip(mv.par_chunks(CHUNK)).for_each(|((o, x), m)| {
                o.iter_mut().zip(x).zip(m).for_each(|((o, x), m)| *o = x * m);
            })
        })
    })??;
    tensor(out, x.shape())
}

/// `base + m ⊙ d` (or `base + d` without a mask), in parallel, into `base`'s own values.
pub(crate) fn add_masked(mut base: Vec<f32>, mask: Option<&Tensor>, d: &Tensor) -> Result<Vec<f32>> {
    with_values(d, |dv| match mask {
        None => {
            base.par_chunks_mut(CHUNK).zip(dv.par_chunks(CHUNK)).for_each(|(b, d)| b.iter_mut().zip(d).for_each(|(b, d)| *b += d));
            Ok(())
        }
        Some(m) => with_values(m, |mv| {
            base.par_chunks_mut(CHUNK).zip(dv.par_chunks(CHUNK)).zip(mv.par_chunks(CHUNK)).for_each(|((b, d), m)| {
                b.iter_mut().zip(d).zip(m).for_each(|((b, d), m)| *b += m * d)
            })
        }),
    })??;
    Ok(base)
}

/// A freshly computed f32 output.
pub(crate) fn output(values: Vec<f32>, shape: &Shape) -> Result<(CpuStorage, Shape)> {
    Ok((CpuStorage::F32(values), shape.clone()))
}

/// A tensor from freshly computed values.
pub(crate) fn tensor(values: Vec<f32>, shape: &Shape) -> Result<Tensor> {
    Tensor::from_vec(values, shape.clone(), &candle_core::Device::Cpu)
}
