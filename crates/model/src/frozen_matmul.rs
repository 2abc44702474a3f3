//! `x·Wᵀ` for a frozen `W` inside an autograd graph, with a backward that
//! computes only the input's gradient.
//!
//! candle's matmul backward always computes both operands' gradients and keeps
//! them in the gradient store, so a frozen weight would cost an `[out, in]`
//! gradient matmul and its memory in every step. This op's backward is
//! `dx = g·W` alone. For an NF4 weight it also follows bitsandbytes' 4-bit
//! matmul: the forward dequantizes W, multiplies and drops it, and the backward
//! dequantizes again, so the graph holds the packed codes, never an f32 copy.

use crate::linear::{matmul_t, LinearWeight};
use candle_core::{CpuStorage, CustomOp1, DType, Error, Layout, Result, Shape, Tensor};

/// The op: `x [.., in] ↦ x·Wᵀ [.., out]`.
struct FrozenMatMul {
    weight: LinearWeight,
}

impl CustomOp1 for FrozenMatMul {
    fn name(&self) -> &'static str {
        "frozen-matmul"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let CpuStorage::F32(data) = storage else {
            return Err(Error::msg("frozen-matmul: the input must be f32"));
        };
        let Some((start, end)) = layout.contiguous_offsets() else {
            return Err(Error::msg("frozen-matmul: the input must be contiguous"));
        };
        let w = self.weight.dense()?;
        let x = Tensor::from_slice(&data[start..end], layout.shape(), w.device())?;
        let y = matmul_t(&x, &w)?;
        let shape = y.shape().clone();
        Ok((CpuStorage::F32(y.flatten_all()?.to_vec1::<f32>()?), shape))
    }

    fn bwd(&self, _arg: &Tensor, _res: &Tensor, grad_res: &Tensor) -> Result<Option<Tensor>> {
        let w = self.weight.dense()?;
        let dims = grad_res.dims();
        let out_features = dims[dims.len() - 1];
        let rows = grad_res.elem_count() / out_features.max(1);
        let dx = grad_res.reshape((rows, out_features))?.matmul(&w)?;
        let mut in_dims = dims.to_vec();
        *in_dims.last_mut().expect("a gradient has at least one dim") = w.dim(1)?;
        Ok(Some(dx.reshape(in_dims)?))
    }
}

/// `x·Wᵀ` for a frozen `W`: through the input-gradient-only op when `x` is part
/// of an f32 graph on the CPU, else a plain matmul (dequantizing NF4 first).
pub fn frozen_matmul_t(x: &Tensor, weight: &LinearWeight) -> Result<Tensor> {
    let dense = matches!(weight, LinearWeight::Dense(w) if w.dtype() == DType::F32);
    let nf4 = matches!(weight, LinearWeight::Nf4(_));
    if x.track_op() && x.dtype() == DType::F32 && x.device().is_cpu() && (dense || nf4) {
        return x.contiguous()?.apply_op1(FrozenMatMul { weight: weight.clone() });
    }
    let w = weight.dense()?;
    let w = if w.dtype() == x.dtype() { w } else { w.to_dtype(x.dtype())? };
    matmul_t(x, &w)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quant::Nf4Weight;
    use candle_core::{Device, Var};

    fn check(weight: LinearWeight) {
        let dev = Device::Cpu;
        let w = weight.dense().unwrap();
        let x = Var::from_tensor(&Tensor::randn(0f32, 1.0, (2, 5, 64), &dev).unwrap()).unwrap();
        let g = Tensor::randn(0f32, 1.0, (2, 5, 48), &dev).unwrap();
        let y = frozen_matmul_t(x.as_tensor(), &weight).unwrap();
        let reference = matmul_t(x.as_tensor(), &w).unwrap();
        let diff = (&y - &reference).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap();
        assert_eq!(diff, 0.0);
        let grads = (&y * &g).unwrap().sum_all().unwrap().backward().unwrap();
        let dx = grads.get(x.as_tensor()).unwrap();
        let expected = g.reshape((10, 48)).unwrap().matmul(&w).unwrap().reshape((2, 5, 64)).unwrap();
        let diff = (dx - expected).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap();
        assert!(diff < 1e-5, "{diff}");
        // Only x gets a gradient: nothing is stored for the frozen weight.
        assert!(grads.get(&w).is_none());
        assert!(grads.get_ids().count() <= 4, "{}", grads.get_ids().count());
    }

    #[test]
    fn dense_values_and_input_gradient_equal_the_plain_matmul() {
        check(LinearWeight::Dense(Tensor::randn(0f32, 0.05, (48, 64), &Device::Cpu).unwrap()));
    }

    #[test]
    fn nf4_values_and_input_gradient_equal_the_dequantized_matmul() {
        let w = Tensor::randn(0f32, 0.05, (48, 64), &Device::Cpu).unwrap();
        check(LinearWeight::Nf4(Nf4Weight::quantize(&w, false).unwrap()));
    }
}
