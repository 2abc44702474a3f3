//! The AVX-512-BF16 backend: `vdpbf16ps` on zmm registers (Zen 4, Cooper Lake, SPR).
//!
//! One `vdpbf16ps` multiplies 16 bf16 pairs of A (one row's (k, k+1), broadcast) with
//! one 64-byte line of a B panel, adding both products into 16 f32 lanes: exactly one
//! packed line per instruction. The microkernel keeps 12 rows × 2 panels = 24 zmm
//! accumulators (enough independent chains to cover the instruction's latency), loads
//! two B lines and broadcasts 12 A pairs (folded into the instruction) per k-pair.
//! Blocking: a K block of 128 pairs keeps the two-panel B sliver (16 KiB) in L1 while
//! the task's A strips (96 rows × 512 B) stream from L2.

use crate::driver::Block;
use crate::pack::PANEL;
use std::arch::x86_64::*;

/// Rows per microkernel = A strip height.
const R: usize = 12;
/// k-pairs per K block.
const KC: usize = 128;

type KernelFn = unsafe fn(*const u32, *const u32, usize, usize, *mut f32, usize, u16, bool);

/// Computes one task's block.
///
/// # Safety
/// The CPU must have avx512f and avx512bf16, and `blk` must describe a block of the
/// output that no other thread writes meanwhile.
#[target_feature(enable = "avx512f,avx512bf16")]
pub(crate) unsafe fn block(blk: &Block) {
    debug_assert_eq!(blk.a.rows, R);
    let b = blk.b;
    let n = b.n();
    let padded_pairs = b.k_padded() / 2;
    let pairs = b.k().div_ceil(2);
    let lines = b.lines().as_ptr().cast::<u32>();
    for kb in (0..pairs).step_by(KC) {
        let kc = KC.min(pairs - kb);
        let load = blk.accumulate || kb > 0;
        for jp in blk.panels.clone().step_by(2) {
            let np = 2.min(blk.panels.end - jp);
            let last_cols = PANEL.min(n - (jp + np - 1) * PANEL);
            let mask = if last_cols == PANEL { u16::MAX } else { (1u16 << last_cols) - 1 };
            // SAFETY (pointer arithmetic): panel jp's line kb exists (jp < panels, kb < pairs).
            let bp = unsafe { lines.add((jp * padded_pairs + kb) * PANEL) };
            for row0 in blk.rows.clone().step_by(R) {
                let mr = R.min(blk.m - row0);
                let a = blk.a.strip(row0 / R)[kb * R..].as_ptr();
                // SAFETY: row0 + mr <= M, columns jp*16 .. jp*16+16*(np-1)+last_cols <= N.
                let c = unsafe { blk.out.0.add(row0 * n + jp * PANEL) };
                let f = pick(mr, np);
                // SAFETY: the strip holds kc pairs × R rows from kb on, each panel kc lines
                // from kb on (B's panels are `padded_pairs` lines apart), and the
                // (mr × columns) output rectangle lies in this task's block; CPU
                // features are the caller's promise.
                unsafe { f(a, bp, padded_pairs * PANEL, kc, c, n, mask, load) };
            }
        }
    }
}

fn pick(mr: usize, np: usize) -> KernelFn {
    macro_rules! by_rows {
        ($np:literal) => {
            match mr {
                1 => kernel::<1, $np>,
                2 => kernel::<2, $np>,
                3 => kernel::<3, $np>,
                4 => kernel::<4, $np>,
                5 => kernel::<5, $np>,
                6 => kernel::<6, $np>,
                7 => kernel::<7, $np>,
                8 => kernel::<8, $np>,
                9 => kernel::<9, $np>,
                10 => kernel::<10, $np>,
                11 => kernel::<11, $np>,
                _ => kernel::<12, $np>,
            }
        };
    }
    if np == 2 {
        by_rows!(2)
    } else {
        by_rows!(1)
    }
}

/// MR rows × NP panels over `kc` k-pairs.
///
/// `a`: strip pairs (row r of pair p at `a[p*R + r]`); `b`: first panel's line, later
/// panels `b_stride` u32 further; `c`: output at (row0, first column), row stride `ldc`;
/// `mask`: valid columns of the last panel; `load`: start from `c` instead of zero.
///
/// # Safety
/// avx512f + avx512bf16; the pointers cover the ranges above.
#[target_feature(enable = "avx512f,avx512bf16")]
#[allow(clippy::too_many_arguments)]
unsafe fn kernel<const MR: usize, const NP: usize>(
    a: *const u32,
    b: *const u32,
    b_stride: usize,
    kc: usize,
    c: *mut f32,
    ldc: usize,
    mask: u16,
    load: bool,
) {
    let masks: [u16; NP] = std::array::from_fn(|j| if j + 1 == NP { mask } else { u16::MAX });
    let mut acc = [[_mm512_setzero_ps(); NP]; MR];
    if load {
        for (r, row) in acc.iter_mut().enumerate() {
            for (j, v) in row.iter_mut().enumerate() {
                // SAFETY: masked lanes are not read; the others lie in the output block.
                *v = unsafe { _mm512_maskz_loadu_ps(masks[j], c.add(r * ldc + j * PANEL)) };
            }
        }
    }
    for p in 0..kc {
        // SAFETY: each panel has kc lines from `b` on; lines are 64-byte aligned.
        let bv: [__m512bh; NP] = std::array::from_fn(|j| unsafe {
            std::mem::transmute::<__m512i, __m512bh>(_mm512_load_si512(b.add(j * b_stride + p * PANEL).cast()))
        });
        for (r, row) in acc.iter_mut().enumerate() {
            // SAFETY: pair p of row r is in the strip.
            let x = unsafe { *a.add(p * R + r) } as i32;
            // SAFETY (transmute): __m512i and __m512bh are both 64 plain bytes.
            let av = unsafe { std::mem::transmute::<__m512i, __m512bh>(_mm512_set1_epi32(x)) };
            for (j, v) in row.iter_mut().enumerate() {
                *v = _mm512_dpbf16_ps(*v, av, bv[j]);
            }
        }
    }
    for (r, row) in acc.iter().enumerate() {
        for (j, v) in row.iter().enumerate() {
            // SAFETY: masked lanes are not written; the others lie in the output block.
            unsafe { _mm512_mask_storeu_ps(c.add(r * ldc + j * PANEL), masks[j], *v) };
        }
    }
}

/// `iters` rounds of 24 independent `vdpbf16ps` on registers (no memory operands):
/// the per-core throughput ceiling the bench reports against. Returns flops done.
///
/// # Safety
/// avx512f + avx512bf16.
#[target_feature(enable = "avx512f,avx512bf16")]
pub(crate) unsafe fn peak_loop(iters: u64) -> f64 {
    let mut acc = [_mm512_setzero_ps(); 24];
    let x = std::hint::black_box(_mm512_set1_ps(1e-3));
    let y = std::hint::black_box(_mm512_set1_ps(2e-3));
    let xb = _mm512_cvtne2ps_pbh(x, x);
    let yb = _mm512_cvtne2ps_pbh(y, y);
    for _ in 0..iters {
        for v in acc.iter_mut() {
            *v = _mm512_dpbf16_ps(*v, xb, yb);
        }
    }
    std::hint::black_box(acc);
    // 16 lanes × 2 products × (mul + add) per instruction.
    iters as f64 * 24.0 * 64.0
}
