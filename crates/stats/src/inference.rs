//! A paired difference with its standard error: intervals, p-values, power and TOST.

use crate::power::min_detectable;
use crate::variance::VarianceParts;
use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, Normal, StudentsT};

/// Student t quantile with `df` degrees of freedom (`df` may be fractional). Below
/// [`SERIES_DF`] statrs's inverse (exact to ~1e-14 there); above it the Cornish–Fisher
/// series of t around the normal quantile (Abramowitz & Stegun 26.7.5, four terms: relative
/// error below 1e-6 for `df` ≥ 100 out to p = 1 − 1e-6), where statrs's inverse drifts (~1e-4 at 1e6).
pub(crate) fn t_quantile(p: f64, df: f64) -> f64 {
    if df < SERIES_DF {
        return StudentsT::new(0.0, 1.0, df).expect("positive df").inverse_cdf(p);
    }
    let z = Normal::standard().inverse_cdf(p);
    let (z2, v) = (z * z, df);
    let g1 = (z2 + 1.0) * z / 4.0;
    let g2 = ((5.0 * z2 + 16.0) * z2 + 3.0) * z / 96.0;
    let g3 = (((3.0 * z2 + 19.0) * z2 + 17.0) * z2 - 15.0) * z / 384.0;
    let g4 = ((((79.0 * z2 + 776.0) * z2 + 1482.0) * z2 - 1920.0) * z2 - 945.0) * z / 92160.0;
    z + g1 / v + g2 / (v * v) + g3 / (v * v * v) + g4 / (v * v * v * v)
}

/// Degrees of freedom from which [`t_quantile`] uses the series.
const SERIES_DF: f64 = 100.0;

/// The estimate of a difference "method − baseline" and what can be said about it.
///
/// The variance of the difference has a part estimated from the seeds (`S − 1` degrees
/// of freedom: few) and a part estimated from the test examples (`N − 1`: many). Each
/// part gets its own Student-t quantile and the half-widths add in quadrature:
/// `h(α)² = t(1 − α/2, S − 1)²·A + t(1 − α/2, N − 1)²·E`. With seed noise dominating this
/// is the t interval over seeds, with example noise dominating the usual large-sample
/// one. A Satterthwaite t with estimated degrees of freedom was tried first and rejected:
/// when the seed part happens to come out small its degrees of freedom jump, and at 3
/// seeds its p-values below 0.01 were 4 times too frequent (family-wise error 26 % after
/// Holm over 12 deltas). The quadrature rule is conservative where both parts are alike
/// (coverage up to ~98 % at 3 seeds); `crates/stats/tests/calibration.rs` prints the rates.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Inference {
    /// The mean paired difference.
    pub delta: f64,
    /// Seed part `A` of its variance: the variance of the per-seed differences ÷ S
    /// (training noise and the seeds' own example noise; 0 with one seed).
    pub seed_var: f64,
    /// Example part `E = max(B − C, 0)`: test-set sampling (all of `B` with one seed).
    pub example_var: f64,
    /// Seeds paired.
    pub seeds: usize,
    /// Examples paired.
    pub examples: usize,
}

impl Inference {
    /// The inference for `delta` with variance `parts`.
    pub fn new(delta: f64, parts: &VarianceParts) -> Self {
        let example_var = if parts.seeds < 2 { parts.example } else { (parts.example - parts.interaction).max(0.0) };
        Self { delta, seed_var: parts.seed, example_var, seeds: parts.seeds, examples: parts.examples }
    }

    /// Standard error of the difference, `sqrt(A + E)`.
    pub fn se(&self) -> f64 {
        (self.seed_var + self.example_var).sqrt()
    }

    /// Share of the variance that is seed-to-seed (0 with one seed).
    pub fn seed_share(&self) -> f64 {
        let total = self.seed_var + self.example_var;
        if total > 0.0 { self.seed_var / total } else { 0.0 }
    }

    /// Degrees of freedom of the seed and example parts.
    fn dfs(&self) -> (f64, f64) {
        ((self.seeds.max(2) - 1) as f64, (self.examples.max(2) - 1) as f64)
    }

    /// The half-width of the two-sided interval at level `alpha` (see the type's doc).
    pub fn half_width(&self, alpha: f64) -> f64 {
        let (ds, de) = self.dfs();
        let q = 1.0 - alpha / 2.0;
        let seed = if self.seed_var > 0.0 { t_quantile(q, ds).powi(2) * self.seed_var } else { 0.0 };
        let example = if self.example_var > 0.0 { t_quantile(q, de).powi(2) * self.example_var } else { 0.0 };
        (seed + example).sqrt()
    }

    /// The two-sided `confidence` interval.
    pub fn interval(&self, confidence: f64) -> (f64, f64) {
        let half = self.half_width(1.0 - confidence);
        (self.delta - half, self.delta + half)
    }

    /// Two-sided p-value of "no difference": the level whose interval just reaches 0
    /// (found by bisection on log α to a relative 1e-6). 1 for a zero difference without
    /// noise, 0 for a non-zero one.
    pub fn p_value(&self) -> f64 {
        let d = self.delta.abs();
        if self.se() == 0.0 || d == 0.0 {
            return if d == 0.0 { 1.0 } else { 0.0 };
        }
        let (mut lo, mut hi) = (1e-16f64.ln(), 0.0f64);
        if self.half_width(lo.exp()) < d {
            return 0.0;
        }
        while hi - lo > 1e-6 {
            let mid = 0.5 * (lo + hi);
            if self.half_width(mid.exp()) > d {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        hi.exp()
    }

    /// The smallest true difference this comparison detects with probability `power` at
    /// two-sided level `alpha`: each part's exact t-test detectable multiple of its
    /// standard error ([`min_detectable`]), added in quadrature like the half-widths.
    pub fn min_detectable(&self, alpha: f64, power: f64) -> f64 {
        let (ds, de) = self.dfs();
        let seed = if self.seed_var > 0.0 { min_detectable(1.0, ds, alpha, power).powi(2) * self.seed_var } else { 0.0 };
        let example = if self.example_var > 0.0 { min_detectable(1.0, de, alpha, power).powi(2) * self.example_var } else { 0.0 };
        (seed + example).sqrt()
    }

    /// Two one-sided tests at level `alpha`: true when the `1 − 2·alpha` interval lies
    /// inside `(−margin, margin)`, i.e. the difference is shown to be smaller than the
    /// margin (a null result that is a result).
    pub fn equivalent(&self, margin: f64, alpha: f64) -> bool {
        let (low, high) = self.interval(1.0 - 2.0 * alpha);
        -margin < low && high < margin
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seeds_only(delta: f64, se: f64) -> Inference {
        Inference { delta, seed_var: se * se, example_var: 0.0, seeds: 3, examples: 100 }
    }

    fn examples_only(delta: f64, se: f64) -> Inference {
        Inference { delta, seed_var: 0.0, example_var: se * se, seeds: 1, examples: 1_000_001 }
    }

    #[test]
    fn t_quantiles_match_printed_tables() {
        // t(0.975, ν) from standard tables.
        for (df, want) in [(2.0, 4.302_653), (5.0, 2.570_582), (10.0, 2.228_139), (30.0, 2.042_272), (49.0, 2.009_575), (50.0, 2.008_559), (100.0, 1.983_972), (1000.0, 1.962_339), (1e6, 1.959_966)] {
            assert!((t_quantile(0.975, df) - want).abs() < 2e-6, "df {df}: {}", t_quantile(0.975, df));
        }
        assert!((t_quantile(0.8, 2.0) - 1.060_660).abs() < 2e-6);
        // The series against statrs's inverse where that is still exact, into the far tail.
        for df in [100.0, 199.0, 1000.0] {
            for p in [0.6, 0.975, 0.9995, 0.999_999] {
                let exact = StudentsT::new(0.0, 1.0, df).unwrap().inverse_cdf(p);
                assert!((t_quantile(p, df) - exact).abs() < 1e-6 * exact, "df {df}, p {p}: {} vs {exact}", t_quantile(p, df));
            }
        }
    }

    #[test]
    fn intervals_and_p_values_by_hand() {
        // Seeds only: the t interval over 3 seeds, t(0.975, 2) = 4.302653.
        let (lo, hi) = seeds_only(1.0, 0.5).interval(0.95);
        assert!((hi - (1.0 + 0.5 * 4.302_653)).abs() < 1e-5 && (lo - (1.0 - 0.5 * 4.302_653)).abs() < 1e-5, "{lo} {hi}");
        // With 2 df the t distribution function is 1/2 + t/(2·sqrt(2 + t²)): t = 2 gives
        // p = 1 − 2/sqrt(6) = 0.183503.
        let p = seeds_only(1.0, 0.5).p_value();
        assert!((p / (1.0 - 2.0 / 6f64.sqrt()) - 1.0).abs() < 1e-5, "{p}");
        // Examples only, 1e6 df: z-like.
        let (_, hi) = examples_only(0.0, 1.0).interval(0.95);
        assert!((hi - 1.959_966).abs() < 1e-5, "{hi}");
        // Both parts, 3 seeds and 101 examples: sqrt(4.302653² + 1.983972²) = 4.738033.
        let both = Inference { delta: 0.0, seed_var: 1.0, example_var: 1.0, seeds: 3, examples: 101 };
        assert!((both.half_width(0.05) - 4.738_033).abs() < 1e-5, "{}", both.half_width(0.05));
        assert!((both.se() - 2f64.sqrt()).abs() < 1e-15 && both.seed_share() == 0.5);
        // The p-value is the level whose interval touches 0.
        let x = Inference { delta: 3.0, ..both };
        let p = x.p_value();
        assert!((x.half_width(p) - 3.0).abs() < 1e-4, "p {p}");
        assert_eq!(seeds_only(0.0, 0.0).p_value(), 1.0);
        assert_eq!(seeds_only(0.1, 0.0).p_value(), 0.0);
    }

    #[test]
    fn the_detectable_difference_adds_the_parts_like_the_half_widths() {
        let m2 = min_detectable(1.0, 2.0, 0.05, 0.8);
        let m100 = min_detectable(1.0, 100.0, 0.05, 0.8);
        let x = Inference { delta: 0.0, seed_var: 0.04, example_var: 0.09, seeds: 3, examples: 101 };
        let want = (m2 * m2 * 0.04 + m100 * m100 * 0.09).sqrt();
        assert!((x.min_detectable(0.05, 0.8) - want).abs() < 1e-12);
        // Examples only at large df: (1.959964 + 0.841621)·se.
        assert!((examples_only(0.0, 0.5).min_detectable(0.05, 0.8) - 0.5 * 2.801_585).abs() < 1e-4);
    }

    #[test]
    fn equivalence_needs_the_90_percent_interval_inside_the_margin() {
        // 90 % interval at 1e6 df: ±1.644855·se.
        let x = examples_only(0.1, 0.2);
        assert!(x.equivalent(0.1 + 0.2 * 1.645 + 1e-3, 0.05));
        assert!(!x.equivalent(0.1 + 0.2 * 1.644, 0.05));
        assert!(!seeds_only(0.0, 1.0).equivalent(2.9, 0.05), "t(0.95, 2) = 2.92");
        assert!(seeds_only(0.0, 1.0).equivalent(2.93, 0.05));
    }
}
