//! A frozen weight stored as packed NF4 codes, dequantized on demand.

use super::double_quant::DoubleQuantAbsmax;
use super::nf4::{self, DEFAULT_BLOCKSIZE, NF4_CODE};
use candle_core::{DType, Device, Result, Shape, Tensor};
use rayon::prelude::*;
use std::sync::{Arc, OnceLock};

/// The per-block scales of an NF4 weight: plain f32, or double-quantized.
#[derive(Debug, Clone, PartialEq)]
pub enum Nf4Absmax {
    /// One f32 absmax per block (bitsandbytes `compress_statistics=False`).
    F32(Vec<f32>),
    /// 8-bit absmax with second-level statistics (`compress_statistics=True`).
    Double(DoubleQuantAbsmax),
}

impl Nf4Absmax {
    /// The f32 absmax of every block (reconstructed for the double-quantized form).
    pub fn values(&self) -> Vec<f32> {
        match self {
            Nf4Absmax::F32(v) => v.clone(),
            Nf4Absmax::Double(dq) => dq.dequantize(),
        }
    }

    /// Number of blocks.
    pub fn len(&self) -> usize {
        match self {
            Nf4Absmax::F32(v) => v.len(),
            Nf4Absmax::Double(dq) => dq.len(),
        }
    }

    /// True when there are no blocks.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes held by the statistics.
    pub fn storage_bytes(&self) -> usize {
        match self {
            Nf4Absmax::F32(v) => 4 * v.len(),
            Nf4Absmax::Double(dq) => dq.storage_bytes(),
        }
    }
}

/// A tensor quantized to NF4: packed codes (two per byte, high nibble first, over the
/// row-major flattening) plus per-block statistics. Cloning shares the storage.
#[derive(Debug, Clone)]
pub struct Nf4Weight {
    shape: Shape,
    blocksize: usize,
    packed: Arc<[u8]>,
    absmax: Arc<Nf4Absmax>,
    device: Device,
}

/// Byte → (high-nibble level, low-nibble level).
fn byte_lut() -> &'static [(f32, f32); 256] {
    static LUT: OnceLock<[(f32, f32); 256]> = OnceLock::new();
    LUT.get_or_init(|| std::array::from_fn(|b| (NF4_CODE[b >> 4], NF4_CODE[b & 0x0f])))
}

/// Blocks handed to one rayon task when dequantizing.
const BLOCKS_PER_TASK: usize = 64;

impl Nf4Weight {
    /// Quantizes `weight` (any shape, any float dtype; read as f32) in blocks of 64,
    /// double-quantizing the absmax values when `double_quant` is set.
    pub fn quantize(weight: &Tensor, double_quant: bool) -> Result<Self> {
        Self::quantize_with(weight, DEFAULT_BLOCKSIZE, double_quant)
    }

    /// As [`Nf4Weight::quantize`] with a chosen (even, non-zero) block size.
    ///
    /// Errors on a non-finite value, naming its position.
    pub fn quantize_with(weight: &Tensor, blocksize: usize, double_quant: bool) -> Result<Self> {
        check_blocksize(blocksize)?;
        let values = weight.flatten_all()?.to_dtype(DType::F32)?.to_vec1::<f32>()?;
        if let Some(i) = values.iter().position(|v| !v.is_finite()) {
            return Err(msg(format!(
                "weight has a non-finite value ({}) at {:?}; NF4 cannot represent it",
                values[i],
                unravel(i, weight.dims())
            )));
        }
        let (packed, absmax) = nf4::quantize(&values, blocksize);
        let absmax = if double_quant {
            Nf4Absmax::Double(DoubleQuantAbsmax::quantize(&absmax))
        } else {
            Nf4Absmax::F32(absmax)
        };
        Self::from_parts(weight.shape().clone(), blocksize, packed, absmax, weight.device().clone())
    }

    /// Assembles a weight from stored parts (e.g. a bitsandbytes state dict), checking sizes.
    pub fn from_parts(shape: Shape, blocksize: usize, packed: Vec<u8>, absmax: Nf4Absmax, device: Device) -> Result<Self> {
        check_blocksize(blocksize)?;
        let n = shape.elem_count();
        if packed.len() != n.div_ceil(2) {
            return Err(msg(format!("NF4 weight {shape:?}: {} packed bytes, expected {}", packed.len(), n.div_ceil(2))));
        }
        if absmax.len() != nf4::num_blocks(n, blocksize) {
            let expected = nf4::num_blocks(n, blocksize);
            return Err(msg(format!("NF4 weight {shape:?}: {} absmax values, expected {expected}", absmax.len())));
        }
        Ok(Self { shape, blocksize, packed: packed.into(), absmax: Arc::new(absmax), device })
    }

    /// The logical shape.
    pub fn shape(&self) -> &Shape {
        &self.shape
    }

    /// The logical dimensions.
    pub fn dims(&self) -> &[usize] {
        self.shape.dims()
    }

    /// Number of quantized values.
    pub fn elem_count(&self) -> usize {
        self.shape.elem_count()
    }

    /// Values per absmax block.
    pub fn blocksize(&self) -> usize {
        self.blocksize
    }

    /// The packed codes: byte k = `(code[2k] << 4) | code[2k+1]`.
    pub fn packed(&self) -> &[u8] {
        &self.packed
    }

    /// The per-block statistics as stored.
    pub fn absmax(&self) -> &Nf4Absmax {
        &self.absmax
    }

    /// Whether the statistics are double-quantized.
    pub fn is_double_quant(&self) -> bool {
        matches!(*self.absmax, Nf4Absmax::Double(_))
    }

    /// The device dequantized tensors are created on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Bytes held: packed codes plus statistics (the constant codebooks are not counted).
    pub fn storage_bytes(&self) -> usize {
        self.packed.len() + self.absmax.storage_bytes()
    }

    /// Storage bits per quantized value.
    pub fn bits_per_param(&self) -> f64 {
        8.0 * self.storage_bytes() as f64 / self.elem_count().max(1) as f64
    }

    /// The dequantized values, row-major: `NF4_CODE[code] · absmax[block]` in f32,
    /// bit-identical to bitsandbytes. Blocks are processed in parallel.
    pub fn dequantize_vec(&self) -> Vec<f32> {
        let n = self.elem_count();
        let absmax = self.absmax.values();
        let bs = self.blocksize;
        let lut = byte_lut();
        let mut out = vec![0f32; n];
        out.par_chunks_mut(bs * BLOCKS_PER_TASK)
            .zip(self.packed.par_chunks(bs / 2 * BLOCKS_PER_TASK))
            .zip(absmax.par_chunks(BLOCKS_PER_TASK))
            .for_each(|((out, packed), absmax)| {
                for ((out, packed), &am) in out.chunks_mut(bs).zip(packed.chunks(bs / 2)).zip(absmax) {
                    let mut pairs = out.chunks_exact_mut(2);
                    for (pair, &byte) in (&mut pairs).zip(packed) {
                        let (hi, lo) = lut[byte as usize];
                        pair[0] = hi * am;
                        pair[1] = lo * am;
                    }
                    if let [last] = pairs.into_remainder() {
                        *last = lut[packed[packed.len() - 1] as usize].0 * am;
                    }
                }
            });
        out
    }

    /// The dequantized f32 tensor, with the original shape, on the original device.
    pub fn dequantize(&self) -> Result<Tensor> {
        Tensor::from_vec(self.dequantize_vec(), self.shape.clone(), &self.device)
    }
}

/// A one-line error without the backtrace `bail!` attaches under `RUST_BACKTRACE`.
pub(crate) fn msg(text: String) -> candle_core::Error {
    candle_core::Error::Msg(text)
}

fn check_blocksize(blocksize: usize) -> Result<()> {
    if blocksize == 0 || !blocksize.is_multiple_of(2) {
        return Err(msg(format!("NF4 blocksize must be even and positive, got {blocksize}")));
    }
    Ok(())
}

/// The multi-index of flat position `i` in a row-major tensor of `dims`.
fn unravel(mut i: usize, dims: &[usize]) -> Vec<usize> {
    let mut idx = vec![0; dims.len()];
    for (slot, &d) in idx.iter_mut().zip(dims).rev() {
        *slot = i % d.max(1);
        i /= d.max(1);
    }
    idx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_dequant_equals_the_reference_path_for_odd_and_partial_sizes() {
        for (n, bs) in [(1usize, 64usize), (63, 64), (101, 64), (64 * 70 + 3, 64), (1000, 128), (10, 2)] {
            let w: Vec<f32> = (0..n).map(|i| ((i * 7919 % 1000) as f32 - 500.0) / 333.0).collect();
            let t = Tensor::from_vec(w.clone(), n, &Device::Cpu).unwrap();
            let q = Nf4Weight::quantize_with(&t, bs, false).unwrap();
            let (packed, absmax) = nf4::quantize(&w, bs);
            let reference = nf4::dequantize(&packed, &absmax, n, bs);
            let fast = q.dequantize_vec();
            assert_eq!(fast.len(), n);
            assert!(fast.iter().zip(&reference).all(|(a, b)| a.to_bits() == b.to_bits()), "n={n} bs={bs}");
        }
    }

    #[test]
    fn non_finite_values_and_bad_blocksizes_are_named() {
        let t = Tensor::new(&[[1f32, 2.0], [f32::NAN, 0.0]], &Device::Cpu).unwrap();
        let err = Nf4Weight::quantize(&t, false).unwrap_err().to_string();
        assert!(err.contains("NaN") && err.contains("[1, 0]"), "{err}");
        let t = Tensor::new(&[1f32, 2.0], &Device::Cpu).unwrap();
        let err = Nf4Weight::quantize_with(&t, 3, false).unwrap_err().to_string();
        assert!(err.contains("blocksize"), "{err}");
    }
}
