//! Small statistics used by the report: mean, sample standard deviation and EMA smoothing.

/// Arithmetic mean; `None` for an empty slice.
pub fn mean(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    Some(values.iter().sum::<f64>() / values.len() as f64)
}

/// Sample standard deviation (divisor n − 1); `None` when fewer than two values.
pub fn sample_std(values: &[f64]) -> Option<f64> {
    if values.len() < 2 {
        return None;
    }
    let m = mean(values)?;
    let ss: f64 = values.iter().map(|v| (v - m) * (v - m)).sum();
    Some((ss / (values.len() - 1) as f64).sqrt())
}

/// Exponential moving average `e_t = β·e_{t−1} + (1 − β)·x_t`, started at the first value
/// (so the curve does not ramp up from zero). `beta` must lie in `[0, 1)`.
pub fn ema(values: &[f64], beta: f64) -> Vec<f64> {
    assert!(
        (0.0..1.0).contains(&beta),
        "EMA beta must lie in [0, 1), got {beta}"
    );
    let mut out = Vec::with_capacity(values.len());
    let mut state: Option<f64> = None;
    for &v in values {
        let next = match state {
            None => v,
            Some(s) => beta * s + (1.0 - beta) * v,
        };
        state = Some(next);
        out.push(next);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_and_sample_std_match_hand_values() {
        assert_eq!(mean(&[]), None);
        assert_eq!(mean(&[2.0, 4.0, 9.0]), Some(5.0));
        assert_eq!(sample_std(&[3.0]), None);
        // Deviations −3, −1, 4: sum of squares 26, divided by 2 → 13.
        let s = sample_std(&[2.0, 4.0, 9.0]).unwrap();
        assert!((s - 13f64.sqrt()).abs() < 1e-12, "{s}");
    }

    #[test]
    fn ema_starts_at_first_value_and_smooths() {
        assert!(ema(&[], 0.5).is_empty());
        let e = ema(&[4.0, 0.0, 2.0], 0.5);
        assert_eq!(e, vec![4.0, 2.0, 2.0]);
        assert_eq!(ema(&[1.0, 5.0], 0.0), vec![1.0, 5.0]);
    }

    #[test]
    #[should_panic(expected = "EMA beta")]
    fn ema_rejects_beta_one() {
        ema(&[1.0], 1.0);
    }
}
