//! Aggregation of one metric over seeds: mean, sample standard deviation
//! and a `mean ± std (n=…)` formatter for tables.

use serde::{Deserialize, Serialize};

/// Mean and sample standard deviation of a set of values (usually one
/// metric over seeds).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Arithmetic mean; NaN when `n == 0`.
    pub mean: f64,
    /// Sample standard deviation (denominator n − 1); `None` when `n < 2`.
    pub std: Option<f64>,
    /// Number of values.
    pub n: usize,
}

/// Summarizes `values`. An empty slice gives `mean = NaN`, `std = None`,
/// `n = 0`; NaN values propagate into the mean and std.
pub fn summarize(values: &[f64]) -> Summary {
    let n = values.len();
    let mean = values.iter().sum::<f64>() / n as f64;
    let std = (n >= 2).then(|| {
        let squares: f64 = values.iter().map(|v| (v - mean) * (v - mean)).sum();
        (squares / (n - 1) as f64).sqrt()
    });
    Summary { mean, std, n }
}

impl Summary {
    /// Formats as `"31.20 ± 0.45 (n=3)"`, or `"31.20 (n=1)"` without a std,
    /// with `decimals` digits after the point for both numbers.
    pub fn display(&self, decimals: usize) -> String {
        match self.std {
            Some(std) => format!(
                "{:.*} ± {:.*} (n={})",
                decimals, self.mean, decimals, std, self.n
            ),
            None => format!("{:.*} (n={})", decimals, self.mean, self.n),
        }
    }

    /// The same summary with mean and std multiplied by `factor` (e.g. 100
    /// to turn a 0–1 score into a percentage). A negative factor keeps the
    /// std non-negative.
    pub fn scaled(&self, factor: f64) -> Summary {
        Summary {
            mean: self.mean * factor,
            std: self.std.map(|std| std * factor.abs()),
            n: self.n,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_and_sample_std_by_formula() {
        // mean 2.5; squared deviations 2.25+0.25+0.25+2.25 = 5; std = sqrt(5/3).
        let s = summarize(&[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(s.n, 4);
        assert!((s.mean - 2.5).abs() < 1e-15);
        let std = s.std.expect("n >= 2");
        assert!((std - (5.0f64 / 3.0).sqrt()).abs() < 1e-15);
    }

    #[test]
    fn two_values_std_is_half_gap_times_sqrt2() {
        // For {a, b}: std = |a - b| / sqrt(2).
        let s = summarize(&[30.0, 31.0]);
        assert!((s.std.expect("n >= 2") - 1.0 / 2f64.sqrt()).abs() < 1e-12);
    }

    #[test]
    fn single_value_has_no_std() {
        let s = summarize(&[31.2]);
        assert_eq!(
            s,
            Summary {
                mean: 31.2,
                std: None,
                n: 1
            }
        );
    }

    #[test]
    fn empty_input_has_nan_mean() {
        let s = summarize(&[]);
        assert!(s.mean.is_nan());
        assert_eq!((s.std, s.n), (None, 0));
    }

    #[test]
    fn display_formats() {
        let three = Summary {
            mean: 31.2,
            std: Some(0.449),
            n: 3,
        };
        assert_eq!(three.display(2), "31.20 ± 0.45 (n=3)");
        assert_eq!(three.display(0), "31 ± 0 (n=3)");
        let one = Summary {
            mean: 31.2,
            std: None,
            n: 1,
        };
        assert_eq!(one.display(2), "31.20 (n=1)");
    }

    #[test]
    fn scaling_to_percent() {
        let s = summarize(&[0.30, 0.32]).scaled(100.0);
        assert!((s.mean - 31.0).abs() < 1e-12);
        assert!((s.std.expect("n >= 2") - 2.0 / 2f64.sqrt()).abs() < 1e-12);
        assert_eq!(s.display(2), "31.00 ± 1.41 (n=2)");
        let negated = summarize(&[1.0, 3.0]).scaled(-1.0);
        assert_eq!(negated.mean, -2.0);
        assert!(negated.std.expect("n >= 2") > 0.0);
    }
}
