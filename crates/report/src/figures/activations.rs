//! `activation_shapes.{svg,png}`: f and f′ of every registered LoRAN activation at its
//! default parameters, plus a zoom on Sinter's ripple `f(x) − x = A·x·sin(ωx)`, which is
//! far below a pixel at the scale of the other panels (A = 5e-5).
//!
//! Curves are sampled on a fixed grid; `cos` (x + x·cos(10⁴x)) and Sinter's f′ oscillate
//! faster than the grid, so they show as faint aliased bands between their envelopes.
//! Values outside a panel's y-range are cut at its edge.

use super::canvas::{drawing_error, Figure};
use super::layout::{text, title, GRID_BOLD, GRID_LIGHT, MARGIN, TITLE_HEIGHT, WIDTH};
use crate::font::font;
use anyhow::Result;
use loran_adapters::activations::ACTIVATIONS;
use loran_adapters::ActivationConfig;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

/// File stem of the figure.
pub const STEM: &str = "activation_shapes";

/// Samples per curve on `[-X_MAX, X_MAX]`.
const SAMPLES: usize = 601;
/// Half-width of the x-range of the f and f′ panels.
const X_MAX: f64 = 3.0;
/// Periods of Sinter's ripple shown on each side of 0 in the zoom.
const RIPPLE_PERIODS: f64 = 4.0;
const HEIGHT: u32 = 520;

/// One activation's sampled f and f′.
#[derive(Debug, Clone, PartialEq)]
pub struct Curve {
    /// Registry name.
    pub name: String,
    /// `(x, f(x))`.
    pub f: Vec<(f64, f64)>,
    /// `(x, f′(x))`.
    pub df: Vec<(f64, f64)>,
}

/// The figure's data: every registered activation and Sinter's ripple.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivationFigure {
    title: String,
    /// One curve per registered activation, in registry order.
    pub curves: Vec<Curve>,
    /// `(x, f(x) − x)` of Sinter at its defaults, over a few periods around 0.
    pub ripple: Vec<(f64, f64)>,
    /// Sinter's defaults, for the zoom's caption.
    pub ripple_label: String,
}

fn grid(half_width: f64, n: usize) -> impl Iterator<Item = f64> {
    (0..n).map(move |i| -half_width + 2.0 * half_width * i as f64 / (n - 1) as f64)
}

impl ActivationFigure {
    /// Samples every activation of the registry at its default parameters.
    pub fn registered(title: &str) -> Result<Self> {
        let mut curves = Vec::with_capacity(ACTIVATIONS.len());
        for spec in ACTIVATIONS {
            let resolved = ActivationConfig::named(spec.name)?.resolve()?;
            let g = resolved.function();
            let xs: Vec<f64> = grid(X_MAX, SAMPLES).collect();
            curves.push(Curve {
                name: spec.name.to_string(),
                f: xs.iter().map(|&x| (x, g.f(x))).collect(),
                df: xs.iter().map(|&x| (x, g.df(x))).collect(),
            });
        }
        let sinter = ActivationConfig::named("sinter")?.resolve()?;
        let (amplitude, omega) = (sinter.params().get("amplitude"), sinter.params().get("omega"));
        let half = RIPPLE_PERIODS * std::f64::consts::TAU / omega;
        let ripple = grid(half, SAMPLES).map(|x| (x, sinter.function().f(x) - x)).collect();
        Ok(Self { title: title.to_string(), curves, ripple, ripple_label: format!("A = {amplitude:e}, ω = {omega:e}") })
    }
}

fn colour(i: usize) -> RGBColor {
    let c = Palette99::pick(i).to_rgba();
    RGBColor(c.0, c.1, c.2)
}

/// Whether a sampled curve oscillates faster than the sampling shows (its slope changes
/// sign at more than a tenth of the samples): such curves are drawn faint, underneath.
fn aliased(points: &[(f64, f64)]) -> bool {
    let slopes: Vec<f64> = points.windows(2).map(|w| w[1].1 - w[0].1).collect();
    let turns = slopes.windows(2).filter(|s| s[0] * s[1] < 0.0).count();
    turns > points.len() / 10
}

/// One curve to draw: legend name, colour, points.
type Series<'a> = (String, RGBColor, &'a [(f64, f64)]);

fn panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    caption: &str,
    x: (f64, f64),
    y: (f64, f64),
    series: &[Series],
    legend: bool,
    scientific: bool,
) -> Result<()> {
    let mut chart = ChartBuilder::on(area)
        .caption(caption, font(16.0))
        .margin(MARGIN)
        .x_label_area_size(36)
        .y_label_area_size(64)
        .build_cartesian_2d(x.0..x.1, y.0..y.1)
        .map_err(drawing_error)?;
    let sci = |v: &f64| format!("{v:.1e}");
    let plain = |v: &f64| format!("{v:.1}");
    chart
        .configure_mesh()
        .light_line_style(GRID_LIGHT)
        .bold_line_style(GRID_BOLD)
        .label_style(font(12.0))
        .x_labels(5)
        .y_labels(7)
        .x_label_formatter(if scientific { &sci } else { &plain })
        .y_label_formatter(if scientific { &sci } else { &plain })
        .draw()
        .map_err(drawing_error)?;
    // Aliased curves first and faint, so the smooth ones stay readable on top.
    let mut order: Vec<&Series> = series.iter().collect();
    order.sort_by_key(|s| !aliased(s.2));
    for (name, c, points) in order {
        let clipped = points.iter().map(|&(px, py)| (px, py.clamp(y.0, y.1)));
        let style = if aliased(points) { c.mix(0.35).stroke_width(1) } else { c.stroke_width(2) };
        let drawn = chart.draw_series(LineSeries::new(clipped, style)).map_err(drawing_error)?;
        if legend {
            let c = *c;
            drawn.label(name.as_str()).legend(move |(lx, ly)| PathElement::new(vec![(lx, ly), (lx + 18, ly)], c.stroke_width(3)));
        }
    }
    if legend {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .label_font(font(12.0))
            .background_style(WHITE.mix(0.85))
            .border_style(GRID_BOLD)
            .draw()
            .map_err(drawing_error)?;
    }
    Ok(())
}

impl Figure for ActivationFigure {
    fn size(&self) -> (u32, u32) {
        (WIDTH + 300, HEIGHT)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let (head, body) = root.split_vertically(TITLE_HEIGHT);
        let (w, _) = head.dim_in_pixel();
        head.draw_text(&self.title, &title(20.0), ((w / 2) as i32, (TITLE_HEIGHT / 2) as i32))
            .map_err(drawing_error)?;
        let panels = body.split_evenly((1, 3));
        let f: Vec<_> = self.curves.iter().enumerate().map(|(i, c)| (c.name.clone(), colour(i), c.f.as_slice())).collect();
        let df: Vec<_> = self.curves.iter().enumerate().map(|(i, c)| (c.name.clone(), colour(i), c.df.as_slice())).collect();
        panel(&panels[0], "f(x)", (-X_MAX, X_MAX), (-3.0, 3.5), &f, true, false)?;
        panel(&panels[1], "f′(x)", (-X_MAX, X_MAX), (-0.5, 2.5), &df, false, false)?;
        let half = self.ripple.last().map(|p| p.0).unwrap_or(1.0);
        let top = self.ripple.iter().fold(0f64, |m, p| m.max(p.1.abs())) * 1.1;
        let sinter = self.curves.iter().position(|c| c.name == "sinter").unwrap_or(0);
        panel(
            &panels[2],
            &format!("sinter zoom: f(x) − x ({})", self.ripple_label),
            (-half, half),
            (-top.max(f64::MIN_POSITIVE), top.max(f64::MIN_POSITIVE)),
            &[("sinter".to_string(), colour(sinter), self.ripple.as_slice())],
            false,
            true,
        )?;
        let note = "faint: curves that oscillate faster than the sampling (cos; sinter's f′ = 1 + A·sin ωx + A·ω·x·cos ωx), shown as bands; curves are cut at the panel edges";
        body.draw_text(note, &text(12.0, HPos::Left, VPos::Bottom), (MARGIN as i32, (HEIGHT - TITLE_HEIGHT - 2) as i32))
            .map_err(drawing_error)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_registered_activation_is_sampled_and_the_ripple_is_sinters() {
        let fig = ActivationFigure::registered("t").unwrap();
        assert_eq!(fig.curves.len(), ACTIVATIONS.len());
        let identity = fig.curves.iter().find(|c| c.name == "identity").unwrap();
        assert!(identity.f.iter().all(|&(x, y)| x == y) && identity.df.iter().all(|&(_, d)| d == 1.0));
        let sigmoid = fig.curves.iter().find(|c| c.name == "sigmoid").unwrap();
        let mid = sigmoid.f[SAMPLES / 2];
        assert_eq!(mid.0, 0.0);
        assert!((mid.1 - 0.5).abs() < 1e-12 && (sigmoid.df[SAMPLES / 2].1 - 0.25).abs() < 1e-12);
        // The ripple is A·x·sin(ωx) at A = 5e-5, ω = 1e4 over 4 periods each side.
        let half = fig.ripple.last().unwrap().0;
        assert!((half - 4.0 * std::f64::consts::TAU / 1e4).abs() < 1e-15);
        for &(x, r) in &fig.ripple {
            assert!((r - 5e-5 * x * (1e4 * x).sin()).abs() < 1e-15, "x {x}: {r}");
        }
        let peak = fig.ripple.iter().fold(0f64, |m, p| m.max(p.1.abs()));
        assert!(peak > 0.9 * 5e-5 * half * 0.9 && peak <= 5e-5 * half, "{peak}");
    }

    #[test]
    fn fast_oscillations_are_told_from_smooth_curves() {
        let fig = ActivationFigure::registered("t").unwrap();
        let by = |n: &str| fig.curves.iter().find(|c| c.name == n).unwrap();
        assert!(aliased(&by("cos").f) && aliased(&by("sinter").df));
        assert!(!aliased(&by("sinter").f) && !aliased(&by("tanh").f) && !aliased(&by("gaussian").df));
        assert!(!aliased(&fig.ripple), "the zoom resolves the ripple");
    }

    #[test]
    fn the_figure_renders_to_svg_and_png() {
        let dir = tempfile::tempdir().unwrap();
        let fig = ActivationFigure::registered("activation shapes").unwrap();
        let paths = crate::figures::canvas::save_figure(&fig, dir.path(), STEM).unwrap();
        assert_eq!(paths.len(), 2);
        let svg = std::fs::read_to_string(&paths[0]).unwrap();
        assert!(svg.contains("sinter") && svg.contains("softsign"));
        assert!(std::fs::metadata(&paths[1]).unwrap().len() > 10_000);
    }
}
