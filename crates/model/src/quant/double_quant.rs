//! Double quantization of NF4 statistics (bitsandbytes `compress_statistics=True`).
//!
//! The per-block absmax values lose their mean (`offset`), and the centred values are
//! stored as 8-bit indices into the signed dynamic map, blockwise (256 per block) with
//! one f32 absmax per block. Dequantized: `code2[q] · state2_absmax[j] + offset` (f32).
//!
//! The offset is `mean(absmax)` in f64, rounded to f32. PyTorch computes it with its
//! own f32 reduction, whose summation order can round to a neighbouring f32 (1 ulp
//! away) on long inputs; [`DoubleQuantAbsmax::quantize_with_offset`] accepts the
//! offset from elsewhere (e.g. a bitsandbytes checkpoint) to reproduce it exactly.

use super::dynamic_map::{dequantize_blockwise_8bit, dynamic_map_signed, quantize_blockwise_8bit, DEFAULT_BLOCKSIZE2};

/// NF4 absmax values compressed to 8 bits each plus a few f32 statistics.
#[derive(Debug, Clone, PartialEq)]
pub struct DoubleQuantAbsmax {
    /// One 8-bit index into the signed dynamic map per NF4 block.
    pub absmax_q: Vec<u8>,
    /// The mean of the absmax values, subtracted before quantizing.
    pub offset: f32,
    /// One f32 absmax per block of `blocksize2` centred values.
    pub state2_absmax: Vec<f32>,
    /// Second-level block size (256 in bitsandbytes).
    pub blocksize2: usize,
}

/// `mean(absmax)` computed in f64 and rounded to f32 (0 for an empty slice).
pub fn absmax_offset(absmax: &[f32]) -> f32 {
    if absmax.is_empty() {
        return 0.0;
    }
    (absmax.iter().map(|&v| v as f64).sum::<f64>() / absmax.len() as f64) as f32
}

impl DoubleQuantAbsmax {
    /// Compresses `absmax` with our own offset ([`absmax_offset`]) and blocks of 256.
    pub fn quantize(absmax: &[f32]) -> Self {
        Self::quantize_with_offset(absmax, absmax_offset(absmax))
    }

    /// Compresses `absmax` around a given `offset`, with blocks of 256.
    pub fn quantize_with_offset(absmax: &[f32], offset: f32) -> Self {
        Self::quantize_with(absmax, offset, DEFAULT_BLOCKSIZE2)
    }

    /// Compresses `absmax` around `offset` with second-level blocks of `blocksize2`.
    pub fn quantize_with(absmax: &[f32], offset: f32, blocksize2: usize) -> Self {
        let centred: Vec<f32> = absmax.iter().map(|&a| a - offset).collect();
        let (absmax_q, state2_absmax) = quantize_blockwise_8bit(&centred, dynamic_map_signed(), blocksize2);
        Self { absmax_q, offset, state2_absmax, blocksize2 }
    }

    /// The reconstructed absmax values: `code2[q] · state2_absmax[j] + offset` (f32).
    pub fn dequantize(&self) -> Vec<f32> {
        let mut values = dequantize_blockwise_8bit(&self.absmax_q, &self.state2_absmax, dynamic_map_signed(), self.blocksize2);
        values.iter_mut().for_each(|v| *v += self.offset);
        values
    }

    /// Number of NF4 blocks described.
    pub fn len(&self) -> usize {
        self.absmax_q.len()
    }

    /// True when no block is described.
    pub fn is_empty(&self) -> bool {
        self.absmax_q.is_empty()
    }

    /// Bytes held: the 8-bit indices, the f32 offset and the f32 second-level absmax
    /// (the shared 256-entry codebook is a constant and not counted).
    pub fn storage_bytes(&self) -> usize {
        self.absmax_q.len() + 4 + 4 * self.state2_absmax.len()
    }
}
