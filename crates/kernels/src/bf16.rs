//! f32 → bf16 rounding, round-to-nearest-even, the rounding PyTorch and QLoRA use.
//!
//! Kept in plain integer arithmetic so that every backend rounds its inputs the same
//! way (the AVX-512 `vcvtne2ps2bf16` would flush subnormal inputs to zero) and so that
//! the row loop auto-vectorises.

/// The bf16 bit pattern nearest to `x`, ties to even. NaN stays NaN (quietened, sign and
/// top payload bits kept); overflow rounds to ±inf as RNE says; subnormals are kept.
#[inline(always)]
pub fn f32_to_bf16_bits(x: f32) -> u16 {
    let b = x.to_bits();
    if (b & 0x7fff_ffff) > 0x7f80_0000 {
        // NaN: truncating could clear every payload bit left in the top half (→ inf).
        return ((b >> 16) as u16) | 0x0040;
    }
    let lsb = (b >> 16) & 1;
    // No overflow: the largest non-NaN pattern, 0xff80_0000, plus 0x8000 fits in u32.
    ((b + 0x7fff + lsb) >> 16) as u16
}

/// The f32 a bf16 bit pattern stands for (exact).
#[inline(always)]
pub fn bf16_bits_to_f32(h: u16) -> f32 {
    f32::from_bits((h as u32) << 16)
}

/// `x` rounded to bf16 and back: the value the kernels multiply with.
#[inline(always)]
pub fn round_f32(x: f32) -> f32 {
    bf16_bits_to_f32(f32_to_bf16_bits(x))
}

/// Rounds `src` into `dst` (same length).
pub fn round_slice(src: &[f32], dst: &mut [u16]) {
    assert_eq!(src.len(), dst.len(), "round_slice: length mismatch");
    for (d, &s) in dst.iter_mut().zip(src) {
        *d = f32_to_bf16_bits(s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bits(x: f32) -> u16 {
        f32_to_bf16_bits(x)
    }

    #[test]
    fn known_bit_patterns() {
        // Exactly representable values keep their top half.
        assert_eq!(bits(1.0), 0x3f80);
        assert_eq!(bits(-2.0), 0xc000);
        assert_eq!(bits(0.0), 0x0000);
        assert_eq!(bits(-0.0), 0x8000);
        // Ties to even: 1 + 2^-8 lies halfway between 1 (even mantissa) and 1 + 2^-7.
        assert_eq!(bits(f32::from_bits(0x3f80_8000)), 0x3f80);
        // ... and 1 + 3·2^-8 halfway between 1 + 2^-7 (odd) and 1 + 2^-6 (even): rounds up.
        assert_eq!(bits(f32::from_bits(0x3f81_8000)), 0x3f82);
        // Just above / below the tie.
        assert_eq!(bits(f32::from_bits(0x3f80_8001)), 0x3f81);
        assert_eq!(bits(f32::from_bits(0x3f80_7fff)), 0x3f80);
        // A carry through the mantissa into the exponent: 2 - 2^-23 rounds to 2.
        assert_eq!(bits(f32::from_bits(0x3fff_ffff)), 0x4000);
        // Infinities stay; f32::MAX rounds to inf (it is above bf16's max + half an ulp).
        assert_eq!(bits(f32::INFINITY), 0x7f80);
        assert_eq!(bits(f32::NEG_INFINITY), 0xff80);
        assert_eq!(bits(f32::MAX), 0x7f80);
        // The largest f32 that still rounds down to bf16's max finite value 0x7f7f.
        assert_eq!(bits(f32::from_bits(0x7f7f_7fff)), 0x7f7f);
        // Subnormals: the smallest bf16 subnormal is kept, half of it ties to even (0).
        assert_eq!(bits(f32::from_bits(0x0001_0000)), 0x0001);
        assert_eq!(bits(f32::from_bits(0x0000_8000)), 0x0000);
        assert_eq!(bits(f32::from_bits(0x0001_8000)), 0x0002);
        assert_eq!(bits(f32::from_bits(0x8000_0001)), 0x8000);
    }

    #[test]
    fn nan_stays_nan() {
        for pattern in [0x7fc0_0000u32, 0x7f80_0001, 0xff80_0001, 0x7fff_ffff, 0xffc1_2345] {
            let h = bits(f32::from_bits(pattern));
            assert!(bf16_bits_to_f32(h).is_nan(), "{pattern:#x} -> {h:#x} is not NaN");
            assert_eq!(h & 0x8000, ((pattern >> 16) as u16) & 0x8000, "sign of {pattern:#x}");
        }
    }

    /// A second, independent implementation: `half` also rounds to nearest even.
    #[test]
    fn agrees_with_half_on_many_patterns() {
        let mut x: u32 = 0x1234_5678;
        for i in 0..200_000u32 {
            // xorshift over all bit patterns, plus the neighbourhood of ties.
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            let p = if i % 4 == 0 { (x & 0xffff_0000) | 0x8000 } else { x };
            let f = f32::from_bits(p);
            let ours = bits(f);
            let theirs = half::bf16::from_f32(f).to_bits();
            if f.is_nan() {
                assert!(bf16_bits_to_f32(ours).is_nan());
            } else {
                assert_eq!(ours, theirs, "pattern {p:#010x}");
            }
        }
    }

    #[test]
    fn round_slice_matches_scalar() {
        let src: Vec<f32> = (0..37).map(|i| (i as f32 * 0.7311).sin() * 3.0).collect();
        let mut dst = vec![0u16; src.len()];
        round_slice(&src, &mut dst);
        for (s, d) in src.iter().zip(&dst) {
            assert_eq!(*d, bits(*s));
        }
    }
}
