//! The portable backend: f32 arithmetic on the bf16 values, in the packed layouts.
//!
//! A product of two bf16 is exact in f32 (8 + 8 significant bits), so `acc + a*b`
//! rounds once, like a fused multiply-add would; the result does not depend on whether
//! the compiler fuses. Plain loops over 16 lanes that LLVM vectorises for the target.

use crate::driver::{Block, OutPtr};
use crate::pack::{Line, PANEL};

/// Strip height of A for this backend (see `driver::plan`).
const R: usize = 4;
/// k-pairs per K block, so a panel's slice of B (8 KiB) stays in L1 across row strips.
const KC: usize = 128;

pub(crate) fn block(blk: &Block) {
    debug_assert_eq!(blk.a.rows, R);
    let b = blk.b;
    let n = b.n();
    let padded_pairs = b.k_padded() / 2;
    let pairs = b.k().div_ceil(2);
    for kb in (0..pairs).step_by(KC) {
        let kc = KC.min(pairs - kb);
        let load = blk.accumulate || kb > 0;
        for panel in blk.panels.clone() {
            let lines = &b.lines()[panel * padded_pairs + kb..][..kc];
            let c = Tile { out: blk.out, n, col0: panel * PANEL, cols: PANEL.min(n - panel * PANEL), load };
            for row0 in blk.rows.clone().step_by(R) {
                let a = &blk.a.strip(row0 / R)[kb * R..][..kc * R];
                match R.min(blk.m - row0) {
                    1 => kernel::<1>(a, lines, row0, c),
                    2 => kernel::<2>(a, lines, row0, c),
                    3 => kernel::<3>(a, lines, row0, c),
                    _ => kernel::<4>(a, lines, row0, c),
                }
            }
        }
    }
}

/// Where a kernel call's 16 (or fewer) output columns go.
#[derive(Clone, Copy)]
struct Tile {
    out: OutPtr,
    n: usize,
    col0: usize,
    cols: usize,
    /// Start from the output's values (accumulating, or a later K block) instead of 0.
    load: bool,
}

#[inline(always)]
fn lo(pair: u32) -> f32 {
    f32::from_bits(pair << 16)
}

#[inline(always)]
fn hi(pair: u32) -> f32 {
    f32::from_bits(pair & 0xffff_0000)
}

/// MR rows × one panel: acc[r][j] += a[r][2p]·b[2p][j], then += a[r][2p+1]·b[2p+1][j].
fn kernel<const MR: usize>(a: &[u32], b: &[Line], row0: usize, c: Tile) {
    let mut acc = [[0.0f32; PANEL]; MR];
    if c.load {
        for (r, acc) in acc.iter_mut().enumerate() {
            // SAFETY: rows row0..row0+MR < M and columns col0..col0+cols < N lie in this
            // task's block of `out` (row-major, stride n), which no other task touches.
            let src = unsafe { std::slice::from_raw_parts(c.out.0.add((row0 + r) * c.n + c.col0), c.cols) };
            acc[..c.cols].copy_from_slice(src);
        }
    }
    for (p, line) in b.iter().enumerate() {
        let bl: [f32; PANEL] = std::array::from_fn(|j| lo(line.0[j]));
        let bh: [f32; PANEL] = std::array::from_fn(|j| hi(line.0[j]));
        for (r, acc) in acc.iter_mut().enumerate() {
            let x = a[p * R + r];
            let (al, ah) = (lo(x), hi(x));
            for j in 0..PANEL {
                acc[j] += al * bl[j];
                acc[j] += ah * bh[j];
            }
        }
    }
    for (r, acc) in acc.iter().enumerate() {
        // SAFETY: as for the load above.
        let dst = unsafe { std::slice::from_raw_parts_mut(c.out.0.add((row0 + r) * c.n + c.col0), c.cols) };
        dst.copy_from_slice(&acc[..c.cols]);
    }
}
