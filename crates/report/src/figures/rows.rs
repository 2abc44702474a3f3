//! A categorical axis of `n` rows listed top to bottom, for horizontal bar charts.

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use std::ops::Range;

/// Row `i` (0 = top) spans `[i, i + 1]`; its tick and label sit at `i + 0.5`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowAxis {
    /// Number of rows.
    pub rows: usize,
}

impl RowAxis {
    /// The row whose band contains `v`, if any.
    pub fn row_of(&self, v: f64) -> Option<usize> {
        (v >= 0.0 && v < self.rows as f64).then_some(v.floor() as usize)
    }
}

impl Ranged for RowAxis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        // On a y axis plotters passes (bottom, top); 0 must land at the top.
        let n = self.rows.max(1) as f64;
        let frac = 1.0 - value / n;
        limit.0 + (frac * f64::from(limit.1 - limit.0)).round() as i32
    }

    fn key_points<H: KeyPointHint>(&self, _hint: H) -> Vec<f64> {
        (0..self.rows).map(|i| i as f64 + 0.5).collect()
    }

    fn range(&self) -> Range<f64> {
        0.0..self.rows as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_run_top_to_bottom_with_centred_ticks() {
        let axis = RowAxis { rows: 4 };
        // bottom pixel 400, top pixel 0
        assert_eq!(axis.map(&0.0, (400, 0)), 0);
        assert_eq!(axis.map(&4.0, (400, 0)), 400);
        assert_eq!(axis.map(&0.5, (400, 0)), 50);
        assert_eq!(axis.key_points(10usize), vec![0.5, 1.5, 2.5, 3.5]);
        assert_eq!(axis.row_of(2.5), Some(2));
        assert_eq!(axis.row_of(4.0), None);
        assert_eq!(axis.row_of(-0.1), None);
    }
}
