//! `softmax(scale·scores + causal mask)` over the last dim as one node: attention's
//! scaling, masking and normalisation without the intermediate tensors.

use super::{input, output, tensor, with_values};
use candle_core::{CpuStorage, CustomOp1, Error, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

/// The op for scores `[..., rows, kv_len]` whose rows cycle through `t` query positions:
/// row `r` is query `r % t`, at absolute position `kv_len − t + r % t`, and sees the
/// keys up to it.
struct CausalSoftmax {
    scale: f32,
    t: usize,
}

impl CustomOp1 for CausalSoftmax {
    fn name(&self) -> &'static str {
        "fused-causal-softmax"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = input(self.name(), storage, layout)?;
        let kv = *layout.shape().dims().last().unwrap_or(&0);
        let rows = layout.shape().elem_count() / kv.max(1);
        if kv < self.t || !rows.is_multiple_of(self.t) {
            return Err(Error::msg(format!("fused-causal-softmax: scores {:?} for {} queries", layout.shape(), self.t)));
        }
        let offset = kv - self.t;
        let mut out = vec![0f32; x.len()];
        out.par_chunks_mut(kv).zip(x.par_chunks(kv)).enumerate().for_each(|(r, (p, s))| {
            let seen = offset + r % self.t + 1;
            let max = s[..seen].iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v)) * self.scale;
            let mut sum = 0.0f32;
            for (p, &v) in p[..seen].iter_mut().zip(&s[..seen]) {
                *p = (v * self.scale - max).exp();
                sum += *p;
            }
            let inv = 1.0 / sum;
            p[..seen].iter_mut().for_each(|p| *p *= inv);
        });
        output(out, layout.shape())
    }

    fn bwd(&self, _x: &Tensor, probs: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        let kv = *probs.dims().last().unwrap_or(&0);
        let mut dx = vec![0f32; probs.elem_count()];
        with_values(probs, |p| {
            with_values(grad, |g| {
                dx.par_chunks_mut(kv).zip(p.par_chunks(kv)).zip(g.par_chunks(kv)).for_each(|((dx, p), g)| {
                    // ∂/∂s of softmax(scale·s): scale·p ⊙ (g − Σ p⊙g); masked entries have p = 0.
                    let dot: f32 = p.iter().zip(g).map(|(p, g)| p * g).sum();
                    for ((dx, &p), &g) in dx.iter_mut().zip(p).zip(g) {
                        *dx = self.scale * p * (g - dot);
                    }
                })
            })
        })??;
        Ok(Some(tensor(dx, probs.shape())?))
    }
}

/// Causal attention probabilities from raw scores `[..., rows, kv_len]` (rows cycling
/// through `t` queries, the last `t` positions of `kv_len`): one fused node for f32 CPU
/// tensors; elsewhere the scale, the additive mask and candle's softmax.
pub fn causal_softmax(scores: &Tensor, scale: f64, t: usize) -> Result<Tensor> {
    if super::fusable(scores) {
        return scores.contiguous()?.apply_op1(CausalSoftmax { scale: scale as f32, t });
    }
    let dims = scores.dims().to_vec();
    let (rows, kv) = (dims[dims.len() - 2], dims[dims.len() - 1]);
    let mask = crate::attention::causal_mask(t, kv, scores.device())?.repeat((rows / t, 1))?;
    candle_nn::ops::softmax_last_dim(&(scores * scale)?.broadcast_add(&mask.to_dtype(scores.dtype())?)?)
}

#[cfg(test)]
mod tests {
    use crate::fixtures::{max_diff, value_and_grads};
    use super::*;
    use crate::fixtures::uniform;

    fn composed(s: &Tensor, scale: f64, t: usize) -> Tensor {
        let (rows, kv) = s.dims2().unwrap();
        let mask = crate::attention::causal_mask(t, kv, s.device()).unwrap().repeat((rows / t, 1)).unwrap();
        candle_nn::ops::softmax(&(s * scale).unwrap().broadcast_add(&mask).unwrap(), candle_core::D::Minus1).unwrap()
    }

    #[test]
    fn values_and_gradients_equal_scale_mask_softmax() {
        // 3 groups of 4 queries over 6 keys (2 of them cached before the queries).
        let s = uniform(&[12, 6], 4.0, 1);
        let g = uniform(&[12, 6], 1.0, 2);
        let (y, dx) = value_and_grads(std::slice::from_ref(&s), &g, |v| causal_softmax(&v[0], 0.125, 4).unwrap());
        let (y_ref, dx_ref) = value_and_grads(&[s], &g, |v| composed(&v[0], 0.125, 4));
        assert!(max_diff(&y, &y_ref) < 1e-6);
        assert!(max_diff(&dx[0], &dx_ref[0]) < 1e-6);
        // Query 0 of each group sees keys 0..=2 only.
        let first = y.get(4).unwrap().to_vec1::<f32>().unwrap();
        assert_eq!(&first[3..], &[0.0, 0.0, 0.0]);
        assert!((first.iter().sum::<f32>() - 1.0).abs() < 1e-6);
    }
}
