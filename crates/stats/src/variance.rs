//! The variance of a mean paired difference over seeds × examples.
//!
//! Model: the difference of seed `s` on example `i` is `x[s][i] = δ + a_s + b_i + e_si`,
//! with independent seed effects `a` (variance σ²_a: training noise), example effects
//! `b` (σ²_b: which examples the test set drew) and interactions `e` (σ²_e). The mean
//! `D` over `S` seeds and `N` examples has
//!
//! `Var(D) = σ²_a/S + σ²_b/N + σ²_e/(S·N)`.
//!
//! The two-way ANOVA mean squares estimate it without bias:
//! `Var(D) = (MS_seed + MS_example − MS_residual)/(S·N)`, written here as `A + B − C`:
//! - `A` = variance of the per-seed means `d_s` over seeds, ÷ S (training noise, plus a
//!   share of the interaction);
//! - `B` = variance of the per-example means over examples, ÷ N (test-set sampling, plus
//!   a share of the interaction);
//! - `C` = `MS_residual/(S·N)`, the interaction both `A` and `B` count.
//!
//! For statistics that are not a mean of per-example values (token-weighted loss,
//! macro-F1), [`two_stage_bootstrap`] gets `B` and `C` from an example bootstrap shared
//! by all seeds, and `A` from the seeds' full-test-set differences.

use crate::StatsError;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// The three variance parts of a mean paired difference (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VarianceParts {
    /// Between-seed part `A` (0 with one seed).
    pub seed: f64,
    /// Between-example part `B`.
    pub example: f64,
    /// Interaction part `C`, counted in both `A` and `B` (0 with one seed).
    pub interaction: f64,
    /// Seeds `S`.
    pub seeds: usize,
    /// Examples `N`.
    pub examples: usize,
}

impl VarianceParts {
    /// `Var(D)` estimate `A + max(B − C, 0)`: `B − C` estimates σ²_b/N, a variance, so a
    /// negative value is noise and counts as 0.
    pub fn total(&self) -> f64 {
        self.seed + (self.example - self.interaction).max(0.0)
    }
}

/// Sample variance (denominator n − 1; 0 for fewer than two values).
pub(crate) fn sample_variance(values: impl Iterator<Item = f64> + Clone) -> f64 {
    let (n, sum) = values.clone().fold((0usize, 0.0), |(n, s), v| (n + 1, s + v));
    if n < 2 {
        return 0.0;
    }
    let mean = sum / n as f64;
    values.map(|v| (v - mean) * (v - mean)).sum::<f64>() / (n - 1) as f64
}

/// The mean difference and its [`VarianceParts`] from per-seed, per-example paired
/// differences `x[s][i]` (method − baseline, same seed, same example).
pub fn from_differences(x: &[Vec<f64>]) -> Result<(f64, VarianceParts), StatsError> {
    let seeds = x.len();
    let examples = x.first().map_or(0, Vec::len);
    check_shape(x)?;
    let (s, n) = (seeds as f64, examples as f64);
    let seed_means: Vec<f64> = x.iter().map(|row| row.iter().sum::<f64>() / n).collect();
    let example_means: Vec<f64> = (0..examples).map(|i| x.iter().map(|row| row[i]).sum::<f64>() / s).collect();
    let delta = seed_means.iter().sum::<f64>() / s;
    let example = sample_variance(example_means.iter().copied()) / n;
    let (seed, interaction) = if seeds < 2 {
        (0.0, 0.0)
    } else {
        // Mean over seeds of the within-seed variance of the mean, minus B, over S − 1.
        let within = x.iter().map(|row| sample_variance(row.iter().copied()) / n).sum::<f64>() / s;
        (sample_variance(seed_means.iter().copied()) / s, ((within - example) / (s - 1.0)).max(0.0))
    };
    Ok((delta, VarianceParts { seed, example, interaction, seeds, examples }))
}

fn check_shape(x: &[Vec<f64>]) -> Result<(), StatsError> {
    let want = x.first().ok_or(StatsError::Empty("seeds"))?.len();
    if want == 0 {
        return Err(StatsError::Empty("examples"));
    }
    if let Some((seed, row)) = x.iter().enumerate().find(|(_, row)| row.len() != want) {
        return Err(StatsError::Ragged { seed, got: row.len(), want });
    }
    if x.iter().flatten().any(|v| !v.is_finite()) {
        return Err(StatsError::NotFinite("paired difference"));
    }
    Ok(())
}

/// The mean difference and its [`VarianceParts`] for any statistic of a seed's examples:
/// `diff(s, idx)` is "method − baseline" of seed `s` on the examples `idx` (indices into
/// `0..examples`, repeats allowed). `A` comes from the seeds' differences on the whole
/// test set; `B` and `C` from `resamples` example bootstraps (one draw of examples shared
/// by all seeds, from a `StdRng` seeded with `rng_seed`), scaled by `N/(N − 1)` so that for
/// a mean they estimate what [`from_differences`] computes exactly.
pub fn two_stage_bootstrap(
    seeds: usize,
    examples: usize,
    resamples: usize,
    rng_seed: u64,
    mut diff: impl FnMut(usize, &[usize]) -> f64,
) -> Result<(f64, VarianceParts), StatsError> {
    if seeds == 0 {
        return Err(StatsError::Empty("seeds"));
    }
    if examples == 0 || resamples < 2 {
        return Err(StatsError::Empty(if examples == 0 { "examples" } else { "resamples" }));
    }
    let all: Vec<usize> = (0..examples).collect();
    let full: Vec<f64> = (0..seeds).map(|s| diff(s, &all)).collect();
    if full.iter().any(|v| !v.is_finite()) {
        return Err(StatsError::NotFinite("statistic"));
    }
    let mut rng = StdRng::seed_from_u64(rng_seed);
    let mut idx = vec![0usize; examples];
    // replicates[b][s]
    let mut replicates: Vec<Vec<f64>> = Vec::with_capacity(resamples);
    for _ in 0..resamples {
        idx.iter_mut().for_each(|i| *i = rng.random_range(0..examples));
        let row: Vec<f64> = (0..seeds).map(|s| diff(s, &idx)).collect();
        if row.iter().all(|v| v.is_finite()) {
            replicates.push(row);
        }
    }
    if replicates.len() < 2 {
        return Err(StatsError::NotFinite("statistic"));
    }
    let (s, n) = (seeds as f64, examples as f64);
    let correction = if examples > 1 { n / (n - 1.0) } else { 1.0 };
    let mean_over_seeds = replicates.iter().map(|row| row.iter().sum::<f64>() / s);
    let example = sample_variance(mean_over_seeds) * correction;
    let (seed, interaction) = if seeds < 2 {
        (0.0, 0.0)
    } else {
        let within = (0..seeds).map(|k| sample_variance(replicates.iter().map(|row| row[k]))).sum::<f64>() / s * correction;
        (sample_variance(full.iter().copied()) / s, ((within - example) / (s - 1.0)).max(0.0))
    };
    Ok((full.iter().sum::<f64>() / s, VarianceParts { seed, example, interaction, seeds, examples }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_match_the_anova_mean_squares_by_hand() {
        // 2 seeds × 3 examples. Seed means 2, 4 (D = 3); example means 2, 3, 4.
        let x = vec![vec![1.0, 2.0, 3.0], vec![3.0, 4.0, 5.0]];
        let (delta, p) = from_differences(&x).unwrap();
        assert_eq!(delta, 3.0);
        // A = var(2, 4)/2 = 2/2 = 1; B = var(2, 3, 4)/3 = 1/3.
        assert!((p.seed - 1.0).abs() < 1e-12 && (p.example - 1.0 / 3.0).abs() < 1e-12, "{p:?}");
        // No interaction: each seed's variance of the mean is 1/3 = B, so C = 0.
        assert_eq!(p.interaction, 0.0);
        // MS_seed = 3·var(2,4) = 6, MS_ex = 2·var(2,3,4) = 2, MS_res = 0: (6 + 2 − 0)/6.
        assert!((p.total() - 8.0 / 6.0).abs() < 1e-12);
    }

    #[test]
    fn the_interaction_is_the_residual_mean_square() {
        // Seed 0: 0, 2; seed 1: 2, 0. Seed means 1, 1; example means 1, 1: all in e.
        let x = vec![vec![0.0, 2.0], vec![2.0, 0.0]];
        let (_, p) = from_differences(&x).unwrap();
        assert_eq!((p.seed, p.example), (0.0, 0.0));
        // SS_res = 4 over (2−1)(2−1) df: MS_res = 4, C = 4/(2·2) = 1. B − C < 0 counts as 0.
        assert!((p.interaction - 1.0).abs() < 1e-12);
        assert_eq!(p.total(), 0.0);
    }

    #[test]
    fn one_seed_is_test_set_sampling_only() {
        let (delta, p) = from_differences(&[vec![1.0, 2.0, 6.0]]).unwrap();
        assert_eq!(delta, 3.0);
        assert_eq!((p.seed, p.interaction, p.seeds), (0.0, 0.0, 1));
        assert!((p.example - 7.0 / 3.0).abs() < 1e-12, "var(1,2,6) = 7, ÷3");
    }

    #[test]
    fn bad_shapes_and_values_are_errors() {
        assert_eq!(from_differences(&[]).unwrap_err(), StatsError::Empty("seeds"));
        assert_eq!(from_differences(&[vec![]]).unwrap_err(), StatsError::Empty("examples"));
        assert_eq!(from_differences(&[vec![1.0], vec![1.0, 2.0]]).unwrap_err(), StatsError::Ragged { seed: 1, got: 2, want: 1 });
        assert_eq!(from_differences(&[vec![f64::NAN]]).unwrap_err(), StatsError::NotFinite("paired difference"));
    }

    #[test]
    fn the_bootstrap_path_agrees_with_the_exact_one_for_a_mean() {
        // A deterministic, irregular 3 × 60 table with seed, example and interaction parts.
        let x: Vec<Vec<f64>> = (0..3)
            .map(|s| (0..60).map(|i| 0.1 * s as f64 + ((i * 37 % 11) as f64 - 5.0) * 0.05 + ((s * 7 + i * 13) % 5) as f64 * 0.02).collect())
            .collect();
        let (exact_delta, exact) = from_differences(&x).unwrap();
        let mean = |s: usize, idx: &[usize]| idx.iter().map(|&i| x[s][i]).sum::<f64>() / idx.len() as f64;
        let (delta, boot) = two_stage_bootstrap(3, 60, 20_000, 7, mean).unwrap();
        assert!((delta - exact_delta).abs() < 1e-12);
        assert!((boot.seed - exact.seed).abs() < 1e-12, "A is computed the same way");
        // 20000 resamples: a variance estimate's relative sd is about sqrt(2/20000) = 1 %.
        for (got, want, what) in [(boot.example, exact.example, "B"), (boot.total(), exact.total(), "total")] {
            assert!((got / want - 1.0).abs() < 0.05, "{what}: bootstrap {got} vs exact {want}");
        }
        assert!((boot.interaction - exact.interaction).abs() < 0.1 * exact.interaction + 1e-6, "{boot:?} vs {exact:?}");
    }
}
