//! Power of the two-sided t test, and the smallest difference it detects.
//!
//! With estimate `D ~ N(δ, se²)` and `se²` estimated with `ν` degrees of freedom, the
//! test statistic is noncentral t: `T = (Z + λ)/sqrt(χ²_ν/ν)` with `λ = δ/se`. Its power
//! is `P(|T| > c)` for the critical value `c = t(1 − α/2, ν)`. Conditioning on
//! `s = sqrt(χ²_ν/ν)` gives `E_s[Φ(λ − c·s) + Φ(−λ − c·s)]`, a one-dimensional integral
//! computed here by Simpson's rule over the density of `s`. The minimum detectable
//! difference is the `δ` where the power reaches the target (bisection).

use crate::inference::t_quantile;
use statrs::distribution::{ChiSquared, Continuous, ContinuousCDF, Normal};

/// Degrees of freedom above which `s` is taken as exactly 1 (the normal test; the power
/// then differs from the t test's by < 1e-5).
const NORMAL_DF: f64 = 1e5;

/// Simpson intervals over `s` (even).
const STEPS: usize = 4000;

/// Power of the two-sided level-`alpha` t test with `df` degrees of freedom when the
/// true difference is `lambda` standard errors.
pub fn power_two_sided(lambda: f64, df: f64, alpha: f64) -> f64 {
    let normal = Normal::standard();
    if df >= NORMAL_DF {
        let c = normal.inverse_cdf(1.0 - alpha / 2.0);
        return normal.cdf(lambda - c) + normal.cdf(-lambda - c);
    }
    let c = t_quantile(1.0 - alpha / 2.0, df);
    let reject = |s: f64| normal.cdf(lambda - c * s) + normal.cdf(-lambda - c * s);
    // s = sqrt(χ²/ν) has density f(s) = 2νs · pdf_χ²ν(νs²).
    let chi = ChiSquared::new(df).expect("positive df");
    let density = |s: f64| if s <= 0.0 { 0.0 } else { 2.0 * df * s * chi.pdf(df * s * s) };
    // Beyond 1 + 15·sqrt(2/ν) the upper tail of s is far below 1e-12 (and finite for ν ≥ 1).
    let top = 1.0 + 15.0 * (2.0 / df).sqrt();
    let h = top / STEPS as f64;
    let term = |k: usize| {
        let s = k as f64 * h;
        let weight = if k == 0 || k == STEPS { 1.0 } else if k % 2 == 1 { 4.0 } else { 2.0 };
        weight * density(s) * reject(s)
    };
    ((0..=STEPS).map(term).sum::<f64>() * h / 3.0).clamp(0.0, 1.0)
}

/// The smallest true difference a two-sided level-`alpha` t test with standard error `se`
/// and `df` degrees of freedom detects with probability `power`.
pub fn min_detectable(se: f64, df: f64, alpha: f64, power: f64) -> f64 {
    if se == 0.0 {
        return 0.0;
    }
    let (mut lo, mut hi) = (0.0, 1.0);
    while power_two_sided(hi, df, alpha) < power {
        (lo, hi) = (hi, hi * 2.0);
    }
    for _ in 0..60 {
        let mid = 0.5 * (lo + hi);
        if power_two_sided(mid, df, alpha) < power {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    se * 0.5 * (lo + hi)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;
    use rand_distr::{ChiSquared as ChiDraw, Distribution, StandardNormal};

    #[test]
    fn the_normal_case_by_hand() {
        // z(0.975) + z(0.80) = 1.959964 + 0.841621 = 2.801585; the far tail Φ(−λ − c)
        // adds ~1e-8 of power, moving λ by less than 1e-6.
        let m = min_detectable(1.0, 1e9, 0.05, 0.80);
        assert!((m - 2.801_585).abs() < 1e-4, "{m}");
        assert!((min_detectable(0.25, 1e9, 0.05, 0.8) - 0.25 * m).abs() < 1e-9, "scales with se");
        // At λ = 0 the power is the level.
        assert!((power_two_sided(0.0, 1e9, 0.05) - 0.05).abs() < 1e-9);
        assert!((power_two_sided(0.0, 2.0, 0.05) - 0.05).abs() < 1e-6, "the integral at df 2");
        assert!((power_two_sided(0.0, 30.0, 0.05) - 0.05).abs() < 1e-6);
    }

    #[test]
    fn few_degrees_of_freedom_need_larger_differences_as_a_simulation_confirms() {
        let m2 = min_detectable(1.0, 2.0, 0.05, 0.80);
        let m30 = min_detectable(1.0, 30.0, 0.05, 0.80);
        assert!(m2 > m30 && m30 > 2.80, "{m2} {m30}");
        // Monte Carlo of the noncentral t at λ = m2: 200000 draws, power sd 0.0009.
        let mut rng = StdRng::seed_from_u64(3);
        let chi = ChiDraw::new(2.0).unwrap();
        let c = 4.302_653;
        let draws = 200_000;
        let hits = (0..draws)
            .filter(|_| {
                let z: f64 = StandardNormal.sample(&mut rng);
                let t = (z + m2) / (chi.sample(&mut rng) / 2.0f64).sqrt();
                t.abs() > c
            })
            .count();
        let rate = hits as f64 / draws as f64;
        assert!((rate - 0.80).abs() < 0.005, "simulated power {rate} at λ = {m2}");
    }
}
