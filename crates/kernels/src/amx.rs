//! The AMX-BF16 backend: `tdpbf16ps` on tiles, by stable `asm!` (stable Rust has no
//! AMX intrinsics). Written for Sapphire Rapids; untested on this crate's dev machine
//! (AMD, no AMX): the tests run it wherever `Backend::Amx.is_available()`.
//!
//! Tiles: tmm0..3 = C (2 × 2 tiles of 16 × 16 f32 = a 32 × 32 output block),
//! tmm4/5 = A (16 rows × 32 bf16 each), tmm6/7 = B (16 k-pairs × 16 columns each,
//! = 16 consecutive lines of a packed panel). Each loaded tile feeds two `tdpbf16ps`.
//! A is packed in whole tiles (1 KiB, stride 64 B), so every load is contiguous.
//! Blocking: a K block of 8 tiles (256 k) keeps the 2-panel B sliver (16 KiB) in L1
//! across the task's row blocks; C goes through memory between K blocks, exactly (f32).
//! Tile registers are not touched by compiler-generated code, so tile state carries
//! from one `asm!` block to the next; nothing between them calls out.

use crate::driver::Block;
use crate::pack::PANEL;
use std::arch::asm;

/// Rows of an A strip (one tile).
const R: usize = 16;
/// k-pairs per tile.
const TP: usize = 16;
/// Tiles of K per K block.
const KT: usize = 8;

/// The 64-byte LDTILECFG operand: palette 1, every tile 16 rows × 64 bytes.
#[repr(C, align(64))]
struct TileConfig {
    palette: u8,
    start_row: u8,
    reserved: [u8; 14],
    colsb: [u16; 16],
    rows: [u8; 16],
}

const CONFIG: TileConfig = TileConfig {
    palette: 1,
    start_row: 0,
    reserved: [0; 14],
    colsb: [64, 64, 64, 64, 64, 64, 64, 64, 0, 0, 0, 0, 0, 0, 0, 0],
    rows: [16, 16, 16, 16, 16, 16, 16, 16, 0, 0, 0, 0, 0, 0, 0, 0],
};

/// Output staging for 32 × 32 blocks that stick out of `out` (M or N tails).
#[repr(C, align(64))]
struct Scratch([f32; 32 * 32]);

/// Computes one task's block.
///
/// # Safety
/// AMX-TILE + AMX-BF16 present and the OS permission granted (`Backend::Amx.check()`),
/// and `blk` must describe a block of the output that no other thread writes meanwhile.
pub(crate) unsafe fn block(blk: &Block) {
    debug_assert_eq!((blk.a.rows, blk.a.group), (R, TP));
    let b = blk.b;
    let n = b.n();
    let padded_pairs = b.k_padded() / 2;
    let tiles_k = padded_pairs / TP;
    let lines = b.lines().as_ptr().cast::<u8>();
    let mut scratch = Scratch([0.0; 32 * 32]);
    // SAFETY: CONFIG is a valid palette-1 configuration (8 tiles of 16 × 64 B).
    unsafe { asm!("ldtilecfg [{}]", in(reg) &CONFIG, options(nostack, preserves_flags)) };
    for kb in (0..tiles_k).step_by(KT) {
        let kt = KT.min(tiles_k - kb);
        let load = blk.accumulate || kb > 0;
        for jp in blk.panels.clone().step_by(2) {
            let np = 2.min(blk.panels.end - jp);
            let cols = (np * PANEL).min(n - jp * PANEL);
            // SAFETY (pointer arithmetic): panel jp's line kb*16 exists.
            let b0 = unsafe { lines.add((jp * padded_pairs + kb * TP) * 64) };
            let b_panel = padded_pairs * 64;
            for row0 in blk.rows.clone().step_by(2 * R) {
                let rows = (2 * R).min(blk.m - row0);
                // Strips come in pairs (`strip_multiple` 2), so strip row0/16 + 1 exists.
                let a0 = blk.a.strip(row0 / R)[kb * TP * R..].as_ptr().cast::<u8>();
                let a1 = blk.a.strip(row0 / R + 1)[kb * TP * R..].as_ptr().cast::<u8>();
                let full = rows == 2 * R && cols == 2 * PANEL;
                // SAFETY: row0 < M and jp*16 < N.
                let out = unsafe { blk.out.0.add(row0 * n + jp * PANEL) };
                let (c, ldc) = if full { (out, n * 4) } else { (scratch.0.as_mut_ptr(), 32 * 4) };
                if !full && load {
                    scratch.0.fill(0.0);
                    for r in 0..rows {
                        // SAFETY: the rows × cols rectangle at `out` is in this task's block.
                        let src = unsafe { std::slice::from_raw_parts(out.add(r * n), cols) };
                        scratch.0[r * 32..r * 32 + cols].copy_from_slice(src);
                    }
                }
                // SAFETY: tiles configured above; `c` covers 32 rows × (np × 64 B) at
                // stride ldc (the output block or the scratch); each A strip holds kt
                // tiles from tile kb, each B panel kt × 16 lines from line kb*16.
                unsafe {
                    if load {
                        load_c(c, ldc, np);
                    } else {
                        zero_c();
                    }
                    for t in 0..kt {
                        let (ta0, ta1) = (a0.add(t * 1024), a1.add(t * 1024));
                        let tb0 = b0.add(t * 1024);
                        if np == 2 {
                            step_2x2(ta0, ta1, tb0, tb0.add(b_panel));
                        } else {
                            step_2x1(ta0, ta1, tb0);
                        }
                    }
                    store_c(c, ldc, np);
                }
                if !full {
                    for r in 0..rows {
                        // SAFETY: as for the copy in.
                        let dst = unsafe { std::slice::from_raw_parts_mut(out.add(r * n), cols) };
                        dst.copy_from_slice(&scratch.0[r * 32..r * 32 + cols]);
                    }
                }
            }
        }
    }
    // SAFETY: releases the tile state this function configured (keeps context switches
    // cheap and leaves the thread in its initial AMX state).
    unsafe { asm!("tilerelease", options(nostack, preserves_flags)) };
}

/// tmm0..3 = 0.
#[inline(always)]
unsafe fn zero_c() {
    // SAFETY: tiles are configured (caller).
    unsafe { asm!("tilezero tmm0", "tilezero tmm1", "tilezero tmm2", "tilezero tmm3", options(nostack, preserves_flags)) };
}

/// tmm0/1 = rows 0..16 of C (columns 0..16 / 16..32), tmm2/3 = rows 16..32.
/// With one panel (`np` 1) only tmm0 and tmm2 are used.
#[inline(always)]
unsafe fn load_c(c: *const f32, ldc: usize, np: usize) {
    // SAFETY: caller: 32 rows × np × 64 bytes at stride ldc are readable.
    unsafe {
        let lower = c.cast::<u8>().add(16 * ldc);
        asm!("tileloadd tmm0, [{c} + {s}*1]", "tileloadd tmm2, [{l} + {s}*1]",
             c = in(reg) c, l = in(reg) lower, s = in(reg) ldc, options(nostack, preserves_flags));
        if np == 2 {
            asm!("tileloadd tmm1, [{c} + {s}*1]", "tileloadd tmm3, [{l} + {s}*1]",
                 c = in(reg) c.add(PANEL), l = in(reg) lower.add(64), s = in(reg) ldc, options(nostack, preserves_flags));
        }
    }
}

/// The inverse of [`load_c`].
#[inline(always)]
unsafe fn store_c(c: *mut f32, ldc: usize, np: usize) {
    // SAFETY: caller: 32 rows × np × 64 bytes at stride ldc are writable by us alone.
    unsafe {
        let lower = c.cast::<u8>().add(16 * ldc);
        asm!("tilestored [{c} + {s}*1], tmm0", "tilestored [{l} + {s}*1], tmm2",
             c = in(reg) c, l = in(reg) lower, s = in(reg) ldc, options(nostack, preserves_flags));
        if np == 2 {
            asm!("tilestored [{c} + {s}*1], tmm1", "tilestored [{l} + {s}*1], tmm3",
                 c = in(reg) c.add(PANEL), l = in(reg) lower.add(64), s = in(reg) ldc, options(nostack, preserves_flags));
        }
    }
}

/// One K tile for a 32 × 32 block: C[i][j] += A_i · B_j.
#[inline(always)]
unsafe fn step_2x2(a0: *const u8, a1: *const u8, b0: *const u8, b1: *const u8) {
    // SAFETY: caller: four contiguous 1 KiB tiles are readable; tiles configured.
    unsafe {
        asm!(
            "tileloadd tmm4, [{a0} + {s}*1]",
            "tileloadd tmm6, [{b0} + {s}*1]",
            "tdpbf16ps tmm0, tmm4, tmm6",
            "tileloadd tmm7, [{b1} + {s}*1]",
            "tdpbf16ps tmm1, tmm4, tmm7",
            "tileloadd tmm5, [{a1} + {s}*1]",
            "tdpbf16ps tmm2, tmm5, tmm6",
            "tdpbf16ps tmm3, tmm5, tmm7",
            a0 = in(reg) a0, a1 = in(reg) a1, b0 = in(reg) b0, b1 = in(reg) b1, s = in(reg) 64usize,
            options(nostack, preserves_flags, readonly)
        )
    };
}

/// One K tile for a 32 × 16 block (the last, odd panel).
#[inline(always)]
unsafe fn step_2x1(a0: *const u8, a1: *const u8, b0: *const u8) {
    // SAFETY: caller: three contiguous 1 KiB tiles are readable; tiles configured.
    unsafe {
        asm!(
            "tileloadd tmm4, [{a0} + {s}*1]",
            "tileloadd tmm6, [{b0} + {s}*1]",
            "tdpbf16ps tmm0, tmm4, tmm6",
            "tileloadd tmm5, [{a1} + {s}*1]",
            "tdpbf16ps tmm2, tmm5, tmm6",
            a0 = in(reg) a0, a1 = in(reg) a1, b0 = in(reg) b0, s = in(reg) 64usize,
            options(nostack, preserves_flags, readonly)
        )
    };
}

/// `iters` rounds of 4 `tdpbf16ps` on resident tiles (C tmm0..3, A tmm4/5, B tmm6/7):
/// the per-core AMX throughput ceiling. Returns flops done.
///
/// # Safety
/// As for [`block`] (AMX available and permitted).
pub(crate) unsafe fn peak_loop(iters: u64) -> f64 {
    if iters == 0 {
        return 0.0;
    }
    // SAFETY: configures, zeroes and multiplies tiles only; the loop counter is ours.
    unsafe {
        asm!("ldtilecfg [{}]", in(reg) &CONFIG, options(nostack, preserves_flags));
        asm!("tilezero tmm4", "tilezero tmm5", "tilezero tmm6", "tilezero tmm7", options(nostack, preserves_flags));
        zero_c();
        asm!(
            "2:",
            "tdpbf16ps tmm0, tmm4, tmm6",
            "tdpbf16ps tmm1, tmm4, tmm7",
            "tdpbf16ps tmm2, tmm5, tmm6",
            "tdpbf16ps tmm3, tmm5, tmm7",
            "dec {n}",
            "jnz 2b",
            n = inout(reg) iters => _,
            options(nostack, nomem)
        );
        asm!("tilerelease", options(nostack, preserves_flags));
    }
    // Per instruction: 16 × 16 outputs × 32 products (16 pairs) × (mul + add).
    iters as f64 * 4.0 * (16.0 * 16.0 * 32.0 * 2.0)
}
