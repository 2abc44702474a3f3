//! Blockwise NF4 quantization, bit-exact with bitsandbytes 0.50 on CPU.
//!
//! A flattened f32 tensor is cut into blocks of `blocksize` consecutive values
//! (64 by default). Each block stores its absmax `max |x|` and one 4-bit code per
//! value: the index of the nearest entry of [`NF4_CODE`] to `x / absmax`.
//!
//! The exact arithmetic (checked against `tests/reference/nf4_reference.*`, made by bitsandbytes through `just reference`):
//! - full blocks: `scaled = clamp(x · (1 / max(absmax, 1e-38)), -1, 1)`; the stored
//!   absmax is the raw one, so an all-zero block stores 0 and codes 7 (the zero code);
//! - the last, partial block (when `n` is not a multiple of `blocksize`):
//!   `am = max(absmax, 1e-38)`, `scaled = clamp(x / am, -1, 1)` (a true division),
//!   and `am` itself is stored;
//! - code = number of the 15 f32 midpoints of [`NF4_CODE`] strictly below `scaled`
//!   (a value equal to a midpoint takes the lower code);
//! - two codes per byte, the first in the high nibble; an odd count pads with code 7;
//! - dequantization is `NF4_CODE[code] · absmax[block]` in f32.

/// The 16 NF4 levels of bitsandbytes (normal-float quantiles of N(0, 1) scaled to [-1, 1]).
///
/// Written as bitsandbytes prints them (the f64 repr of each f32 value), so every
/// literal rounds to exactly the reference f32.
#[allow(clippy::excessive_precision)]
pub const NF4_CODE: [f32; 16] = [
    -1.0,
    -0.696_192_800_998_687_7,
    -0.525_073_051_452_636_7,
    -0.394_917_488_098_144_53,
    -0.284_441_381_692_886_35,
    -0.184_773_430_228_233_34,
    -0.091_050_036_251_544_95,
    0.0,
    0.079_580_299_556_255_34,
    0.160_930_201_411_247_25,
    0.246_112_301_945_686_34,
    0.337_915_241_718_292_24,
    0.440_709_829_330_444_34,
    0.562_617_003_917_694_1,
    0.722_956_836_223_602_3,
    1.0,
];

/// The code of 0.0, used for padding and all-zero blocks.
pub const NF4_ZERO_CODE: u8 = 7;

/// Default NF4 block size (bitsandbytes' and QLoRA's).
pub const DEFAULT_BLOCKSIZE: usize = 64;

/// Smallest absmax bitsandbytes divides by (`clamp(min=1e-38)`).
const ABSMAX_FLOOR: f32 = 1e-38;

/// The 15 decision boundaries `(code[i] + code[i+1]) / 2`, computed in f32.
pub fn nf4_midpoints() -> [f32; 15] {
    std::array::from_fn(|i| (NF4_CODE[i] + NF4_CODE[i + 1]) / 2.0)
}

/// The NF4 code of a value already scaled into [-1, 1]: the number of midpoints
/// strictly below it (`torch.bucketize(right=False)` semantics).
#[inline]
pub fn nf4_index(scaled: f32, midpoints: &[f32; 15]) -> u8 {
    midpoints.iter().take_while(|&&m| m < scaled).count() as u8
}

/// Number of blocks of `blocksize` needed for `n` values.
pub fn num_blocks(n: usize, blocksize: usize) -> usize {
    n.div_ceil(blocksize)
}

/// Per-block absmax and unpacked codes (one `u8` in 0..16 per value).
///
/// Panics if `blocksize` is 0. Non-finite inputs are not rejected here (NaN gets
/// code 0 and poisons its block's absmax); callers check finiteness first.
pub fn quantize_codes(x: &[f32], blocksize: usize) -> (Vec<u8>, Vec<f32>) {
    assert!(blocksize > 0, "NF4 blocksize must be positive");
    let mids = nf4_midpoints();
    let n_blocks = num_blocks(x.len(), blocksize);
    let mut codes = Vec::with_capacity(x.len());
    let mut absmax = Vec::with_capacity(n_blocks);
    let partial_tail = !x.len().is_multiple_of(blocksize);
    for (b, block) in x.chunks(blocksize).enumerate() {
        let am = block.iter().fold(0f32, |m, v| m.max(v.abs()));
        let clamped = am.max(ABSMAX_FLOOR);
        if partial_tail && b == n_blocks - 1 {
            codes.extend(block.iter().map(|&v| nf4_index((v / clamped).clamp(-1.0, 1.0), &mids)));
            absmax.push(clamped);
        } else {
            let inv = 1.0 / clamped;
            codes.extend(block.iter().map(|&v| nf4_index((v * inv).clamp(-1.0, 1.0), &mids)));
            absmax.push(am);
        }
    }
    (codes, absmax)
}

/// Packs codes two per byte, the first in the high nibble; an odd count pads with the zero code.
pub fn pack_codes(codes: &[u8]) -> Vec<u8> {
    codes
        .chunks(2)
        .map(|pair| (pair[0] << 4) | pair.get(1).copied().unwrap_or(NF4_ZERO_CODE))
        .collect()
}

/// Unpacks the first `n` codes of `packed`.
pub fn unpack_codes(packed: &[u8], n: usize) -> Vec<u8> {
    packed.iter().flat_map(|&b| [b >> 4, b & 0x0f]).take(n).collect()
}

/// Quantizes `x` to packed NF4 codes (`ceil(n/2)` bytes) and per-block absmax.
pub fn quantize(x: &[f32], blocksize: usize) -> (Vec<u8>, Vec<f32>) {
    let (codes, absmax) = quantize_codes(x, blocksize);
    (pack_codes(&codes), absmax)
}

/// Dequantizes `n` values: `NF4_CODE[code] · absmax[block]` (f32), one value at a time.
///
/// This is the reference path; [`crate::quant::Nf4Weight`] has the fast one.
pub fn dequantize(packed: &[u8], absmax: &[f32], n: usize, blocksize: usize) -> Vec<f32> {
    unpack_codes(packed, n)
        .into_iter()
        .enumerate()
        .map(|(i, c)| NF4_CODE[c as usize] * absmax[i / blocksize])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_themselves_and_ties_go_down() {
        let mids = nf4_midpoints();
        for (i, &c) in NF4_CODE.iter().enumerate() {
            assert_eq!(nf4_index(c, &mids) as usize, i);
        }
        for (i, &m) in mids.iter().enumerate() {
            assert_eq!(nf4_index(m, &mids) as usize, i, "midpoint {i} takes the lower code");
            let up = f32::from_bits(m.to_bits().wrapping_add(if m >= 0.0 { 1 } else { u32::MAX }));
            assert_eq!(nf4_index(up, &mids) as usize, i + 1);
        }
    }

    #[test]
    fn packing_is_high_nibble_first_and_pads_with_zero_code() {
        assert_eq!(pack_codes(&[1, 2, 15, 0, 3]), vec![0x12, 0xf0, 0x37]);
        assert_eq!(unpack_codes(&[0x12, 0xf0, 0x37], 5), vec![1, 2, 15, 0, 3]);
    }

    #[test]
    fn zero_block_stores_zero_absmax_but_partial_tail_stores_the_floor() {
        let (codes, absmax) = quantize_codes(&[0.0; 64 + 3], 64);
        assert!(codes.iter().all(|&c| c == NF4_ZERO_CODE));
        assert_eq!(absmax, vec![0.0, 1e-38]);
    }
}
