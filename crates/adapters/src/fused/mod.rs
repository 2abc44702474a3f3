//! A frozen linear fused with its adapter update, one graph node each, with the
//! backward written out (LoRA: [`lora_linear`]; LoRAN's dense update:
//! [`dense_update_linear`]).
//!
//! candle's backward fills a zero tensor and adds into it for every edge of the
//! graph, so the composition (dropout, the low-rank matmuls, the scale, the sum with
//! the frozen product) costs a `[tokens, out]` or `[tokens, in]` pass per node; one
//! node saves them, which is why the frozen product and the update meet here.
//!
//! The seam: the adapter math (dropout, A, B, s, f(B·A), their gradients) is this
//! crate's; the frozen terms `x·W0ᵀ` and `g·W0` come from the model's
//! `loran_model::frozen_matmul` (`frozen_product_storage`, `frozen_product`,
//! `frozen_input_grad`), which owns how a frozen weight is multiplied (f32, bf16
//! packs, NF4 dequantized per use). One exception, in f32 compute without dropout:
//! LoRAN's node reads W0 (`FrozenLinear::storage`) to multiply once by `W0 + ΔW`
//! instead of twice. The ops take f32 CPU tensors and return `None`
//! elsewhere, and the adapter composes the same math itself. Each op is tested
//! against its composition, values and gradients.

pub mod dense_update_linear;
pub mod lora_linear;

use candle_core::{Result, Shape, Tensor};
use loran_model::cpu_op::with_values;
use rayon::prelude::*;

/// Elements per parallel chunk of the element-wise helpers below.
const CHUNK: usize = 1 << 14;

/// `x ⊙ m` (or `x` itself without a mask), in parallel, as a new tensor shaped like `x`.
fn masked(x: &Tensor, mask: Option<&Tensor>) -> Result<Tensor> {
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
fn add_masked(mut base: Vec<f32>, mask: Option<&Tensor>, d: &Tensor) -> Result<Vec<f32>> {
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

/// A tensor from freshly computed values.
fn tensor(values: Vec<f32>, shape: &Shape) -> Result<Tensor> {
    Tensor::from_vec(values, shape.clone(), &candle_core::Device::Cpu)
}
