//! `silu(gate) ⊙ up`, LLaMA's MLP nonlinearity, as one node.

use super::{input, output, tensor, with_values, CHUNK};
use candle_core::{CpuStorage, CustomOp2, Error, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

struct SwiGlu;

impl CustomOp2 for SwiGlu {
    fn name(&self) -> &'static str {
        "fused-swiglu"
    }

    fn cpu_fwd(&self, s1: &CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout) -> Result<(CpuStorage, Shape)> {
        let (gate, up) = (input(self.name(), s1, l1)?, input(self.name(), s2, l2)?);
        if l1.shape() != l2.shape() {
            return Err(Error::msg(format!("fused-swiglu: gate {:?} and up {:?} differ", l1.shape(), l2.shape())));
        }
        let mut out = vec![0f32; gate.len()];
        out.par_chunks_mut(CHUNK).zip(gate.par_chunks(CHUNK)).zip(up.par_chunks(CHUNK)).for_each(|((o, g), u)| {
            for ((o, &g), &u) in o.iter_mut().zip(g).zip(u) {
                *o = g * sigmoid(g) * u;
            }
        });
        output(out, l1.shape())
    }

    fn bwd(&self, gate: &Tensor, up: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let n = gate.elem_count();
        let (mut dgate, mut dup) = (vec![0f32; n], vec![0f32; n]);
        with_values(gate, |g| {
            with_values(up, |u| {
                with_values(grad, |dy| {
                    dgate.par_chunks_mut(CHUNK).zip(dup.par_chunks_mut(CHUNK)).enumerate().for_each(|(c, (dg, du))| {
                        let at = c * CHUNK;
                        for i in 0..dg.len() {
                            let (x, s, d) = (g[at + i], sigmoid(g[at + i]), dy[at + i]);
                            // d silu(x)/dx = σ(x)·(1 + x·(1 − σ(x))).
                            dg[i] = d * u[at + i] * s * (1.0 + x * (1.0 - s));
                            du[i] = d * x * s;
                        }
                    })
                })
            })
        })???;
        Ok((Some(tensor(dgate, gate.shape())?), Some(tensor(dup, up.shape())?)))
    }
}

/// `silu(gate) ⊙ up`: one fused node for f32 CPU tensors, candle's composition otherwise.
pub fn swiglu(gate: &Tensor, up: &Tensor) -> Result<Tensor> {
    if super::fusable(gate) && super::fusable(up) {
        gate.contiguous()?.apply_op2(&up.contiguous()?, SwiGlu)
    } else {
        gate.silu()? * up
    }
}

#[cfg(test)]
mod tests {
    use crate::fixtures::{max_diff, value_and_grads};
    use super::*;
    use crate::fixtures::uniform;

    #[test]
    fn values_and_gradients_equal_the_composition() {
        let (g, u, w) = (uniform(&[3, 5, 40_000], 4.0, 1), uniform(&[3, 5, 40_000], 2.0, 2), uniform(&[3, 5, 40_000], 1.0, 3));
        let (y, grads) = value_and_grads(&[g.clone(), u.clone()], &w, |t| swiglu(&t[0], &t[1]).unwrap());
        let (y_ref, grads_ref) = value_and_grads(&[g, u], &w, |t| (t[0].silu().unwrap() * &t[1]).unwrap());
        assert!(max_diff(&y, &y_ref) < 1e-6);
        assert!(max_diff(&grads[0], &grads_ref[0]) < 1e-5, "{}", max_diff(&grads[0], &grads_ref[0]));
        assert!(max_diff(&grads[1], &grads_ref[1]) < 1e-6);
    }
}
