//! Each available backend against the f64 product of the same bf16-rounded inputs.

use crate::common::*;
use loran_kernels::{matmul_with, Backend, KernelError, PackedBf16};

/// (M, K, N): one element; odd K (a VNNI pair's second half zero); N = 1; M = 1; one
/// AMX tile exactly; sizes off every block width (16, 12, 4, 32) and K across the
/// 256-k K-block boundary; the multi-block case; a SmolLM2-sized one.
const SHAPES: [(usize, usize, usize); 12] = [
    (1, 1, 1),
    (1, 7, 1),
    (3, 5, 17),
    (20, 45, 1),
    (1, 100, 50),
    (16, 32, 16),
    (32, 64, 32),
    (13, 33, 31),
    (17, 63, 33),
    (37, 301, 70),
    (70, 1000, 90),
    (64, 576, 1536),
];

fn check_backend(backend: Backend) {
    for (s, &(m, k, n)) in SHAPES.iter().enumerate() {
        let a = data(m * k, 10 + s as u64);
        // Weight as PyTorch stores it, [N, K]; B = wᵀ.
        let w = data(n * k, 100 + s as u64);
        let b = PackedBf16::pack_transposed(&w, n, k).unwrap();
        let bt = rounded(&transpose(&w, n, k)); // bf16-rounded B [K, N]
        let (exact, mag) = reference(&rounded(&a), &bt, m, k, n);

        let mut out = vec![f32::NAN; m * n];
        matmul_with(backend, &a, m, &b, &mut out, false).unwrap();
        let zeros = vec![0.0f32; m * n];
        if let Some((i, got, want, bound)) = first_violation(&out, &zeros, &exact, &mag, k) {
            panic!("{backend} {m}×{k}×{n}: out[{},{}] = {got}, want {want} ± {bound}", i / n, i % n);
        }

        // Accumulating into existing values: out = c0 + A·B.
        let c0 = data(m * n, 1000 + s as u64);
        let mut acc = c0.clone();
        matmul_with(backend, &a, m, &b, &mut acc, true).unwrap();
        if let Some((i, got, want, bound)) = first_violation(&acc, &c0, &exact, &mag, k) {
            panic!("{backend} {m}×{k}×{n} accumulate: out[{i}] = {got}, want {want} ± {bound}");
        }
    }
    println!("{backend}: {} shapes within (K+2)·u·Σ|a·b| of the f64 product", SHAPES.len());
}

#[test]
fn portable_matches_f64_reference() {
    check_backend(Backend::Portable);
}

/// A line in the test log whatever the harness captures: `println!`/`eprintln!` of a
/// passing test are swallowed, a direct write to stderr is not, so CI's log says which
/// backends this CPU actually tested.
fn announce(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "kernels: {line}");
}

#[test]
fn avx512bf16_matches_f64_reference_or_prints_skipped() {
    if !Backend::Avx512Bf16.is_available() {
        announce("skipped: no AVX-512-BF16 on this CPU");
        return;
    }
    check_backend(Backend::Avx512Bf16);
    announce("ran: the AVX-512-BF16 kernel matched the f64 reference");
}

#[test]
fn amx_matches_f64_reference_or_prints_skipped_no_amx() {
    if !Backend::Amx.is_available() {
        announce("skipped: no AMX on this CPU");
        return;
    }
    check_backend(Backend::Amx);
    announce("ran: the AMX kernel matched the f64 reference");
}

/// The bound is tight enough to notice A not being rounded to bf16: the same check
/// against the product of the *unrounded* A fails. (So a backend that skipped or
/// truncated the rounding would fail the tests above.)
#[test]
fn the_bound_detects_unrounded_inputs() {
    let (m, k, n) = (8, 576, 40);
    let a = data(m * k, 7);
    let b = PackedBf16::pack(&data(k * n, 8), k, n).unwrap();
    let mut out = vec![0.0f32; m * n];
    matmul_with(Backend::Portable, &a, m, &b, &mut out, false).unwrap();
    let zeros = vec![0.0f32; m * n];
    let (exact, mag) = reference(&a, &b.unpack(), m, k, n);
    assert!(first_violation(&out, &zeros, &exact, &mag, k).is_some());
    let (exact, mag) = reference(&rounded(&a), &b.unpack(), m, k, n);
    assert!(first_violation(&out, &zeros, &exact, &mag, k).is_none());
}

/// A NaN in one row of A poisons that row of the output only (padding lanes and rows
/// never leak into stored results).
#[test]
fn nan_stays_in_its_row() {
    let (m, k, n) = (5, 37, 19);
    let mut a = data(m * k, 3);
    a[2 * k + 11] = f32::NAN;
    let b = PackedBf16::pack(&data(k * n, 4), k, n).unwrap();
    for backend in Backend::available() {
        let mut out = vec![0.0f32; m * n];
        matmul_with(backend, &a, m, &b, &mut out, false).unwrap();
        for i in 0..m {
            let row = &out[i * n..(i + 1) * n];
            if i == 2 {
                assert!(row.iter().all(|x| x.is_nan()), "{backend}: row 2 {row:?}");
            } else {
                assert!(row.iter().all(|x| x.is_finite()), "{backend}: row {i} {row:?}");
            }
        }
    }
}

#[test]
fn shape_mismatches_are_errors() {
    let b = PackedBf16::pack(&data(6 * 4, 1), 6, 4).unwrap();
    let mut out = vec![0.0f32; 2 * 4];
    let err = matmul_with(Backend::Portable, &data(11, 1), 2, &b, &mut out, false);
    assert!(matches!(err, Err(KernelError::Shape(_))), "{err:?}");
    let mut short = vec![0.0f32; 7];
    let err = matmul_with(Backend::Portable, &data(12, 1), 2, &b, &mut short, false);
    assert!(matches!(err, Err(KernelError::Shape(_))), "{err:?}");
}

/// M = 0 writes nothing; K = 0 gives zeros (or leaves `out` when accumulating).
#[test]
fn empty_dimensions() {
    let b = PackedBf16::pack(&[], 0, 3).unwrap();
    let mut out = vec![5.0f32; 2 * 3];
    matmul_with(Backend::detect(), &[], 2, &b, &mut out, true).unwrap();
    assert_eq!(out, vec![5.0; 6]);
    matmul_with(Backend::detect(), &[], 2, &b, &mut out, false).unwrap();
    assert_eq!(out, vec![0.0; 6]);
    let b = PackedBf16::pack(&data(12, 1), 4, 3).unwrap();
    matmul_with(Backend::detect(), &[], 0, &b, &mut [], false).unwrap();
}
