//! Rotary position embedding (LLaMA's half-split layout) as one node; its backward
//! is the rotation by the opposite angles.

use super::{input, output, tensor, with_values};
use candle_core::{CpuStorage, CustomOp1, Error, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

/// The op for a `[batch, heads, seq, head_dim]` input; `cos`/`sin` are `[seq, head_dim/2]`.
struct RopeOp {
    cos: Vec<f32>,
    sin: Vec<f32>,
    seq: usize,
    half: usize,
}

impl RopeOp {
    /// Rotates every `[head_dim]` row of `x` by its position's angles (`sign` −1: backwards).
    fn rotate(&self, x: &[f32], sign: f32) -> Vec<f32> {
        let (half, seq) = (self.half, self.seq);
        let mut out = vec![0f32; x.len()];
        out.par_chunks_mut(2 * half).zip(x.par_chunks(2 * half)).enumerate().for_each(|(row, (o, v))| {
            let at = (row % seq) * half;
            for i in 0..half {
                let (c, s) = (self.cos[at + i], sign * self.sin[at + i]);
                let (x1, x2) = (v[i], v[i + half]);
                o[i] = x1 * c - x2 * s;
                o[i + half] = x2 * c + x1 * s;
            }
        });
        out
    }
}

impl CustomOp1 for RopeOp {
    fn name(&self) -> &'static str {
        "fused-rope"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let dims = layout.shape().dims();
        if dims.len() != 4 || dims[2] != self.seq || dims[3] != 2 * self.half {
            return Err(Error::msg(format!("fused-rope: input {dims:?} for {} positions of width {}", self.seq, 2 * self.half)));
        }
        output(self.rotate(input(self.name(), storage, layout)?, 1.0), layout.shape())
    }

    fn bwd(&self, _x: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        let dx = with_values(grad, |g| self.rotate(g, -1.0))?;
        Ok(Some(tensor(dx, grad.shape())?))
    }
}

/// RoPE of `x` `[batch, heads, seq, head_dim]` with `cos`/`sin` `[seq, head_dim/2]`:
/// one fused node for f32 CPU tensors, candle's differentiable composition otherwise.
pub fn rope(x: &Tensor, cos: &Tensor, sin: &Tensor) -> Result<Tensor> {
    if super::fusable(x) && super::fusable(cos) {
        let (seq, half) = cos.dims2()?;
        let op = RopeOp { cos: cos.flatten_all()?.to_vec1()?, sin: sin.flatten_all()?.to_vec1()?, seq, half };
        return x.contiguous()?.apply_op1(op);
    }
    candle_nn::rotary_emb::rope_slow(&x.contiguous()?, cos, sin)
}

#[cfg(test)]
mod tests {
    use crate::fixtures::{max_diff, value_and_grads};
    use super::*;
    use crate::fixtures::uniform;

    #[test]
    fn values_and_gradients_equal_candles_composition() {
        let (b, h, t, d) = (2, 3, 5, 8);
        let x = uniform(&[b, h, t, d], 2.0, 1);
        let angles = uniform(&[t, d / 2], 3.0, 2);
        let (cos, sin) = (angles.cos().unwrap(), angles.sin().unwrap());
        let g = uniform(&[b, h, t, d], 1.0, 3);
        let (y, dx) = value_and_grads(std::slice::from_ref(&x), &g, |v| rope(&v[0], &cos, &sin).unwrap());
        let (y_ref, dx_ref) = value_and_grads(&[x], &g, |v| candle_nn::rotary_emb::rope_slow(&v[0], &cos, &sin).unwrap());
        assert!(max_diff(&y, &y_ref) < 1e-6);
        assert!(max_diff(&dx[0], &dx_ref[0]) < 1e-6);
    }
}
