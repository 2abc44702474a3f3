//! The frozen right-hand operand, packed once into the layout every backend reads.
//!
//! B [K, N] is cut into panels of 16 columns. Within a panel, row `p` (one 64-byte
//! [`Line`]) holds, for each of the 16 columns n, the pair (B[2p][n], B[2p+1][n]) as two
//! bf16 in one u32, low half = even k. That is the VNNI layout both `vdpbf16ps` (one zmm
//! = one line) and AMX's `tdpbf16ps` (a B tile = 16 consecutive lines) multiply with.
//! K is zero-padded to a multiple of 32 (one AMX tile depth) and N to a multiple of 16,
//! so no kernel needs a tail case in the packed operand.

use crate::bf16::{bf16_bits_to_f32, f32_to_bf16_bits};
use crate::KernelError;
use rayon::prelude::*;

/// Columns per panel (one zmm of f32 accumulators, one AMX C-tile width).
pub const PANEL: usize = 16;
/// K is padded to a multiple of this (one AMX tile: 16 pairs).
pub const K_ALIGN: usize = 32;

/// 64 bytes, cache-line aligned: 16 u32 bf16 pairs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C, align(64))]
pub struct Line(pub [u32; 16]);

/// A frozen B [K, N] in bf16, packed for the kernels (see the module doc).
#[derive(Clone, Debug)]
pub struct PackedBf16 {
    k: usize,
    n: usize,
    k_padded: usize,
    lines: Vec<Line>,
}

impl PackedBf16 {
    /// B = wᵀ for a row-major `w` [N, K], PyTorch's Linear weight [out, in]:
    /// `matmul` then computes the forward y = x·wᵀ.
    pub fn pack_transposed(w: &[f32], n: usize, k: usize) -> Result<Self, KernelError> {
        check_len(w.len(), n, k)?;
        Ok(Self::from_fn(k, n, |kk, nn| f32_to_bf16_bits(w[nn * k + kk])))
    }

    /// B = w for a row-major `w` [K, N], e.g. W [out, in] for the input gradient dx = g·W.
    pub fn pack(w: &[f32], k: usize, n: usize) -> Result<Self, KernelError> {
        check_len(w.len(), k, n)?;
        Ok(Self::from_fn(k, n, |kk, nn| f32_to_bf16_bits(w[kk * n + nn])))
    }

    /// [`Self::pack_transposed`] from weights already in bf16 (no rounding).
    pub fn pack_transposed_bf16(w: &[half::bf16], n: usize, k: usize) -> Result<Self, KernelError> {
        check_len(w.len(), n, k)?;
        Ok(Self::from_fn(k, n, |kk, nn| w[nn * k + kk].to_bits()))
    }

    /// [`Self::pack`] from weights already in bf16 (no rounding).
    pub fn pack_bf16(w: &[half::bf16], k: usize, n: usize) -> Result<Self, KernelError> {
        check_len(w.len(), k, n)?;
        Ok(Self::from_fn(k, n, |kk, nn| w[kk * n + nn].to_bits()))
    }

    fn from_fn(k: usize, n: usize, at: impl Fn(usize, usize) -> u16 + Sync) -> Self {
        let k_padded = k.div_ceil(K_ALIGN) * K_ALIGN;
        let pairs = k_padded / 2;
        let panels = n.div_ceil(PANEL);
        let mut lines = vec![Line::default(); panels * pairs];
        if pairs > 0 {
            lines.par_chunks_mut(pairs).enumerate().for_each(|(panel, rows)| {
                for (p, line) in rows.iter_mut().enumerate() {
                    for (lane, slot) in line.0.iter_mut().enumerate() {
                        let nn = panel * PANEL + lane;
                        if nn >= n {
                            continue;
                        }
                        let (k0, k1) = (2 * p, 2 * p + 1);
                        let lo = if k0 < k { at(k0, nn) as u32 } else { 0 };
                        let hi = if k1 < k { at(k1, nn) as u32 } else { 0 };
                        *slot = lo | (hi << 16);
                    }
                }
            });
        }
        Self { k, n, k_padded, lines }
    }

    /// K (rows of B, the reduction length).
    pub fn k(&self) -> usize {
        self.k
    }

    /// N (columns of B, the output width).
    pub fn n(&self) -> usize {
        self.n
    }

    /// Bytes of packed storage (padding included), for memory accounting.
    pub fn bytes(&self) -> usize {
        self.lines.len() * std::mem::size_of::<Line>()
    }

    /// B as row-major f32 [K, N]: the bf16 values the kernels multiply with.
    pub fn unpack(&self) -> Vec<f32> {
        let mut out = vec![0.0f32; self.k * self.n];
        for kk in 0..self.k {
            for nn in 0..self.n {
                let pair = self.line(nn / PANEL, kk / 2).0[nn % PANEL];
                let half = if kk % 2 == 0 { pair & 0xffff } else { pair >> 16 };
                out[kk * self.n + nn] = bf16_bits_to_f32(half as u16);
            }
        }
        out
    }

    /// K rounded up to [`K_ALIGN`].
    pub(crate) fn k_padded(&self) -> usize {
        self.k_padded
    }

    /// Number of 16-column panels.
    pub(crate) fn panels(&self) -> usize {
        self.n.div_ceil(PANEL)
    }

    /// Line `pair` of panel `panel`.
    pub(crate) fn line(&self, panel: usize, pair: usize) -> &Line {
        &self.lines[panel * (self.k_padded / 2) + pair]
    }

    /// All lines, panel after panel (each `k_padded / 2` lines long).
    pub(crate) fn lines(&self) -> &[Line] {
        &self.lines
    }
}

fn check_len(len: usize, rows: usize, cols: usize) -> Result<(), KernelError> {
    match rows.checked_mul(cols) {
        Some(want) if want == len => Ok(()),
        _ => Err(KernelError::Shape(format!(
            "weight has {len} elements, expected {rows}×{cols}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bf16::round_f32;

    fn sample(len: usize) -> Vec<f32> {
        (0..len).map(|i| ((i as f32) * 0.618_034).sin() * 1.7 + 1e-3 * i as f32).collect()
    }

    /// Odd K, N off the panel width: padding must not leak into the unpacked matrix.
    #[test]
    fn round_trip_pack_and_transposed() {
        for &(k, n) in &[(1, 1), (3, 17), (33, 16), (64, 31), (67, 50)] {
            let w = sample(k * n);
            let rounded: Vec<f32> = w.iter().map(|&x| round_f32(x)).collect();
            let b = PackedBf16::pack(&w, k, n).unwrap();
            assert_eq!(b.unpack(), rounded, "pack k={k} n={n}");
            // w as [N, K]: B = wᵀ, so B[kk][nn] = w[nn*k + kk].
            let bt = PackedBf16::pack_transposed(&w, n, k).unwrap();
            let u = bt.unpack();
            for kk in 0..k {
                for nn in 0..n {
                    assert_eq!(u[kk * n + nn], rounded[nn * k + kk], "transposed k={k} n={n}");
                }
            }
            assert_eq!(b.bytes(), n.div_ceil(16) * k.div_ceil(32) * 16 * 64);
        }
    }

    #[test]
    fn bf16_constructors_match_f32_ones() {
        let (k, n) = (45, 23);
        let w = sample(k * n);
        let wb: Vec<half::bf16> = w.iter().map(|&x| half::bf16::from_f32(x)).collect();
        assert_eq!(PackedBf16::pack_bf16(&wb, k, n).unwrap().lines, PackedBf16::pack(&w, k, n).unwrap().lines);
        assert_eq!(
            PackedBf16::pack_transposed_bf16(&wb, n, k).unwrap().lines,
            PackedBf16::pack_transposed(&w, n, k).unwrap().lines
        );
    }

    /// The VNNI pair order the kernels rely on: low half = even k, padding zero.
    #[test]
    fn layout_is_vnni_pairs_with_zero_padding() {
        let (k, n) = (3, 2);
        let w = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]; // [K=3, N=2]
        let b = PackedBf16::pack(&w, k, n).unwrap();
        let pair = |kk0: f32, kk1: f32| f32_to_bf16_bits(kk0) as u32 | ((f32_to_bf16_bits(kk1) as u32) << 16);
        assert_eq!(b.line(0, 0).0[0], pair(1.0, 3.0));
        assert_eq!(b.line(0, 0).0[1], pair(2.0, 4.0));
        assert_eq!(b.line(0, 1).0[0], pair(5.0, 0.0));
        assert_eq!(b.line(0, 0).0[2], 0);
        assert!(b.lines()[2..].iter().all(|l| l.0 == [0; 16]));
    }

    #[test]
    fn wrong_length_is_an_error() {
        assert!(matches!(PackedBf16::pack(&[0.0; 5], 2, 3), Err(KernelError::Shape(_))));
        assert!(matches!(PackedBf16::pack_transposed(&[0.0; 7], 2, 3), Err(KernelError::Shape(_))));
    }
}
