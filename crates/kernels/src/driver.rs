//! Shape checks, A rounding/packing, and the split of the output over threads.
//!
//! The output is cut into (rows × panels) blocks, one rayon task each, and every task
//! runs the full K for its block with the same fixed K-blocking. Which thread computes
//! a block, and how large blocks are, never changes the order of the additions into
//! one output element: results do not depend on the thread count.

use crate::bf16::f32_to_bf16_bits;
use crate::pack::{Line, PackedBf16};
use crate::{Backend, KernelError};
use rayon::prelude::*;
use std::ops::Range;

/// A rounded to bf16 in a backend's layout: strips of `rows` rows; within a strip, groups
/// of `group` k-pairs, each group row after row. u32 = (even k, odd k) as for B.
pub(crate) struct PackedA {
    lines: Vec<Line>,
    /// Rows per strip.
    pub rows: usize,
    /// k-pairs per group (1: pair-interleaved rows; 16: whole AMX tiles).
    pub group: usize,
    /// k-pairs per row, padded (B's `k_padded / 2`).
    pub pairs: usize,
}

impl PackedA {
    /// u32 pairs of strip `s`, `rows * pairs` long.
    pub fn strip(&self, s: usize) -> &[u32] {
        let len = self.rows * self.pairs;
        &as_u32(&self.lines)[s * len..(s + 1) * len]
    }
}

fn as_u32(lines: &[Line]) -> &[u32] {
    // SAFETY: Line is repr(C) [u32; 16] (size 64, no padding), so `lines` is exactly
    // 16 * len initialised u32 with Line's (stricter) alignment.
    unsafe { std::slice::from_raw_parts(lines.as_ptr().cast::<u32>(), lines.len() * 16) }
}

fn as_u32_mut(lines: &mut [Line]) -> &mut [u32] {
    // SAFETY: as in `as_u32`; the borrow is unique.
    unsafe { std::slice::from_raw_parts_mut(lines.as_mut_ptr().cast::<u32>(), lines.len() * 16) }
}

/// Rounds row-major A [M, K] to bf16 (RNE) into the layout described at [`PackedA`].
/// `strip_multiple`: the strip count is rounded up to it (AMX reads strips in pairs).
pub(crate) fn pack_a(a: &[f32], m: usize, k: usize, pairs: usize, rows: usize, group: usize, strip_multiple: usize) -> PackedA {
    debug_assert!(pairs * 2 >= k && pairs.is_multiple_of(group) && (rows * pairs).is_multiple_of(16));
    let strips = m.div_ceil(rows).div_ceil(strip_multiple) * strip_multiple;
    let strip_len = rows * pairs;
    let mut lines = vec![Line::default(); strips * strip_len / 16];
    as_u32_mut(&mut lines).par_chunks_mut(strip_len).enumerate().for_each(|(s, strip)| {
        let mut bits = vec![0u16; pairs * 2];
        for r in 0..rows.min(m.saturating_sub(s * rows)) {
            let row = &a[(s * rows + r) * k..][..k];
            for (d, &x) in bits.iter_mut().zip(row) {
                *d = f32_to_bf16_bits(x);
            }
            for p in 0..pairs {
                let pair = bits[2 * p] as u32 | ((bits[2 * p + 1] as u32) << 16);
                strip[(p / group) * rows * group + r * group + p % group] = pair;
            }
        }
    });
    PackedA { lines, rows, group, pairs }
}

/// The output base pointer, shared by tasks that write disjoint blocks.
#[derive(Clone, Copy)]
pub(crate) struct OutPtr(pub *mut f32);
// SAFETY: tasks write through it only inside their own, disjoint (rows × columns) blocks.
unsafe impl Send for OutPtr {}
// SAFETY: as above.
unsafe impl Sync for OutPtr {}

/// One task's share: output rows and B panels, plus what every task needs.
pub(crate) struct Block<'a> {
    pub a: &'a PackedA,
    pub b: &'a PackedBf16,
    pub out: OutPtr,
    /// M; N is `b.n()` and the row stride of `out`.
    pub m: usize,
    pub rows: Range<usize>,
    pub panels: Range<usize>,
    pub accumulate: bool,
}

/// Per-backend A layout and block sizes.
struct Plan {
    strip_rows: usize,
    group: usize,
    strip_multiple: usize,
    /// Rows per task at most, and at least (a multiple of the kernel's row block).
    mc: usize,
    mc_min: usize,
    /// Panels per task.
    nc_panels: usize,
}

fn plan(backend: Backend) -> Plan {
    match backend {
        Backend::Portable => Plan { strip_rows: 4, group: 1, strip_multiple: 1, mc: 64, mc_min: 4, nc_panels: 16 },
        Backend::Avx512Bf16 => Plan { strip_rows: 12, group: 1, strip_multiple: 1, mc: 96, mc_min: 12, nc_panels: 16 },
        Backend::Amx => Plan { strip_rows: 16, group: 16, strip_multiple: 2, mc: 256, mc_min: 32, nc_panels: 16 },
    }
}

/// Checks shapes, packs A, and runs `backend` over all blocks on rayon's current pool.
pub(crate) fn run(backend: Backend, a: &[f32], m: usize, b: &PackedBf16, out: &mut [f32], accumulate: bool) -> Result<(), KernelError> {
    let (k, n) = (b.k(), b.n());
    if m.checked_mul(k) != Some(a.len()) {
        return Err(KernelError::Shape(format!("a has {} elements, expected M×K = {m}×{k}", a.len())));
    }
    if m.checked_mul(n) != Some(out.len()) {
        return Err(KernelError::Shape(format!("out has {} elements, expected M×N = {m}×{n}", out.len())));
    }
    let backend = backend.check()?;
    if m == 0 || n == 0 {
        return Ok(());
    }
    if k == 0 {
        if !accumulate {
            out.fill(0.0);
        }
        return Ok(());
    }
    let p = plan(backend);
    let ap = pack_a(a, m, k, b.k_padded() / 2, p.strip_rows, p.group, p.strip_multiple);
    let panels = b.panels();
    let col_blocks = panels.div_ceil(p.nc_panels);
    // Smaller row blocks when there are too few tasks to keep every thread busy; this
    // changes only who computes what, not any sum.
    let threads = rayon::current_num_threads();
    let mut mc = p.mc;
    while mc > p.mc_min && m.div_ceil(mc) * col_blocks < 4 * threads {
        mc = (mc / 2).div_ceil(p.mc_min) * p.mc_min;
    }
    let row_blocks = m.div_ceil(mc);
    let outp = OutPtr(out.as_mut_ptr());
    (0..row_blocks * col_blocks).into_par_iter().for_each(|t| {
        let (rb, cb) = (t / col_blocks, t % col_blocks);
        let blk = Block {
            a: &ap,
            b,
            out: outp,
            m,
            rows: rb * mc..((rb + 1) * mc).min(m),
            panels: cb * p.nc_panels..((cb + 1) * p.nc_panels).min(panels),
            accumulate,
        };
        match backend {
            Backend::Portable => crate::portable::block(&blk),
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `backend.check()` confirmed avx512f + avx512bf16 on this CPU.
            Backend::Avx512Bf16 => unsafe { crate::avx512::block(&blk) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `backend.check()` confirmed AMX-BF16 and the OS tile permission.
            Backend::Amx => unsafe { crate::amx::block(&blk) },
            #[cfg(not(target_arch = "x86_64"))]
            _ => unreachable!("only the portable backend is available off x86_64"),
        }
    });
    Ok(())
}
