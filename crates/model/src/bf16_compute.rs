//! Frozen-weight matmuls in bf16, the split QLoRA and PEFT use under bf16 autocast:
//! the inputs of the frozen products (activations and frozen weights) are rounded to
//! bf16; accumulation, outputs, the residual stream, norms, softmax, adapter weights,
//! their gradients and the optimizer stay f32. The products run on
//! [`loran_kernels`] (AMX-BF16, AVX-512-BF16 or a portable loop, picked at run time),
//! whose results do not depend on the thread count.
//!
//! A dense weight is packed once, on first use, into two layouts (Wᵀ for the forward,
//! W for the input gradient) shared by every clone of the layer. An NF4 weight is
//! dequantized into the packed layout each time it is used and dropped after, as
//! bitsandbytes does, so a quantized model never holds a dense copy.

use candle_core::{DType, Error, Result, Tensor};
use loran_kernels::PackedBf16;
use serde::{Deserialize, Serialize};
use std::sync::OnceLock;

/// The arithmetic of the frozen-weight matmuls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ComputeDtype {
    /// f32 inputs and accumulation (the reference arithmetic).
    #[default]
    F32,
    /// bf16 inputs, f32 accumulation and outputs (QLoRA's `bnb_4bit_compute_dtype=bfloat16`).
    Bf16,
}

impl ComputeDtype {
    /// The YAML spelling.
    pub fn name(self) -> &'static str {
        match self {
            ComputeDtype::F32 => "f32",
            ComputeDtype::Bf16 => "bf16",
        }
    }

    /// Whether this is the default, f32 (configs leave it out of their hash then).
    pub fn is_f32(&self) -> bool {
        *self == ComputeDtype::F32
    }
}

impl std::fmt::Display for ComputeDtype {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

fn kernel_error(e: loran_kernels::KernelError) -> Error {
    Error::msg(format!("bf16 matmul: {e}"))
}

/// The packed layouts of one dense `[out, in]` weight, made on first use.
#[derive(Debug, Default)]
pub struct Bf16Packs {
    forward: OnceLock<PackedBf16>,
    backward: OnceLock<PackedBf16>,
}

impl Bf16Packs {
    /// Wᵀ packed for `x·Wᵀ` (made now if needed).
    pub fn forward(&self, w: &Tensor) -> Result<&PackedBf16> {
        if let Some(p) = self.forward.get() {
            return Ok(p);
        }
        let packed = pack_weight(w, true)?;
        Ok(self.forward.get_or_init(|| packed))
    }

    /// W packed for `g·W` (made now if needed).
    pub fn backward(&self, w: &Tensor) -> Result<&PackedBf16> {
        if let Some(p) = self.backward.get() {
            return Ok(p);
        }
        let packed = pack_weight(w, false)?;
        Ok(self.backward.get_or_init(|| packed))
    }

    /// Bytes held by the layouts made so far.
    pub fn bytes(&self) -> usize {
        self.forward.get().map_or(0, PackedBf16::bytes) + self.backward.get().map_or(0, PackedBf16::bytes)
    }
}

/// A `[out, in]` weight (f32, bf16 or f16) packed as Wᵀ (`for_forward`) or as W.
pub fn pack_weight(w: &Tensor, for_forward: bool) -> Result<PackedBf16> {
    let (out, inp) = w.dims2()?;
    let packed = if w.dtype() == DType::BF16 {
        let v = w.flatten_all()?.to_vec1::<half::bf16>()?;
        if for_forward {
            PackedBf16::pack_transposed_bf16(&v, out, inp)
        } else {
            PackedBf16::pack_bf16(&v, out, inp)
        }
    } else {
        let v = w.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?;
        if for_forward {
            PackedBf16::pack_transposed(&v, out, inp)
        } else {
            PackedBf16::pack(&v, out, inp)
        }
    };
    packed.map_err(kernel_error)
}

/// `a [rows, k] · B` as a `[rows, n]` f32 vector, `a` rounded to bf16 on the way in.
pub fn product(a: &[f32], rows: usize, b: &PackedBf16) -> Result<Vec<f32>> {
    let mut out = vec![0f32; rows * b.n()];
    loran_kernels::matmul(a, rows, b, &mut out).map_err(kernel_error)?;
    Ok(out)
}

/// [`product`] on a tensor of any rank whose last dim is `k`: `[.., k] ↦ [.., n]`.
pub fn product_tensor(x: &Tensor, b: &PackedBf16) -> Result<Tensor> {
    let dims = x.dims();
    let k = *dims.last().ok_or_else(|| Error::msg("bf16 matmul: a scalar input"))?;
    if k != b.k() {
        return Err(Error::msg(format!("bf16 matmul: input {dims:?} against a packed [{}, {}] operand", b.k(), b.n())));
    }
    let rows = x.elem_count() / k.max(1);
    let a = x.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?;
    let mut out_dims = dims.to_vec();
    *out_dims.last_mut().expect("checked above") = b.n();
    Tensor::from_vec(product(&a, rows, b)?, out_dims, x.device())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::uniform;

    fn round(t: &Tensor) -> Tensor {
        t.to_dtype(DType::BF16).unwrap().to_dtype(DType::F64).unwrap()
    }

    /// Against an f64 product of the same bf16-rounded inputs: f32 accumulation of k
    /// products of magnitude ≤ |a||b| errs by at most about k·2⁻²⁴·Σ|a·b|.
    #[test]
    fn both_layouts_equal_the_f64_product_of_the_rounded_inputs() {
        let (rows, inp, out) = (7, 45, 19);
        let w = uniform(&[out, inp], 0.5, 1);
        let x = uniform(&[rows, inp], 1.0, 2);
        let g = uniform(&[rows, out], 1.0, 3);
        let packs = Bf16Packs::default();
        let y = product_tensor(&x, packs.forward(&w).unwrap()).unwrap();
        let dx = product_tensor(&g, packs.backward(&w).unwrap()).unwrap();
        let y_ref = round(&x).matmul(&round(&w).t().unwrap()).unwrap();
        let dx_ref = round(&g).matmul(&round(&w)).unwrap();
        for (got, want, k) in [(y, y_ref, inp), (dx, dx_ref, out)] {
            let err = (got.to_dtype(DType::F64).unwrap() - &want).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f64>().unwrap();
            let bound = k as f64 * 2f64.powi(-24) * 0.5 * k as f64;
            assert!(err <= bound, "error {err} over the bound {bound}");
        }
        assert!(packs.bytes() > 0);
        // Not the f32 product: the inputs really were rounded.
        let f32_y = x.matmul(&w.t().unwrap()).unwrap();
        let again = product_tensor(&x, packs.forward(&w).unwrap()).unwrap();
        assert!((f32_y - again).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap() > 1e-4);
    }

    #[test]
    fn a_bf16_weight_packs_without_rounding_again() {
        let w = uniform(&[9, 33], 0.5, 4);
        let wb = w.to_dtype(DType::BF16).unwrap();
        let (a, b) = (pack_weight(&w, true).unwrap(), pack_weight(&wb, true).unwrap());
        assert_eq!(a.unpack(), b.unpack());
        assert_eq!((a.k(), a.n()), (33, 9));
    }
}
