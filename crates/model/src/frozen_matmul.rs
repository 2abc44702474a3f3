//! `x·Wᵀ` for a frozen `W` inside an autograd graph, with a backward that
//! computes only the input's gradient.
//!
//! candle's matmul backward always computes both operands' gradients and keeps
//! them in the gradient store, so a frozen weight would cost an `[out, in]`
//! gradient matmul and its memory in every step. This op's backward is
//! `dx = g·W` alone. For an NF4 weight it also follows bitsandbytes' 4-bit
//! matmul: the forward dequantizes W, multiplies and drops it, and the backward
//! dequantizes again, so the graph holds the packed codes, never an f32 copy.
//!
//! This is also the seam to the adapters crate: its fused nodes (a frozen linear
//! with its LoRA or LoRAN update, `loran_adapters::fused`) own the adapter math and
//! take the frozen terms from [`frozen_product_storage`], [`frozen_product`] and
//! [`frozen_input_grad`], so a frozen weight is multiplied one way everywhere
//! (f32, bf16 packs, NF4 dequantized per use).

use crate::bf16_compute::{pack_weight, product_tensor};
use crate::cpu_op::{f32_input, f32_output};
use crate::linear::{matmul_t, FrozenCompute, FrozenLinear, LinearWeight};
use candle_core::backend::BackendStorage;
use candle_core::{CpuStorage, CustomOp1, DType, Error, Layout, Result, Shape, Tensor};

/// The op: `x [.., in] ↦ x·Wᵀ [.., out]` (the layer's bias is added outside).
struct FrozenMatMul {
    linear: FrozenLinear,
}

impl CustomOp1 for FrozenMatMul {
    fn name(&self) -> &'static str {
        "frozen-matmul"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        frozen_product_storage(&self.linear, self.name(), storage, layout)
    }

    fn bwd(&self, _arg: &Tensor, _res: &Tensor, grad_res: &Tensor) -> Result<Option<Tensor>> {
        Ok(Some(frozen_input_grad(&self.linear, grad_res)?))
    }
}

/// [`frozen_product`] of a custom op's f32 input `x [.., in]`, as that op's output
/// storage `[.., out]`. A contiguous input to a dense f32 layer goes straight from
/// its storage into the result with no copy of either; `op` names the caller in errors.
pub fn frozen_product_storage(linear: &FrozenLinear, op: &str, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
    if let (FrozenCompute::F32, LinearWeight::Dense(w)) = (linear.compute(), linear.storage()) {
        if w.dtype() == DType::F32 && layout.is_contiguous() {
            return dense_f32_forward(storage, layout, w);
        }
    }
    let x = f32_input(op, "input", storage, layout)?;
    f32_output(&frozen_product(linear, &x)?)
}

/// `x·Wᵀ` of a frozen layer outside any graph, `[.., in] ↦ [.., out]`, in the layer's
/// compute dtype: f32 (an NF4 weight dequantized, a 16-bit one widened by row blocks)
/// or bf16 through the packed kernels.
pub fn frozen_product(linear: &FrozenLinear, x: &Tensor) -> Result<Tensor> {
    match (linear.compute(), linear.storage()) {
        (FrozenCompute::F32, LinearWeight::Dense(w)) => matmul_t_upcast(x, w),
        (FrozenCompute::F32, nf4) => matmul_t(x, &nf4.dense()?),
        (FrozenCompute::Bf16(packs), LinearWeight::Dense(w)) => product_tensor(x, packs.forward(w)?),
        // Dequantized into the packed layout for this product only (bitsandbytes' way).
        (FrozenCompute::Bf16(_), nf4) => product_tensor(x, &pack_weight(&nf4.dense()?, true)?),
    }
}

/// `g·W`, the input gradient of a frozen layer, `[.., out] ↦ [.., in]`, in the layer's
/// compute dtype (see [`frozen_product`]).
pub fn frozen_input_grad(linear: &FrozenLinear, g: &Tensor) -> Result<Tensor> {
    match linear.compute() {
        FrozenCompute::Bf16(packs) => match linear.storage() {
            LinearWeight::Dense(w) => product_tensor(g, packs.backward(w)?),
            nf4 => product_tensor(g, &pack_weight(&nf4.dense()?, false)?),
        },
        FrozenCompute::F32 => f32_input_grad(&linear.storage().dense()?, g),
    }
}

/// `g·W` in f32; a 16-bit weight is widened a block of rows at a time:
/// dx = Σ g[:, rows]·W[rows].
fn f32_input_grad(w: &Tensor, grad_res: &Tensor) -> Result<Tensor> {
    let dims = grad_res.dims();
    let out_features = dims[dims.len() - 1];
    let rows = grad_res.elem_count() / out_features.max(1);
    let g = grad_res.reshape((rows, out_features))?;
    let dx = if w.dtype() == g.dtype() {
        g.matmul(w)?
    } else {
        let mut dx: Option<Tensor> = None;
        for (start, len) in row_blocks(w.dim(0)?) {
            let part = g.narrow(1, start, len)?.contiguous()?.matmul(&w.narrow(0, start, len)?.to_dtype(g.dtype())?)?;
            dx = Some(match dx {
                Some(sum) => (sum + part)?,
                None => part,
            });
        }
        dx.ok_or_else(|| Error::msg("frozen-matmul: the weight has no rows"))?
    };
    let mut in_dims = dims.to_vec();
    *in_dims.last_mut().expect("a gradient has at least one dim") = w.dim(1)?;
    dx.reshape(in_dims)
}

/// `x·Wᵀ` straight from the op's input storage into the output storage: no copy of
/// the input and none of the result (each frozen linear of a training forward).
fn dense_f32_forward(storage: &CpuStorage, layout: &Layout, w: &Tensor) -> Result<(CpuStorage, Shape)> {
    let dims = layout.shape().dims();
    let in_features = dims[dims.len() - 1];
    let rows = layout.shape().elem_count() / in_features.max(1);
    let (out_features, w_in) = w.dims2()?;
    if w_in != in_features {
        return Err(Error::msg(format!("frozen-matmul: input {dims:?} against a [{out_features}, {w_in}] weight")));
    }
    let lhs = Layout::contiguous_with_offset((1, rows, in_features), layout.start_offset());
    let wt = w.t()?;
    let (w_storage, w_layout) = wt.storage_and_layout();
    let candle_core::Storage::Cpu(w_cpu) = &*w_storage else {
        return Err(Error::msg("frozen-matmul: the weight is not on the CPU"));
    };
    let rhs = Layout::new(Shape::from((1, in_features, out_features)), vec![0, w_layout.stride()[0], w_layout.stride()[1]], w_layout.start_offset());
    let y = storage.matmul(w_cpu, (1, rows, out_features, in_features), &lhs, &rhs)?;
    let mut out_dims = dims.to_vec();
    *out_dims.last_mut().expect("an input has at least one dim") = out_features;
    Ok((y, Shape::from(out_dims)))
}

/// Rows of a 16-bit weight widened to f32 at once (8192 × 576 values: 18 MiB).
const UPCAST_ROWS: usize = 8192;

fn row_blocks(rows: usize) -> impl Iterator<Item = (usize, usize)> {
    (0..rows).step_by(UPCAST_ROWS).map(move |start| (start, UPCAST_ROWS.min(rows - start)))
}

/// `x·Wᵀ` where `W` may be stored in a narrower float type than `x` (e.g. a bf16
/// embedding used as the output head): widened a block of rows at a time, so no
/// full-size copy of `W` ever exists.
pub fn matmul_t_upcast(x: &Tensor, w: &Tensor) -> Result<Tensor> {
    if w.dtype() == x.dtype() {
        return matmul_t(x, w);
    }
    let parts = row_blocks(w.dim(0)?)
        .map(|(start, len)| matmul_t(x, &w.narrow(0, start, len)?.to_dtype(x.dtype())?))
        .collect::<Result<Vec<_>>>()?;
    Tensor::cat(&parts, candle_core::D::Minus1)
}

/// `x·Wᵀ` for a frozen layer: through the input-gradient-only op when `x` is part of
/// an f32 graph on the CPU, else [`frozen_product`].
pub fn frozen_matmul_t(x: &Tensor, linear: &FrozenLinear) -> Result<Tensor> {
    let weight = linear.storage();
    let dense = matches!(weight, LinearWeight::Dense(w) if matches!(w.dtype(), DType::F32 | DType::BF16 | DType::F16));
    let nf4 = matches!(weight, LinearWeight::Nf4(_));
    let cpu_f32 = x.dtype() == DType::F32 && x.device().is_cpu();
    if x.track_op() && cpu_f32 && (dense || nf4) {
        return x.contiguous()?.apply_op1(FrozenMatMul { linear: linear.clone() });
    }
    if !cpu_f32 {
        // Elsewhere (a CUDA build, a 16-bit input) the plain product in x's dtype.
        return matmul_t_upcast(x, &weight.dense()?);
    }
    frozen_product(linear, x)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quant::Nf4Weight;
    use candle_core::{Device, Var};

    fn check(weight: LinearWeight) {
        let dev = Device::Cpu;
        let w = weight.dense().unwrap().to_dtype(DType::F32).unwrap();
        let weight = match weight {
            LinearWeight::Dense(d) => FrozenLinear::new(d),
            LinearWeight::Nf4(q) => FrozenLinear::from_nf4(q),
        };
        let out = w.dim(0).unwrap();
        let x = Var::from_tensor(&Tensor::randn(0f32, 1.0, (2, 5, 64), &dev).unwrap()).unwrap();
        let g = Tensor::randn(0f32, 1.0, (2, 5, out), &dev).unwrap();
        let y = frozen_matmul_t(x.as_tensor(), &weight).unwrap();
        let reference = matmul_t(x.as_tensor(), &w).unwrap();
        let diff = (&y - &reference).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap();
        assert_eq!(diff, 0.0);
        let grads = (&y * &g).unwrap().sum_all().unwrap().backward().unwrap();
        let dx = grads.get(x.as_tensor()).unwrap();
        let expected = g.reshape((10, out)).unwrap().matmul(&w).unwrap().reshape((2, 5, 64)).unwrap();
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
    fn a_bf16_head_widened_by_blocks_equals_the_widened_matmul() {
        // More rows than one widening block, so the forward concatenates and the backward sums.
        let w = Tensor::randn(0f32, 0.05, (UPCAST_ROWS + 100, 64), &Device::Cpu).unwrap();
        check(LinearWeight::Dense(w.to_dtype(DType::BF16).unwrap()));
        let x = Tensor::randn(0f32, 1.0, (3, 64), &Device::Cpu).unwrap();
        let wide = w.to_dtype(DType::BF16).unwrap().to_dtype(DType::F32).unwrap();
        let diff = (matmul_t_upcast(&x, &w.to_dtype(DType::BF16).unwrap()).unwrap() - matmul_t(&x, &wide).unwrap())
            .unwrap()
            .abs()
            .unwrap()
            .max_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert_eq!(diff, 0.0);
    }

    #[test]
    fn nf4_values_and_input_gradient_equal_the_dequantized_matmul() {
        let w = Tensor::randn(0f32, 0.05, (48, 64), &Device::Cpu).unwrap();
        check(LinearWeight::Nf4(Nf4Weight::quantize(&w, false).unwrap()));
    }
}
