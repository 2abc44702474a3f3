//! A frozen linear plus a dense weight update, `y = x·W0ᵀ + (m⊙x)·ΔWᵀ`, as one node
//! (LoRAN's forward, where `ΔW = s·f(B·A)` is formed once per forward).
//!
//! The backward is `dx = g·W0 + m⊙(g·ΔW)` and `dΔWᵀ = (m⊙x)ᵀ·g`; without dropout the
//! forward and the input gradient each take one matmul against `W0 + ΔW` instead of
//! two. `ΔWᵀ` stays in candle's graph, so the gradient reaches A and B through `f`.
//!
//! When the frozen products run in bf16, W0 and ΔW are never summed: `W0 + ΔW` in bf16
//! would round away a small update (LoRAN-Sinter's ripple is ~5e-5 of a weight), so
//! the frozen term goes through the bf16 kernels and the update term stays f32.

use candle_core::{CpuStorage, CustomOp2, DType, Error, Layout, Result, Shape, Tensor};
use loran_model::cpu_op::{f32_input, f32_output, fusable};
use loran_model::frozen_matmul::{frozen_input_grad, frozen_product};
use loran_model::linear::{matmul_t, FrozenCompute, FrozenLinear};

/// The op over `(x [.., in], ΔWᵀ [in, out])`.
struct DenseUpdateOp {
    base: FrozenLinear,
    mask: Option<Tensor>,
}

impl DenseUpdateOp {
    /// `W0 + ΔW` `[out, in]` (f32), laid out as `W0`: with `ΔW = 0` every product
    /// below is bit-identical to the frozen layer's own.
    fn merged(&self, dwt: &Tensor) -> Result<Tensor> {
        self.base.storage().dense()?.to_dtype(DType::F32)? + dwt.t()?
    }

    /// One matmul against `W0 + ΔW` (f32 compute, no dropout) rather than two.
    fn merges(&self) -> bool {
        self.mask.is_none() && matches!(self.base.compute(), FrozenCompute::F32)
    }
}

impl CustomOp2 for DenseUpdateOp {
    fn name(&self) -> &'static str {
        "fused-dense-update"
    }

    fn cpu_fwd(&self, s1: &CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = f32_input(self.name(), "input", s1, l1)?;
        let dwt = f32_input(self.name(), "update", s2, l2)?;
        let (in_features, out_features) = dwt.dims2()?;
        let rows = x.elem_count() / in_features.max(1);
        let x2 = x.reshape((rows, in_features))?;
        let y = if self.merges() {
            matmul_t(&x2, &self.merged(&dwt)?)?
        } else {
            let base = frozen_product(&self.base, &x2)?;
            let u = match &self.mask {
                Some(m) => (&x2 * m.reshape((rows, in_features))?)?,
                None => x2.clone(),
            };
            (base + u.matmul(&dwt)?)?
        };
        let mut dims = x.dims().to_vec();
        *dims.last_mut().ok_or_else(|| Error::msg("fused-dense-update: a scalar input"))? = out_features;
        f32_output(&y.reshape(dims)?)
    }

    fn bwd(&self, x: &Tensor, dwt: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let (x, dwt) = (x.detach(), dwt.detach());
        let (in_features, out_features) = dwt.dims2()?;
        let rows = x.elem_count() / in_features.max(1);
        let g = grad.reshape((rows, out_features))?;
        let x2 = x.reshape((rows, in_features))?;
        let (dx, u) = if self.merges() {
            (g.matmul(&self.merged(&dwt)?)?, x2)
        } else {
            let frozen = frozen_input_grad(&self.base, &g)?;
            let update = matmul_t(&g, &dwt)?;
            match &self.mask {
                Some(m) => {
                    let m = m.reshape((rows, in_features))?;
                    ((frozen + (update * &m)?)?, (x2 * m)?)
                }
                None => ((frozen + update)?, x2),
            }
        };
        let d_dwt = u.t()?.matmul(&g)?;
        Ok((Some(dx.reshape(x.shape())?), Some(d_dwt)))
    }
}

/// `x·W0ᵀ + (mask⊙x)·ΔWᵀ` for f32 CPU tensors as one graph node with gradients for
/// `x` and `ΔWᵀ` (`delta_t`, `[in, out]`); `None` elsewhere (the caller composes).
pub fn dense_update_linear(x: &Tensor, base: &FrozenLinear, delta_t: &Tensor, mask: Option<&Tensor>) -> Result<Option<Tensor>> {
    if !(fusable(x) && fusable(delta_t) && mask.is_none_or(fusable)) {
        return Ok(None);
    }
    let op = DenseUpdateOp { base: base.clone(), mask: mask.cloned() };
    Ok(Some(x.contiguous()?.apply_op2(&delta_t.contiguous()?, op)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use loran_model::bf16_compute::ComputeDtype;
    use loran_model::fixtures::{max_diff, uniform, value_and_grads};

    fn check(with_mask: bool) {
        check_in(with_mask, ComputeDtype::F32);
    }

    /// The fused op against a composition whose frozen term is the layer's own forward.
    fn check_in(with_mask: bool, compute: ComputeDtype) {
        let w = uniform(&[24, 16], 0.3, 1);
        let mut weight = FrozenLinear::new(w.clone());
        weight.set_compute_dtype(compute);
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
            let base = match compute {
                ComputeDtype::F32 => matmul_t(&t[0], &w).unwrap(),
                ComputeDtype::Bf16 => weight.forward(&t[0]).unwrap(),
            };
            (base + u.reshape((6, 16)).unwrap().matmul(&t[1]).unwrap().reshape((2, 3, 24)).unwrap()).unwrap()
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

    #[test]
    fn in_bf16_the_update_term_stays_f32() {
        check_in(true, ComputeDtype::Bf16);
        check_in(false, ComputeDtype::Bf16);
        // An update far below bf16's resolution of W0 still moves the output by x·ΔWᵀ.
        let w = uniform(&[24, 16], 0.3, 1);
        let mut base = FrozenLinear::new(w);
        base.set_compute_dtype(ComputeDtype::Bf16);
        let x = uniform(&[5, 16], 1.0, 2);
        let dwt = (uniform(&[16, 24], 1.0, 3) * 5e-5).unwrap();
        let with = dense_update_linear(&x, &base, &dwt, None).unwrap().unwrap();
        let moved = (with - base.forward(&x).unwrap()).unwrap();
        let update = x.matmul(&dwt).unwrap();
        // Outputs are O(1), so the subtraction costs a few f32 ulps (~1e-7 each); the
        // update is ~1e-4, under bf16's step for these weights (~1e-3), and survives.
        let largest = update.abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap();
        assert!(largest > 5e-5, "{largest}");
        assert!(max_diff(&moved, &update) < 2e-6, "{}", max_diff(&moved, &update));
    }
}
