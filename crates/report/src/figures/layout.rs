//! Shared geometry, text styles and axis-label formatting of the report figures.

use crate::font::{bold, font};
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{RGBColor, TextStyle, BLACK};

/// Width of every figure, pixels.
pub const WIDTH: u32 = 1200;
/// Height of the title band at the top of every figure, pixels.
pub const TITLE_HEIGHT: u32 = 56;
/// Outer margin around each chart, pixels.
pub const MARGIN: u32 = 14;
/// Most ticks an axis may ask for (see [`tick_label`]).
pub const MAX_TICKS: usize = 10;
/// Colour of axis text and labels.
pub const INK: RGBColor = RGBColor(40, 40, 40);
/// Colour of the faint grid lines.
pub const GRID_LIGHT: RGBColor = RGBColor(236, 236, 236);
/// Colour of the major grid lines.
pub const GRID_BOLD: RGBColor = RGBColor(210, 210, 210);

/// Regular text of `size` pixels anchored at `(h, v)`.
pub fn text(size: f64, h: HPos, v: VPos) -> TextStyle<'static> {
    font(size).color(&INK).pos(Pos::new(h, v))
}

/// Bold title text of `size` pixels, centred.
pub fn title(size: f64) -> TextStyle<'static> {
    bold(size)
        .color(&BLACK)
        .pos(Pos::new(HPos::Center, VPos::Center))
}

/// Width in pixels of `s` set in the regular font at `size` (0 when the font cannot measure it).
pub fn text_width(s: &str, size: f64) -> u32 {
    font(size).box_size(s).map(|(w, _)| w).unwrap_or(0)
}

/// Tick label for `v` on an axis spanning `span`: enough decimals to tell ticks apart.
///
/// plotters puts float ticks at multiples of {1, 2, 5}·10^k; with at most [`MAX_TICKS`] ticks
/// the step is at least `span / 10`, so `1 − ⌊log10 span⌋` decimals always suffice.
pub fn tick_label(v: f64, span: f64) -> String {
    let decimals = if span > 0.0 && span.is_finite() {
        (1.0 - span.log10().floor()).clamp(0.0, 6.0) as usize
    } else {
        2
    };
    let s = format!("{v:.decimals$}");
    // Avoid "-0.00" on the zero tick.
    if s.trim_start_matches('-')
        .chars()
        .all(|c| c == '0' || c == '.')
    {
        s.trim_start_matches('-').to_owned()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tick_labels_adapt_to_the_span() {
        assert_eq!(tick_label(0.2, 1.0), "0.2");
        assert_eq!(tick_label(0.05, 0.4), "0.05");
        assert_eq!(tick_label(2.5, 4.0), "2.5");
        assert_eq!(tick_label(150.0, 200.0), "150");
        assert_eq!(tick_label(0.005, 0.05), "0.005");
        assert_eq!(tick_label(-0.0001, 1.0), "0.0");
        assert_eq!(tick_label(3.0, 0.0), "3.00");
    }
}
