//! The f64 reference and the error bound every backend is held to.

pub use loran_kernels::bench::data;

/// Unit roundoff of f32 (round to nearest).
pub const U: f64 = 1.0 / (1u64 << 24) as f64;

/// (exact product, Σ|a·b|) per output element, in f64, of the given (already
/// bf16-rounded, or not) A [M, K] and B [K, N]. Products of bf16 values are exact in f64.
pub fn reference(a: &[f32], b: &[f32], m: usize, k: usize, n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut exact = vec![0.0f64; m * n];
    let mut mag = vec![0.0f64; m * n];
    for i in 0..m {
        for kk in 0..k {
            let x = a[i * k + kk] as f64;
            for j in 0..n {
                let p = x * b[kk * n + j] as f64;
                exact[i * n + j] += p;
                mag[i * n + j] += p.abs();
            }
        }
    }
    (exact, mag)
}

/// `x` rounded to bf16 by `half` (RNE), independent of the crate's own rounding, so a
/// kernel that rounds differently fails the bound.
pub fn rounded(x: &[f32]) -> Vec<f32> {
    x.iter().map(|&v| half::bf16::from_f32(v).to_f32()).collect()
}

/// Row-major [N, K] → [K, N].
pub fn transpose(w: &[f32], n: usize, k: usize) -> Vec<f32> {
    (0..k * n).map(|i| w[(i % n) * k + i / n]).collect()
}

/// Where `got` leaves the bound, as (index, got, exact, bound).
///
/// Bound: the products are exact in f32 (bf16 × bf16 has 16 significant bits) and
/// every backend adds them, plus the initial value c0, one at a time in f32 (K-blocking
/// passes partial sums through memory exactly), so recursive summation of K + 1 terms
/// gives |got − exact| ≤ γ_{K+1}·(|c0| + Σ|a·b|), γ_j = j·u/(1 − j·u), u = 2⁻²⁴.
/// We use (K + 2)·u for γ_{K+1} (valid for K·u ≪ 1) and add 1e-30 for flushed
/// subnormals (`vdpbf16ps`/`tdpbf16ps` flush to zero; our data never gets that small).
pub fn first_violation(got: &[f32], c0: &[f32], exact: &[f64], mag: &[f64], k: usize) -> Option<(usize, f32, f64, f64)> {
    let gamma = (k as f64 + 2.0) * U;
    (0..got.len()).find_map(|i| {
        let want = c0[i] as f64 + exact[i];
        let bound = gamma * (c0[i].abs() as f64 + mag[i]) + 1e-30;
        let err = (got[i] as f64 - want).abs();
        (err.is_nan() || err > bound).then_some((i, got[i], want, bound))
    })
}
