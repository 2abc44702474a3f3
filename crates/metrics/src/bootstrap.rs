//! Paired bootstrap confidence intervals for the difference between two
//! systems scored on the same test examples.
//!
//! Each resample draws `n` example indices uniformly with replacement (from a
//! `rand::rngs::StdRng` seeded with `seed`) and recomputes the difference on
//! them; the interval is the percentile interval of those differences, with
//! `NumPy`'s default linear interpolation between order statistics. Results are
//! reproducible for a fixed seed and a fixed `rand` version (`StdRng` may
//! change its algorithm across `rand` releases).

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::error::{check_paired, MetricsError};

/// A bootstrap percentile interval for a difference "method − baseline".
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct BootstrapCi {
    /// The difference on the original (not resampled) examples.
    pub delta: f64,
    /// Lower end of the interval: the (1 − confidence)/2 quantile.
    pub low: f64,
    /// Upper end of the interval: the (1 + confidence)/2 quantile.
    pub high: f64,
    /// Number of bootstrap resamples drawn.
    pub resamples: usize,
    /// Two-sided confidence level, e.g. 0.95.
    pub confidence: f64,
    /// Whether 0 lies outside [low, high], i.e. the difference is significant
    /// at level 1 − confidence.
    pub excludes_zero: bool,
}

/// Paired bootstrap of `mean(method − baseline)`, where `method[i]` and
/// `baseline[i]` are the per-example scores of two systems on example `i`.
///
/// # Errors
///
/// [`MetricsError::LengthMismatch`] (naming both lengths) or
/// [`MetricsError::EmptyInput`] if the lengths differ or are zero,
/// [`MetricsError::NonFinite`] for a NaN or infinite score, and the errors of
/// [`bootstrap_statistic`] for `resamples` and `confidence`.
pub fn paired_bootstrap(
    method: &[f64],
    baseline: &[f64],
    resamples: usize,
    seed: u64,
    confidence: f64,
) -> Result<BootstrapCi, MetricsError> {
    check_paired("method", method.len(), "baseline", baseline.len())?;
    check_finite("method", method)?;
    check_finite("baseline", baseline)?;
    let differences: Vec<f64> = method.iter().zip(baseline).map(|(m, b)| m - b).collect();
    bootstrap_statistic(differences.len(), resamples, seed, confidence, |indices| {
        indices.iter().map(|&i| differences[i]).sum::<f64>() / indices.len() as f64
    })
}

/// Bootstrap percentile interval of an arbitrary paired statistic over `n`
/// examples, for metrics that are not means of per-example values (e.g. the
/// difference in macro-F1 between two classifiers).
///
/// `statistic` receives the example indices of one resample (length `n`,
/// with repeats) and returns the difference on them; `delta` is its value on
/// the indices `0..n`. NaN statistics propagate into the interval.
///
/// # Errors
///
/// [`MetricsError::EmptyInput`] if `n` is 0, [`MetricsError::ZeroResamples`]
/// if `resamples` is 0, and [`MetricsError::InvalidConfidence`] unless
/// `0 < confidence < 1`.
pub fn bootstrap_statistic<F: FnMut(&[usize]) -> f64>(
    n: usize,
    resamples: usize,
    seed: u64,
    confidence: f64,
    mut statistic: F,
) -> Result<BootstrapCi, MetricsError> {
    if n == 0 {
        return Err(MetricsError::EmptyInput { what: "examples" });
    }
    if resamples == 0 {
        return Err(MetricsError::ZeroResamples);
    }
    if !(confidence > 0.0 && confidence < 1.0) {
        return Err(MetricsError::InvalidConfidence(confidence));
    }
    let mut indices: Vec<usize> = (0..n).collect();
    let delta = statistic(&indices);
    let mut rng = StdRng::seed_from_u64(seed);
    let mut draws = Vec::with_capacity(resamples);
    for _ in 0..resamples {
        for slot in &mut indices {
            *slot = rng.random_range(0..n);
        }
        draws.push(statistic(&indices));
    }
    draws.sort_by(f64::total_cmp);
    let tail = (1.0 - confidence) / 2.0;
    let low = quantile_sorted(&draws, tail);
    let high = quantile_sorted(&draws, 1.0 - tail);
    Ok(BootstrapCi {
        delta,
        low,
        high,
        resamples,
        confidence,
        excludes_zero: low > 0.0 || high < 0.0,
    })
}

/// The `q`-quantile of non-empty sorted values, interpolating linearly
/// between order statistics (`NumPy`'s default `method="linear"`).
fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    let position = q * (sorted.len() - 1) as f64;
    let below = position.floor() as usize;
    let above = (below + 1).min(sorted.len() - 1);
    let fraction = position - below as f64;
    sorted[below] + fraction * (sorted[above] - sorted[below])
}

fn check_finite(what: &'static str, values: &[f64]) -> Result<(), MetricsError> {
    match values.iter().position(|v| !v.is_finite()) {
        Some(index) => Err(MetricsError::NonFinite {
            what,
            index,
            value: values[index],
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic noise in [-1, 1) from a seeded generator.
    fn noise(n: usize, seed: u64) -> Vec<f64> {
        let mut rng = StdRng::seed_from_u64(seed);
        (0..n).map(|_| rng.random_range(-1.0..1.0)).collect()
    }

    #[test]
    fn quantiles_match_numpy_linear() {
        // np.percentile([1,2,3,4], 50) = 2.5; np.quantile(range(101), .025) = 2.5
        assert_eq!(quantile_sorted(&[1.0, 2.0, 3.0, 4.0], 0.5), 2.5);
        let hundred: Vec<f64> = (0..=100).map(f64::from).collect();
        assert!((quantile_sorted(&hundred, 0.025) - 2.5).abs() < 1e-12);
        assert!((quantile_sorted(&hundred, 0.975) - 97.5).abs() < 1e-12);
        assert_eq!(quantile_sorted(&[7.0], 0.975), 7.0);
    }

    #[test]
    fn fixed_seed_is_deterministic() {
        let method = noise(60, 1);
        let baseline = noise(60, 2);
        let a = paired_bootstrap(&method, &baseline, 500, 42, 0.95).expect("valid");
        let b = paired_bootstrap(&method, &baseline, 500, 42, 0.95).expect("valid");
        assert_eq!(a, b);
        let c = paired_bootstrap(&method, &baseline, 500, 43, 0.95).expect("valid");
        assert_eq!(a.delta, c.delta);
        assert_ne!((a.low, a.high), (c.low, c.high));
    }

    #[test]
    fn constant_difference_gives_a_point_interval() {
        let baseline: Vec<f64> = noise(50, 3).iter().map(|x| 0.5 + 0.4 * x).collect();
        let method: Vec<f64> = baseline.iter().map(|b| b + 0.1).collect();
        let ci = paired_bootstrap(&method, &baseline, 1000, 0, 0.95).expect("valid");
        for value in [ci.delta, ci.low, ci.high] {
            assert!((value - 0.1).abs() < 1e-12, "{ci:?}");
        }
        assert!(ci.excludes_zero);
        assert_eq!((ci.resamples, ci.confidence), (1000, 0.95));
    }

    #[test]
    fn identical_systems_do_not_differ() {
        let scores = noise(80, 4);
        let ci = paired_bootstrap(&scores, &scores, 1000, 0, 0.95).expect("valid");
        assert_eq!((ci.delta, ci.low, ci.high), (0.0, 0.0, 0.0));
        assert!(!ci.excludes_zero);
    }

    #[test]
    fn zero_mean_noise_interval_contains_zero() {
        // Differences alternate +1, -1: mean exactly 0.
        let method: Vec<f64> = (0..100)
            .map(|i| if i % 2 == 0 { 1.0 } else { 0.0 })
            .collect();
        let baseline: Vec<f64> = (0..100)
            .map(|i| if i % 2 == 0 { 0.0 } else { 1.0 })
            .collect();
        let ci = paired_bootstrap(&method, &baseline, 2000, 7, 0.95).expect("valid");
        assert_eq!(ci.delta, 0.0);
        assert!(ci.low < 0.0 && ci.high > 0.0, "{ci:?}");
        assert!(!ci.excludes_zero);
    }

    #[test]
    fn clearly_positive_difference_excludes_zero() {
        // Mean difference 0.05, per-example noise sd 0.1/sqrt(3) ~ 0.058,
        // standard error ~ 0.004 at n = 200.
        let baseline: Vec<f64> = noise(200, 5).iter().map(|x| 0.4 + 0.2 * x).collect();
        let jitter = noise(200, 6);
        let method: Vec<f64> = baseline
            .iter()
            .zip(&jitter)
            .map(|(b, j)| b + 0.05 + 0.1 * j)
            .collect();
        let ci = paired_bootstrap(&method, &baseline, 2000, 11, 0.95).expect("valid");
        assert!(ci.excludes_zero && ci.low > 0.0, "{ci:?}");
        assert!(ci.low < ci.delta && ci.delta < ci.high);
        // ... and the reversed comparison is significantly negative.
        let reversed = paired_bootstrap(&baseline, &method, 2000, 11, 0.95).expect("valid");
        assert!(reversed.excludes_zero && reversed.high < 0.0);
    }

    #[test]
    fn width_matches_normal_theory() {
        // Differences +-1 with population sd exactly 1: the bootstrap mean
        // has sd 1/sqrt(n), so the 95% interval is ~ 2 * 1.96 / sqrt(n) wide.
        let n = 400;
        let method: Vec<f64> = (0..n)
            .map(|i| if i % 2 == 0 { 1.0 } else { -1.0 })
            .collect();
        let baseline = vec![0.0; n];
        let ci = paired_bootstrap(&method, &baseline, 5000, 3, 0.95).expect("valid");
        let expected = 2.0 * 1.959964 / (n as f64).sqrt();
        let ratio = (ci.high - ci.low) / expected;
        assert!((0.9..1.1).contains(&ratio), "width ratio {ratio}, {ci:?}");
        // A 50% interval is ~ 2 * 0.6745 / sqrt(n) wide.
        let half = paired_bootstrap(&method, &baseline, 5000, 3, 0.5).expect("valid");
        let ratio = (half.high - half.low) / (2.0 * 0.674490 / (n as f64).sqrt());
        assert!(
            (0.85..1.15).contains(&ratio),
            "width ratio {ratio}, {half:?}"
        );
    }

    #[test]
    fn coverage_is_near_nominal() {
        // 300 simulated test sets of 60 examples with true mean difference
        // 0.2; a 90% interval should cover 0.2 about 90% of the time.
        let trials = 300;
        let mut covered = 0;
        for trial in 0..trials {
            let method: Vec<f64> = noise(60, 1000 + trial).iter().map(|x| 0.2 + x).collect();
            let baseline = vec![0.0; 60];
            let ci = paired_bootstrap(&method, &baseline, 400, trial, 0.9).expect("valid");
            if ci.low <= 0.2 && 0.2 <= ci.high {
                covered += 1;
            }
        }
        let rate = covered as f64 / trials as f64;
        assert!((0.84..=0.96).contains(&rate), "coverage {rate}");
    }

    #[test]
    fn rejects_bad_input() {
        let err = paired_bootstrap(&[1.0, 2.0, 3.0], &[1.0], 10, 0, 0.95).unwrap_err();
        assert_eq!(
            err.to_string(),
            "length mismatch: method has 3 values but baseline has 1"
        );
        assert_eq!(
            paired_bootstrap(&[], &[], 10, 0, 0.95).unwrap_err(),
            MetricsError::EmptyInput { what: "method" }
        );
        assert_eq!(
            paired_bootstrap(&[1.0], &[0.0], 0, 0, 0.95).unwrap_err(),
            MetricsError::ZeroResamples
        );
        for confidence in [0.0, 1.0, 1.5, -0.1] {
            assert_eq!(
                paired_bootstrap(&[1.0], &[0.0], 10, 0, confidence).unwrap_err(),
                MetricsError::InvalidConfidence(confidence)
            );
        }
        assert!(matches!(
            paired_bootstrap(&[1.0], &[0.0], 10, 0, f64::NAN),
            Err(MetricsError::InvalidConfidence(_))
        ));
        assert!(matches!(
            paired_bootstrap(&[1.0, 2.0], &[0.0, f64::NAN], 10, 0, 0.95),
            Err(MetricsError::NonFinite {
                what: "baseline",
                index: 1,
                ..
            })
        ));
        assert!(matches!(
            bootstrap_statistic(0, 10, 0, 0.95, |_| 0.0),
            Err(MetricsError::EmptyInput { what: "examples" })
        ));
    }

    #[test]
    fn generic_statistic_sees_resampled_indices() {
        // With n = 1 every resample is [0]; the statistic is evaluated once
        // for delta and once per resample.
        let mut calls = 0;
        let ci = bootstrap_statistic(1, 25, 0, 0.95, |indices| {
            calls += 1;
            assert_eq!(indices, [0]);
            2.0
        })
        .expect("valid");
        assert_eq!(calls, 26);
        assert_eq!((ci.delta, ci.low, ci.high), (2.0, 2.0, 2.0));
    }
}
