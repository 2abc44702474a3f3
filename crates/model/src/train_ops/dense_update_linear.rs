//! A frozen linear plus a dense weight update, `y = x·W0ᵀ + (m⊙x)·ΔWᵀ`, as one node
//! (LoRAN's forward, where `ΔW = s·f(B·A)` is formed once per forward).
//!
//! The backward is `dx = g·W0 + m⊙(g·ΔW)` and `dΔWᵀ = (m⊙x)ᵀ·g`; without dropout the
//! forward and the input gradient each take one matmul against `W0 + ΔW` instead of
//! two. `ΔWᵀ` stays in candle's graph, so the gradient reaches A and B through `f`.

use crate::linear::LinearWeight;
use candle_core::{CpuStorage, CustomOp2, DType, Error, Layout, Result, Shape, Tensor};

/// The op over `(x [.., in], ΔWᵀ [in, out])`.
struct DenseUpdateOp {
    weight: LinearWeight,
    mask: Option<Tensor>,
}

impl DenseUpdateOp {
    /// `W0 + ΔW` `[out, in]` (f32), laid out as `W0`: with `ΔW = 0` every product
    /// below is bit-identical to the frozen layer's own.
    fn merged(&self, dwt: &Tensor) -> Result<Tensor> {
        self.weight.dense()?.to_dtype(DType::F32)? + dwt.t()?
    }
}

impl CustomOp2 for DenseUpdateOp {
    fn name(&self) -> &'static str {
        "fused-dense-update"
    }

    fn cpu_fwd(&self, s1: &CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = crate::cpu_op::f32_input(self.name(), "input", s1, l1)?;
        let dwt = crate::cpu_op::f32_input(self.name(), "update", s2, l2)?;
        let (in_features, out_features) = dwt.dims2()?;
        let rows = x.elem_count() / in_features.max(1);
        let x2 = x.reshape((rows, in_features))?;
        let y = match &self.mask {
            None => crate::linear::matmul_t(&x2, &self.merged(&dwt)?)?,
            Some(m) => {
                let base = crate::linear::matmul_t(&x2, &self.weight.dense()?.to_dtype(DType::F32)?)?;
                (base + (&x2 * m.reshape((rows, in_features))?)?.matmul(&dwt)?)?
            }
        };
        let mut dims = x.dims().to_vec();
        *dims.last_mut().ok_or_else(|| Error::msg("fused-dense-update: a scalar input"))? = out_features;
        crate::cpu_op::f32_output(&y.reshape(dims)?)
    }

    fn bwd(&self, x: &Tensor, dwt: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let (x, dwt) = (x.detach(), dwt.detach());
        let (in_features, out_features) = dwt.dims2()?;
        let rows = x.elem_count() / in_features.max(1);
        let g = grad.reshape((rows, out_features))?;
        let x2 = x.reshape((rows, in_features))?;
        let (dx, u) = match &self.mask {
            None => (g.matmul(&self.merged(&dwt)?)?, x2),
            Some(m) => {
                let m = m.reshape((rows, in_features))?;
                let w = self.weight.dense()?.to_dtype(DType::F32)?;
                let dx = (g.matmul(&w)? + (crate::linear::matmul_t(&g, &dwt)? * &m)?)?;
                (dx, (x2 * m)?)
            }
        };
        let d_dwt = u.t()?.matmul(&g)?;
        Ok((Some(dx.reshape(x.shape())?), Some(d_dwt)))
    }
}

/// `x·W0ᵀ + (mask⊙x)·ΔWᵀ` for f32 CPU tensors as one graph node with gradients for
/// `x` and `ΔWᵀ` (`delta_t`, `[in, out]`); `None` elsewhere (the caller composes).
pub fn dense_update_linear(x: &Tensor, weight: &LinearWeight, delta_t: &Tensor, mask: Option<&Tensor>) -> Result<Option<Tensor>> {
    if !(super::fusable(x) && super::fusable(delta_t) && mask.is_none_or(super::fusable)) {
        return Ok(None);
    }
    let op = DenseUpdateOp { weight: weight.clone(), mask: mask.cloned() };
    Ok(Some(x.contiguous()?.apply_op2(&delta_t.contiguous()?, op)?))
}

#[cfg(test)]
mod tests {
    use super::super::testing::{max_diff, value_and_grads};
    use super::*;
    use crate::fixtures::uniform;
    use crate::linear::matmul_t;

    fn check(with_mask: bool) {
        let w = uniform(&[24, 16], 0.3, 1);
        let weight = LinearWeight::Dense(w.clone());
        let x = uniform(&[2, 3, 16], 1.0, 2);
        let dwt = uniform(&[16, 24], 0.2, 3);
        let mask = with_mask.then(|| (uniform(&[2, 3, 16], 1.0, 4).ge(0.0).unwrap().to_dtype(DType::F32).unwrap() * 2.0).unwrap());
        let g = uniform(&[2, 3, 24], 1.0, 5);
        let fused = |t: &[Tensor]| dense_update_linear(&t[0], &weight, &t[1], mask.as_ref()).unwrap().unwrap();
        let composed = |t: &[Tensor]| {
            let u = match &mask {
                Some(m) => (&t[0] * m).unwrap(),
                None => t[0].clone(),
            };
            (matmul_t(&t[0], &w).unwrap() + u.reshape((6, 16)).unwrap().matmul(&t[1]).unwrap().reshape((2, 3, 24)).unwrap()).unwrap()
        };
        let inputs = [x, dwt];
        let (y, grads) = value_and_grads(&inputs, &g, fused);
        let (y_ref, grads_ref) = value_and_grads(&inputs, &g, composed);
        assert!(max_diff(&y, &y_ref) < 1e-5);
        assert!(max_diff(&grads[0], &grads_ref[0]) < 1e-5, "dx {}", max_diff(&grads[0], &grads_ref[0]));
        assert!(max_diff(&grads[1], &grads_ref[1]) < 1e-5, "dΔWᵀ {}", max_diff(&grads[1], &grads_ref[1]));
    }

    #[test]
    fn with_and_without_dropout_the_values_and_gradients_equal_the_composition() {
        check(true);
        check(false);
    }
}
