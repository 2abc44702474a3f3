//! Holm–Bonferroni adjusted p-values for one family of tests.
//!
//! Sort the `m` p-values ascending; the `k`-th smallest (1-based) is multiplied by
//! `m − k + 1`, running maxima keep the order, and values cap at 1. Rejecting where the
//! adjusted p-value is below α keeps the family-wise error at most α under any dependence
//! between the tests (Holm 1979), and rejects at least what Bonferroni rejects.

/// Holm-adjusted p-values, in the order given. NaN p-values stay NaN and do not count
/// toward the family size.
pub fn holm(p: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..p.len()).filter(|&i| !p[i].is_nan()).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]).then(a.cmp(&b)));
    let m = order.len();
    let mut adjusted = vec![f64::NAN; p.len()];
    let mut running: f64 = 0.0;
    for (k, &i) in order.iter().enumerate() {
        running = running.max(((m - k) as f64 * p[i]).min(1.0));
        adjusted[i] = running;
    }
    adjusted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_family() {
        // Sorted 0.01, 0.02, 0.03, 0.04 (m = 4): ×4, ×3, ×2, ×1 = 0.04, 0.06, 0.06, 0.04,
        // then running maxima 0.04, 0.06, 0.06, 0.06.
        let adjusted = holm(&[0.03, 0.01, 0.04, 0.02]);
        let want = [0.06, 0.04, 0.06, 0.06];
        for (a, w) in adjusted.iter().zip(want) {
            assert!((a - w).abs() < 1e-12, "{adjusted:?}");
        }
        // At α = 0.05 only the smallest is rejected; Bonferroni (×4) agrees here.
        assert_eq!(adjusted.iter().filter(|&&a| a < 0.05).count(), 1);
    }

    #[test]
    fn holm_rejects_what_bonferroni_misses_and_caps_at_one() {
        // m = 3: 0.012·3 = 0.036, 0.02·2 = 0.04, 0.9·1 = 0.9. Bonferroni's 0.06 misses the second.
        let adjusted = holm(&[0.9, 0.02, 0.012]);
        assert!((adjusted[2] - 0.036).abs() < 1e-12 && (adjusted[1] - 0.04).abs() < 1e-12 && (adjusted[0] - 0.9).abs() < 1e-12);
        assert_eq!(holm(&[0.6, 0.7]), vec![1.0, 1.0]);
    }

    #[test]
    fn nan_is_left_out_of_the_family() {
        let adjusted = holm(&[0.01, f64::NAN, 0.04]);
        assert!(adjusted[1].is_nan());
        assert!((adjusted[0] - 0.02).abs() < 1e-12 && (adjusted[2] - 0.04).abs() < 1e-12);
        assert!(holm(&[]).is_empty());
    }
}
