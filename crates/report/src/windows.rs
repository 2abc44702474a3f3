//! Windowed means of training losses pooled over a group's runs, with the batch noise
//! of each mean: what a loss curve needs to show whether a fall is larger than the
//! step-to-step scatter of small batches.

/// The mean loss of one window of steps, pooled over runs.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowMean {
    /// Mean step of the pooled points (where the window is drawn).
    pub step: f64,
    /// Mean loss of the pooled points.
    pub mean: f64,
    /// Standard error of `mean`: the sample standard deviation of the pooled losses over
    /// √n (0 when n = 1). Steps see independent batches, so this is batch noise.
    pub se: f64,
    /// Number of (run, step) losses pooled.
    pub n: usize,
}

/// Steps per window for runs of up to `max_steps` steps: a tenth of them, at least one.
pub fn window_for(max_steps: usize) -> usize {
    max_steps.div_ceil(10).max(1)
}

/// Means of `points` ((step, loss) pairs of any number of runs; steps count from 1) in
/// consecutive windows of `window` steps (steps 1..=window, then window+1..=2·window, …).
/// Windows without points are left out; the result is in step order.
pub fn window_means(points: &[(f64, f64)], window: usize) -> Vec<WindowMean> {
    assert!(window >= 1, "a window holds at least one step");
    let mut bins: std::collections::BTreeMap<i64, Vec<(f64, f64)>> = Default::default();
    for &(step, loss) in points {
        let index = ((step - 1.0) / window as f64).floor() as i64;
        bins.entry(index).or_default().push((step, loss));
    }
    bins.into_values()
        .map(|bin| {
            let n = bin.len();
            let losses: Vec<f64> = bin.iter().map(|p| p.1).collect();
            let summary = loran_metrics::stats::summarize(&losses);
            let se = summary.std.map_or(0.0, |sd| sd / (n as f64).sqrt());
            WindowMean { step: bin.iter().map(|p| p.0).sum::<f64>() / n as f64, mean: summary.mean, se, n }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_pool_runs_and_give_the_standard_error() {
        // Two runs over steps 1..=4, windows of 2 steps.
        let points = [(1.0, 4.0), (2.0, 2.0), (3.0, 1.0), (4.0, 1.0), (1.0, 2.0), (2.0, 4.0), (3.0, 3.0), (4.0, 1.0)];
        let w = window_means(&points, 2);
        assert_eq!(w.len(), 2);
        assert_eq!((w[0].step, w[0].mean, w[0].n), (1.5, 3.0, 4));
        // Losses 4, 2, 2, 4: sample variance 4/3, so se = sqrt(4/3)/2.
        assert!((w[0].se - (4.0f64 / 3.0).sqrt() / 2.0).abs() < 1e-12, "{}", w[0].se);
        assert_eq!((w[1].step, w[1].mean), (3.5, 1.5));
        // Losses 1, 1, 3, 1: mean 1.5, sample variance 1.
        assert!((w[1].se - 0.5).abs() < 1e-12);
    }

    #[test]
    fn a_lone_point_has_no_spread_and_empty_windows_are_skipped() {
        let w = window_means(&[(1.0, 2.0), (7.0, 5.0)], 3);
        assert_eq!(w, vec![WindowMean { step: 1.0, mean: 2.0, se: 0.0, n: 1 }, WindowMean { step: 7.0, mean: 5.0, se: 0.0, n: 1 }]);
        assert!(window_means(&[], 3).is_empty());
    }

    #[test]
    fn the_window_is_a_tenth_of_the_longest_run() {
        assert_eq!((window_for(0), window_for(9), window_for(40), window_for(41), window_for(300)), (1, 1, 4, 5, 30));
    }
}
