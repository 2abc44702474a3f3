//! RMSNorm with a frozen scale, `y = x / rms(x) ⊙ w`, as one node.

use super::{input, output, tensor, with_values};
use candle_core::{CpuStorage, CustomOp1, DType, Error, Layout, Result, Shape, Tensor, D};
use rayon::prelude::*;

struct RmsNormOp {
    weight: Vec<f32>,
    eps: f32,
}

impl RmsNormOp {
    fn inv_rms(&self, row: &[f32]) -> f32 {
        let mean_sq = row.iter().map(|v| v * v).sum::<f32>() / row.len() as f32;
        1.0 / (mean_sq + self.eps).sqrt()
    }
}

impl CustomOp1 for RmsNormOp {
    fn name(&self) -> &'static str {
        "fused-rms-norm"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = input(self.name(), storage, layout)?;
        let d = self.weight.len();
        if layout.shape().dims().last() != Some(&d) {
            return Err(Error::msg(format!("fused-rms-norm: input {:?} but the scale has {d} entries", layout.shape())));
        }
        let mut out = vec![0f32; x.len()];
        out.par_chunks_mut(d).zip(x.par_chunks(d)).for_each(|(o, row)| {
            let r = self.inv_rms(row);
            for ((o, &v), &w) in o.iter_mut().zip(row).zip(&self.weight) {
                *o = v * r * w;
            }
        });
        output(out, layout.shape())
    }

    fn bwd(&self, x: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        let d = self.weight.len();
        let mut dx = vec![0f32; x.elem_count()];
        with_values(x, |x| {
            with_values(grad, |g| {
                dx.par_chunks_mut(d).zip(x.par_chunks(d)).zip(g.par_chunks(d)).for_each(|((dx, row), g)| {
                    // y = x·r·w with r = (mean x² + ε)^-½:  dx = r·(g⊙w) − x·r³·Σ(g⊙w⊙x)/d.
                    let r = self.inv_rms(row);
                    let dot: f32 = g.iter().zip(&self.weight).zip(row).map(|((g, w), x)| g * w * x).sum();
                    let k = r * r * r * dot / d as f32;
                    for i in 0..d {
                        dx[i] = r * g[i] * self.weight[i] - row[i] * k;
                    }
                })
            })
        })??;
        Ok(Some(tensor(dx, x.shape())?))
    }
}

/// RMSNorm of the last dim with a frozen `weight`: one fused node for f32 CPU tensors,
/// the composition of primitive ops otherwise (gradients flow either way).
pub fn rms_norm(x: &Tensor, weight: &Tensor, eps: f64) -> Result<Tensor> {
    if super::fusable(x) && weight.dtype() == DType::F32 {
        let op = RmsNormOp { weight: weight.flatten_all()?.to_vec1::<f32>()?, eps: eps as f32 };
        return x.contiguous()?.apply_op1(op);
    }
    let dtype = x.dtype();
    let x = x.to_dtype(DType::F32)?;
    let mean_sq = x.sqr()?.mean_keepdim(D::Minus1)?;
    let normed = x.broadcast_div(&(mean_sq + eps)?.sqrt()?)?;
    normed.to_dtype(dtype)?.broadcast_mul(weight)
}

#[cfg(test)]
mod tests {
    use crate::fixtures::{max_diff, value_and_grads};
    use super::*;
    use crate::fixtures::uniform;

    #[test]
    fn values_and_gradients_equal_the_composition() {
        let (x, w) = (uniform(&[2, 7, 96], 3.0, 1), (uniform(&[96], 0.3, 2) + 1.0).unwrap());
        let g = uniform(&[2, 7, 96], 1.0, 3);
        let (y, dx) = value_and_grads(std::slice::from_ref(&x), &g, |t| rms_norm(&t[0], &w, 1e-5).unwrap());
        let composed = |t: &[Tensor]| {
            let mean_sq = t[0].sqr().unwrap().mean_keepdim(D::Minus1).unwrap();
            t[0].broadcast_div(&(mean_sq + 1e-5).unwrap().sqrt().unwrap()).unwrap().broadcast_mul(&w).unwrap()
        };
        let (y_ref, dx_ref) = value_and_grads(&[x], &g, composed);
        assert!(max_diff(&y, &y_ref) < 1e-5, "{}", max_diff(&y, &y_ref));
        assert!(max_diff(&dx[0], &dx_ref[0]) < 1e-5, "{}", max_diff(&dx[0], &dx_ref[0]));
    }
}
