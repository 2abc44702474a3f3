//! bitsandbytes' 8-bit "dynamic" codebook and its CPU blockwise quantizer.
//!
//! Double quantization stores NF4's per-block absmax values as 8-bit indices into
//! this codebook (`create_dynamic_map(signed=True)`), blockwise with their own f32
//! absmax. Both the codebook and the quantizer reproduce bitsandbytes 0.50 bit for
//! bit: every step is f32 arithmetic in the order bitsandbytes uses. Rust never
//! contracts `a * b + c` into an FMA, so the one place the reference does fuse
//! (PyTorch's linspace) says so with `mul_add`.

use std::sync::OnceLock;

/// Block size of the second-level (absmax) quantization in bitsandbytes.
pub const DEFAULT_BLOCKSIZE2: usize = 256;

/// Number of slots in the index lookup table of the CPU quantizer.
const LUT_SIZE: usize = 65_536;

/// `torch.linspace(start, end, steps, dtype=float32)` as the PyTorch build bitsandbytes
/// 0.50 ran on computes it: f32 step `(end - start) / (steps - 1)`, the first half counted
/// up from `start`, the second half down from `end`, each value with one rounding
/// (the compiled kernel contracts `start + step·i` into a fused multiply-add). With two
/// roundings 42 of the 256 map entries come out 1 ulp off the reference.
fn linspace_f32(start: f32, end: f32, steps: usize) -> Vec<f32> {
    if steps == 1 {
        return vec![start];
    }
    let step = (end - start) / (steps - 1) as f32;
    let halfway = steps / 2;
    (0..steps)
        .map(|i| {
            if i < halfway {
                step.mul_add(i as f32, start)
            } else {
                (-step).mul_add((steps - i - 1) as f32, end)
            }
        })
        .collect()
}

/// bitsandbytes `create_dynamic_map(signed, max_exponent_bits, total_bits)`, sorted.
///
/// For each exponent `e = i - (max_exponent_bits - 1)` (i = 0..max_exponent_bits) the
/// midpoints of an f32 linspace over [0.1, 1] are scaled by `f32(10^e)` (and negated
/// for the signed map); 0 and 1 are added and the list is zero-padded to 256 and sorted.
pub fn create_dynamic_map(signed: bool, max_exponent_bits: u32, total_bits: u32) -> Vec<f32> {
    let non_sign_bits = total_bits - 1;
    let additional_items = (1usize << (non_sign_bits - max_exponent_bits)) - 1;
    let mut data: Vec<f32> = Vec::with_capacity(256);
    let push_scaled = |items: usize, exponent: i32, data: &mut Vec<f32>| {
        let boundaries = linspace_f32(0.1, 1.0, items);
        // Python's `10 ** e` is a double; torch casts the scalar to f32 before multiplying.
        // `10^e` parsed from decimal is the correctly rounded double, as C's pow gives.
        let scale = format!("1e{exponent}").parse::<f64>().expect("decimal power of ten") as f32;
        let means: Vec<f32> = boundaries.windows(2).map(|w| (w[0] + w[1]) / 2.0).collect();
        data.extend(means.iter().map(|&m| scale * m));
        if signed {
            data.extend(means.iter().map(|&m| -scale * m));
        }
    };
    let top = max_exponent_bits as i32 - 1;
    for i in 0..max_exponent_bits {
        let shift = i + non_sign_bits - max_exponent_bits + u32::from(!signed);
        push_scaled((1usize << shift) + 1, i as i32 - top, &mut data);
    }
    if additional_items > 0 {
        // bitsandbytes reuses the last loop exponent here.
        push_scaled(additional_items + 1, max_exponent_bits as i32 - 1 - top, &mut data);
    }
    data.push(0.0);
    data.push(1.0);
    data.resize(data.len().max(256), 0.0);
    data.sort_by(f32::total_cmp);
    data
}

/// The signed 8-bit dynamic map used by double quantization (256 sorted values in [-1, 1]).
pub fn dynamic_map_signed() -> &'static [f32; 256] {
    static MAP: OnceLock<[f32; 256]> = OnceLock::new();
    MAP.get_or_init(|| {
        create_dynamic_map(true, 7, 8).try_into().expect("the 8-bit dynamic map has 256 entries")
    })
}

/// The lookup table of bitsandbytes' CPU 8-bit quantizer for a sorted 256-entry codebook:
/// slot `i` covers `val = -1 + 2i/65535` and holds the first code whose upper midpoint
/// is not below `val`.
pub fn quantizer_lut(code: &[f32; 256]) -> Vec<u8> {
    let mids: Vec<f32> = code.windows(2).map(|w| 0.5 * (w[0] + w[1])).collect();
    let mut lut = vec![0u8; LUT_SIZE];
    let mut j = 0usize;
    for (i, slot) in lut.iter_mut().enumerate() {
        let val = -1.0f32 + (2.0f32 * i as f32) / 65_535.0;
        while j < 255 && mids[j] < val {
            j += 1;
        }
        *slot = j as u8;
    }
    lut
}

/// The LUT of [`dynamic_map_signed`], built once.
fn signed_lut() -> &'static [u8] {
    static LUT: OnceLock<Vec<u8>> = OnceLock::new();
    LUT.get_or_init(|| quantizer_lut(dynamic_map_signed()))
}

/// The LUT slot of a value already scaled by `1/absmax`.
#[inline]
fn lut_slot(scaled: f32) -> usize {
    ((scaled.clamp(-1.0, 1.0) + 1.0) * 0.5 * 65_535.0 + 0.5) as u16 as usize
}

/// Blockwise 8-bit quantization with `code` (bitsandbytes `quantize_blockwise` on CPU):
/// per block of `blocksize` the f32 absmax, then each value times `1/absmax` through the
/// quantizer LUT. An all-zero block gets codes 0. Returns (codes, per-block absmax).
pub fn quantize_blockwise_8bit(values: &[f32], code: &[f32; 256], blocksize: usize) -> (Vec<u8>, Vec<f32>) {
    let own;
    let lut: &[u8] = if std::ptr::eq(code, dynamic_map_signed()) {
        signed_lut()
    } else {
        own = quantizer_lut(code);
        &own
    };
    quantize_with_lut(values, lut, blocksize)
}

fn quantize_with_lut(values: &[f32], lut: &[u8], blocksize: usize) -> (Vec<u8>, Vec<f32>) {
    assert!(blocksize > 0, "blocksize must be positive");
    let mut q = Vec::with_capacity(values.len());
    let mut absmax = Vec::with_capacity(values.len().div_ceil(blocksize));
    for block in values.chunks(blocksize) {
        let am = block.iter().fold(0f32, |m, v| m.max(v.abs()));
        absmax.push(am);
        if am == 0.0 {
            q.extend(std::iter::repeat_n(0u8, block.len()));
        } else {
            let inv = 1.0f32 / am;
            q.extend(block.iter().map(|&v| lut[lut_slot(v * inv)]));
        }
    }
    (q, absmax)
}

/// Inverse of [`quantize_blockwise_8bit`]: `code[q] · absmax[block]` (f32).
pub fn dequantize_blockwise_8bit(q: &[u8], absmax: &[f32], code: &[f32; 256], blocksize: usize) -> Vec<f32> {
    q.iter().enumerate().map(|(i, &c)| code[c as usize] * absmax[i / blocksize]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_map_is_sorted_symmetric_and_spans_minus_one_to_one() {
        let map = dynamic_map_signed();
        assert!(map.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(map[255], 1.0);
        assert_eq!(map.iter().filter(|&&v| v == 0.0).count(), 1);
        assert!(map[0] < -0.99 && map[0] > -1.0);
    }

    #[test]
    fn quantizer_picks_a_near_code() {
        let map = dynamic_map_signed();
        let values: Vec<f32> = (0..256).map(|i| (i as f32 - 128.0) / 97.0).collect();
        let (q, absmax) = quantize_blockwise_8bit(&values, map, 256);
        let back = dequantize_blockwise_8bit(&q, &absmax, map, 256);
        for (v, b) in values.iter().zip(&back) {
            assert!((v - b).abs() < 0.02 * absmax[0], "{v} -> {b}");
        }
        let (q, absmax) = quantize_blockwise_8bit(&[0.0; 10], map, 256);
        assert_eq!((q, absmax), (vec![0; 10], vec![0.0]));
    }
}
