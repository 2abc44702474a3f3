//! `spectrum.{svg,png}` (written by `loran analyze`): does a run's nonlinear update use
//! more than r directions?
//!
//! Left: per adapted module, the effective rank of the merged update (`s·f(B·A)` for
//! LoRAN) against that of `s·B·A`, with the diagonal where f changes nothing. Right: the
//! share of the update's energy outside its top r singular directions, on a log scale,
//! per run: filled for the merged update, hollow for `s·B·A` (whose share is f32
//! rounding, ~1e-14, or exactly zero). A zero share sits on the axis floor.

use super::canvas::{drawing_error, Figure};
use super::layout::{text, title, GRID_BOLD, GRID_LIGHT, MARGIN, TITLE_HEIGHT, WIDTH};
use super::palette::GroupPalette;
use crate::font::font;
use anyhow::Result;
use loran_adapters::spectrum::ModuleSpectrum;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

/// File stem of the figure.
pub const STEM: &str = "spectrum";
/// Height of the two panels, pixels.
pub const PANEL_HEIGHT: u32 = 520;
/// Height of one legend line, pixels.
pub const LEGEND_LINE: u32 = 22;

/// The figure: runs (label, modules) in the order given. Runs with the same label (the
/// seeds of one configuration) share a colour and, when adjacent, one legend line.
#[derive(Debug, Clone)]
pub struct SpectrumFigure {
    /// Text of the title band.
    pub title: String,
    /// One entry per run.
    pub runs: Vec<(String, Vec<ModuleSpectrum>)>,
    /// Run colours.
    pub palette: GroupPalette,
}

impl SpectrumFigure {
    /// The figure of `runs`, coloured by label.
    ///
    /// The legend's lines: (first, last) 1-based run numbers and the label, one line per
    /// run of adjacent runs with the same label.
    pub fn legend_rows(&self) -> Vec<(usize, usize, &str)> {
        let mut rows: Vec<(usize, usize, &str)> = Vec::new();
        for (i, (label, _)) in self.runs.iter().enumerate() {
            match rows.last_mut() {
                Some(last) if last.2 == label => last.1 = i + 1,
                _ => rows.push((i + 1, i + 1, label)),
            }
        }
        rows
    }

    pub fn new(title: &str, runs: Vec<(String, Vec<ModuleSpectrum>)>) -> Self {
        let palette = GroupPalette::new(runs.iter().map(|(label, _)| label.as_str()));
        Self { title: title.to_string(), runs, palette }
    }

    /// The energy axis: from a decade below the smallest positive share (1e-20 without
    /// one) to 1.
    fn energy_floor(&self) -> f64 {
        let smallest = self.all().flat_map(|m| [m.linear.energy_outside_r, m.nonlinear.energy_outside_r]).filter(|&e| e > 0.0).fold(f64::INFINITY, f64::min);
        if smallest.is_finite() {
            10f64.powf(smallest.log10().floor() - 1.0)
        } else {
            1e-20
        }
    }

    fn all(&self) -> impl Iterator<Item = &ModuleSpectrum> {
        self.runs.iter().flat_map(|(_, m)| m.iter())
    }
}

impl Figure for SpectrumFigure {
    fn size(&self) -> (u32, u32) {
        (WIDTH, TITLE_HEIGHT + PANEL_HEIGHT + LEGEND_LINE * self.legend_rows().len() as u32 + 2 * MARGIN)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let (head, body) = root.split_vertically(TITLE_HEIGHT);
        head.draw(&Text::new(self.title.as_str(), ((WIDTH / 2) as i32, (TITLE_HEIGHT / 2) as i32), title(22.0))).map_err(drawing_error)?;
        let (panels, legend) = body.split_vertically(PANEL_HEIGHT);
        let (left, right) = panels.split_horizontally(WIDTH / 2);
        self.draw_ranks(&left)?;
        self.draw_energy(&right)?;
        for (i, (first, last, label)) in self.legend_rows().into_iter().enumerate() {
            let y = (MARGIN + LEGEND_LINE * i as u32 + LEGEND_LINE / 2) as i32;
            let colour = self.palette.colour(label);
            legend.draw(&Circle::new((MARGIN as i32 + 30, y), 6, colour.filled())).map_err(drawing_error)?;
            let runs = if first == last { format!("{first}") } else { format!("{first}–{last}") };
            let line = format!("{runs}  {label}");
            legend.draw(&Text::new(line, (MARGIN as i32 + 44, y), text(15.0, HPos::Left, VPos::Center))).map_err(drawing_error)?;
        }
        Ok(())
    }
}

impl SpectrumFigure {
    fn draw_ranks<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        let top = self.all().map(|m| m.linear.effective_rank.max(m.nonlinear.effective_rank)).fold(1.0, f64::max) * 1.08;
        let mut chart = ChartBuilder::on(area)
            .caption("effective rank per module", font(18.0))
            .margin(MARGIN)
            .x_label_area_size(50)
            .y_label_area_size(60)
            .build_cartesian_2d(0.0..top, 0.0..top)
            .map_err(drawing_error)?;
        chart
            .configure_mesh()
            .x_desc("effective rank of s·B·A")
            .y_desc("effective rank of the merged update s·f(B·A)")
            .label_style(font(14.0))
            .axis_desc_style(font(15.0))
            .light_line_style(GRID_LIGHT)
            .bold_line_style(GRID_BOLD)
            .draw()
            .map_err(drawing_error)?;
        let grey = RGBColor(120, 120, 120);
        chart.draw_series(DashedLineSeries::new([(0.0, 0.0), (top, top)], 6, 5, grey.stroke_width(1))).map_err(drawing_error)?;
        for (label, modules) in &self.runs {
            let colour = self.palette.colour(label);
            let points = modules.iter().map(|m| Circle::new((m.linear.effective_rank, m.nonlinear.effective_rank), 5, colour.mix(0.8).filled()));
            chart.draw_series(points).map_err(drawing_error)?;
        }
        Ok(())
    }

    fn draw_energy<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        let floor = self.energy_floor();
        let n = self.runs.len().max(1) as f64;
        let mut chart = ChartBuilder::on(area)
            .caption("energy outside the top r directions", font(18.0))
            .margin(MARGIN)
            .x_label_area_size(50)
            .y_label_area_size(70)
            .build_cartesian_2d(-0.5..n - 0.5, (floor..1.0).log_scale())
            .map_err(drawing_error)?;
        let x_fmt = |v: &f64| if (v - v.round()).abs() < 1e-9 && *v >= 0.0 { format!("{}", *v as usize + 1) } else { String::new() };
        chart
            .configure_mesh()
            .x_desc("run (legend below); filled: merged update, hollow: s·B·A")
            .y_desc("Σσ² beyond σ_r / Σσ²")
            .x_labels(self.runs.len() + 2)
            .x_label_formatter(&x_fmt)
            .y_label_formatter(&|v: &f64| format!("{v:.0e}"))
            .label_style(font(14.0))
            .axis_desc_style(font(15.0))
            .light_line_style(GRID_LIGHT)
            .bold_line_style(GRID_BOLD)
            .draw()
            .map_err(drawing_error)?;
        for (i, (label, modules)) in self.runs.iter().enumerate() {
            let colour = self.palette.colour(label);
            let spread = |j: usize| i as f64 + if modules.len() > 1 { 0.5 * (j as f64 / (modules.len() - 1) as f64 - 0.5) } else { 0.0 };
            let at = |e: f64| e.max(floor);
            let hollow = modules.iter().enumerate().map(|(j, m)| Circle::new((spread(j), at(m.linear.energy_outside_r)), 5, colour.stroke_width(2)));
            chart.draw_series(hollow).map_err(drawing_error)?;
            let filled = modules.iter().enumerate().map(|(j, m)| Circle::new((spread(j), at(m.nonlinear.energy_outside_r)), 5, colour.mix(0.8).filled()));
            chart.draw_series(filled).map_err(drawing_error)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use loran_adapters::spectrum::RankMeasures;

    fn module(linear_energy: f64, nonlinear_energy: f64) -> ModuleSpectrum {
        let m = |e| RankMeasures { numerical_rank: 2, effective_rank: 1.5, stable_rank: 1.2, energy_outside_r: e };
        ModuleSpectrum { module: "q".into(), r: 2, out_features: 4, in_features: 4, linear: m(linear_energy), nonlinear: m(nonlinear_energy) }
    }

    #[test]
    fn the_energy_floor_is_a_decade_below_the_smallest_positive_share() {
        let fig = SpectrumFigure::new("t", vec![("a".into(), vec![module(0.0, 3e-9)]), ("b".into(), vec![module(2.5e-15, 0.2)])]);
        assert!((fig.energy_floor() / 1e-16 - 1.0).abs() < 1e-12, "{}", fig.energy_floor());
        let zero = SpectrumFigure::new("t", vec![("a".into(), vec![module(0.0, 0.0)])]);
        assert_eq!(fig.legend_rows(), vec![(1, 1, "a"), (2, 2, "b")]);
        assert_eq!(zero.energy_floor(), 1e-20);
        assert_eq!(fig.size(), (WIDTH, TITLE_HEIGHT + PANEL_HEIGHT + 2 * LEGEND_LINE + 2 * MARGIN));
    }

    #[test]
    fn seeds_of_one_configuration_share_a_legend_line_and_a_colour() {
        let runs = ["id", "id", "id", "sin", "sin", "id"].iter().map(|l| (l.to_string(), vec![module(0.0, 1e-3)])).collect();
        let fig = SpectrumFigure::new("t", runs);
        assert_eq!(fig.legend_rows(), vec![(1, 3, "id"), (4, 5, "sin"), (6, 6, "id")]);
        assert_eq!(fig.palette.colour("id"), fig.palette.colour(&fig.runs[5].0));
        assert_ne!(fig.palette.colour("id"), fig.palette.colour("sin"));
        assert_eq!(fig.size().1, TITLE_HEIGHT + PANEL_HEIGHT + 3 * LEGEND_LINE + 2 * MARGIN);
    }
}
