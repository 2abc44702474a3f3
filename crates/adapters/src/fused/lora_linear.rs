//! A frozen linear plus its LoRA update, `y = x·W0ᵀ + s·((m⊙x)·Aᵀ)·Bᵀ`, as one node.
//!
//! The composition (dropout product, two low-rank matmuls, the scale, the sum with
//! the frozen product) is six graph nodes whose backward passes each fill and add a
//! `[tokens, out]` or `[tokens, in]` gradient. Here the backward is written out:
//! `h = (m⊙x)·Aᵀ`, `dh = s·g·B`, `dB = s·gᵀ·h`, `dA = dhᵀ·(m⊙x)`,
//! `dx = g·W0 + m⊙(dh·A)`. The frozen weight gets no gradient; an NF4 weight is
//! dequantized in the forward and again in the backward, as in the frozen matmul.

use candle_core::{CpuStorage, CustomOp3, Error, Layout, Result, Shape, Tensor};
use loran_model::cpu_op::{f32_input, fusable};
use loran_model::frozen_matmul::{frozen_input_grad, frozen_product_storage};
use loran_model::linear::{matmul_t, FrozenLinear};

/// The op over `(x [.., in], A [r, in], B [out, r])`.
struct LoraLinearOp {
    base: FrozenLinear,
    scale: f64,
    /// The dropout mask `m` shaped like `x` (`None`: no dropout).
    mask: Option<Tensor>,
}

fn tensor_of(storage: &CpuStorage, layout: &Layout, what: &str) -> Result<Tensor> {
    f32_input("fused-lora", what, storage, layout)
}

impl LoraLinearOp {
    fn dropped(&self, x: &Tensor) -> Result<Tensor> {
        super::masked(x, self.mask.as_ref())
    }
}

impl CustomOp3 for LoraLinearOp {
    fn name(&self) -> &'static str {
        "fused-lora"
    }

    fn cpu_fwd(&self, s1: &CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout, s3: &CpuStorage, l3: &Layout) -> Result<(CpuStorage, Shape)> {
        let (a, b) = (tensor_of(s2, l2, "A")?, tensor_of(s3, l3, "B")?);
        let (base, shape) = frozen_product_storage(&self.base, self.name(), s1, l1)?;
        let CpuStorage::F32(y) = base else {
            return Err(Error::msg("fused-lora: the frozen product is not f32"));
        };
        let x = tensor_of(s1, l1, "input")?;
        // The scale goes on the rank-r product, the sum into the frozen product's values.
        let h = (matmul_t(&self.dropped(&x)?, &a)? * self.scale)?;
        let y = super::add_masked(y, None, &matmul_t(&h, &b)?)?;
        Ok((CpuStorage::F32(y), shape))
    }

    fn bwd(&self, x: &Tensor, a: &Tensor, b: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let (x, a, b) = (x.detach(), a.detach(), b.detach());
        let in_features = a.dim(1)?;
        let out_features = b.dim(0)?;
        let rows = x.elem_count() / in_features.max(1);
        let g = grad.reshape((rows, out_features))?;
        let u = self.dropped(&x)?.reshape((rows, in_features))?;
        let h = (matmul_t(&u, &a)? * self.scale)?;
        let dh = (g.matmul(&b)? * self.scale)?;
        let db = g.t()?.matmul(&h)?;
        let da = dh.t()?.matmul(&u)?;
        let du = dh.matmul(&a)?;
        let gw = frozen_input_grad(&self.base, &g)?.flatten_all()?.to_vec1::<f32>()?;
        let mask = self.mask.as_ref().map(|m| m.reshape((rows, in_features))).transpose()?;
        let dx = super::tensor(super::add_masked(gw, mask.as_ref(), &du)?, x.shape())?;
        Ok((Some(dx), Some(da), Some(db)))
    }
}

/// `x·W0ᵀ + scale·((mask⊙x)·Aᵀ)·Bᵀ` for an f32 CPU `x` as one graph node whose
/// gradients reach `x`, `A` and `B`; `None` when the fused path does not apply (other
/// dtypes or devices), so the caller composes the ops itself.
pub fn lora_linear(x: &Tensor, base: &FrozenLinear, a: &Tensor, b: &Tensor, scale: f64, mask: Option<&Tensor>) -> Result<Option<Tensor>> {
    let all_f32_cpu = [x, a, b].iter().all(|t| fusable(t)) && mask.is_none_or(fusable);
    if !all_f32_cpu {
        return Ok(None);
    }
    let op = LoraLinearOp { base: base.clone(), scale, mask: mask.cloned() };
    Ok(Some(x.contiguous()?.apply_op3(&a.contiguous()?, &b.contiguous()?, op)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::DType;
    use loran_model::bf16_compute::ComputeDtype;
    use loran_model::fixtures::{max_diff, uniform, value_and_grads};
    use loran_model::linear::LinearWeight;
    use loran_model::quant::Nf4Weight;

    fn check(weight: LinearWeight, with_mask: bool) {
        check_in(weight, with_mask, ComputeDtype::F32);
    }

    /// The fused op against a composition whose base term is the layer's own forward
    /// (in `compute`), so both sides multiply the frozen weight the same way.
    fn check_in(weight: LinearWeight, with_mask: bool, compute: ComputeDtype) {
        let w = weight.dense().unwrap().to_dtype(DType::F32).unwrap();
        let mut weight = match weight {
            LinearWeight::Dense(d) => FrozenLinear::new(d),
            LinearWeight::Nf4(q) => FrozenLinear::from_nf4(q),
        };
        weight.set_compute_dtype(compute);
        let (out, inp, r) = (w.dim(0).unwrap(), w.dim(1).unwrap(), 4);
        let x = uniform(&[2, 3, inp], 1.0, 1);
        let (a, b) = (uniform(&[r, inp], 0.3, 2), uniform(&[out, r], 0.3, 3));
        let mask = with_mask.then(|| uniform(&[2, 3, inp], 1.0, 4).ge(0.0).unwrap().to_dtype(DType::F32).unwrap() * 2.0).map(|m| m.unwrap());
        let g = uniform(&[2, 3, out], 1.0, 5);
        let fused = |t: &[Tensor]| lora_linear(&t[0], &weight, &t[1], &t[2], 0.5, mask.as_ref()).unwrap().unwrap();
        let composed = |t: &[Tensor]| {
            let u = match &mask {
                Some(m) => (&t[0] * m).unwrap(),
                None => t[0].clone(),
            };
            let delta = (matmul_t(&matmul_t(&u, &t[1]).unwrap(), &t[2]).unwrap() * 0.5).unwrap();
            let base = match compute {
                ComputeDtype::F32 => matmul_t(&t[0], &w).unwrap(),
                ComputeDtype::Bf16 => weight.forward(&t[0]).unwrap(),
            };
            (base + delta).unwrap()
        };
        let inputs = [x, a, b];
        let (y, grads) = value_and_grads(&inputs, &g, fused);
        let (y_ref, grads_ref) = value_and_grads(&inputs, &g, composed);
        assert!(max_diff(&y, &y_ref) < 1e-5, "values {}", max_diff(&y, &y_ref));
        for (name, (got, want)) in ["x", "A", "B"].iter().zip(grads.iter().zip(&grads_ref)) {
            assert!(max_diff(got, want) < 1e-5, "d{name} differs by {}", max_diff(got, want));
        }
    }

    #[test]
    fn dense_base_with_and_without_dropout_matches_the_composition() {
        check(LinearWeight::Dense(uniform(&[24, 16], 0.3, 7)), true);
        check(LinearWeight::Dense(uniform(&[24, 16], 0.3, 7)), false);
    }

    #[test]
    fn nf4_base_matches_the_composition_over_its_dequantized_weight() {
        let w = uniform(&[24, 64], 0.3, 8);
        check(LinearWeight::Nf4(Nf4Weight::quantize(&w, false).unwrap()), true);
    }

    #[test]
    fn bf16_bases_dense_and_nf4_match_the_composition() {
        use ComputeDtype::Bf16;
        let w = uniform(&[24, 64], 0.3, 9);
        check_in(LinearWeight::Dense(w.clone()), true, Bf16);
        check_in(LinearWeight::Dense(w.clone()), false, Bf16);
        check_in(LinearWeight::Nf4(Nf4Weight::quantize(&w, false).unwrap()), true, Bf16);
    }
}
