//! EMA smoothing of loss curves (means and standard deviations come from `loran-metrics`).

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
