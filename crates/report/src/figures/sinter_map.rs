//! `sinter_map.{svg,png}`: Sinter's stability map. For each (amplitude A, frequency ω)
//! of f(x) = x + A·x·sin(ωx), the paired delta against the table's baseline (LoRAN with
//! f = identity) as a colour, with its value, significance mark and how many of the
//! cell's runs diverged. The paper names Sinter's instability as its limitation but
//! draws no map; this is it.
//!
//! One panel per task and comparable metric (the primary metric, then test loss). Colour
//! says better (green) or worse (red) than the baseline, scaled to the panel's largest
//! |delta|; grey cells have no estimate. Written for tables with Sinter rows at two
//! amplitudes and two frequencies or more.

use super::canvas::{drawing_error, Figure};
use super::layout::{text, title, MARGIN, TITLE_HEIGHT, WIDTH};
use crate::font::font;
use crate::table::deltas::Delta;
use crate::table::format::{HOLM_MARK, RAW_MARK};
use crate::table::TableReport;
use crate::load::LoadedRun;
use anyhow::Result;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};
use std::collections::BTreeSet;

/// File stem of the figure.
pub const STEM: &str = "sinter_map";
/// Height of one panel, pixels.
pub const PANEL_HEIGHT: u32 = 420;

/// One (A, ω) cell of a panel.
#[derive(Debug, Clone, PartialEq)]
pub struct MapCell {
    /// Amplitude A.
    pub amplitude: f64,
    /// Frequency ω.
    pub omega: f64,
    /// Delta against the baseline on the shown scale, with its mark (`*`, `†` or none);
    /// `None` without an estimate.
    pub delta: Option<(f64, &'static str)>,
    /// Runs of the cell that diverged, of all its runs.
    pub diverged: (usize, usize),
}

/// One task × metric.
#[derive(Debug, Clone, PartialEq)]
pub struct MapPanel {
    /// Task name.
    pub task: String,
    /// Metric name.
    pub metric: String,
    /// Whether a higher value of the metric is better.
    pub higher_is_better: bool,
    /// Decimals the table shows the metric with.
    pub decimals: usize,
    /// Amplitudes (rows, increasing upwards) and frequencies (columns), increasing.
    pub amplitudes: Vec<f64>,
    /// See `amplitudes`.
    pub omegas: Vec<f64>,
    /// The cells that have runs.
    pub cells: Vec<MapCell>,
}

/// The whole figure.
#[derive(Debug, Clone, PartialEq)]
pub struct SinterMap {
    /// Title band text.
    pub title: String,
    /// Panels, two per row.
    pub panels: Vec<MapPanel>,
}

/// Sinter's (A, ω) of a run, if it runs Sinter.
fn sinter_params(run: &LoadedRun) -> Option<(f64, f64)> {
    let a = run.result.identity.activation.as_ref().filter(|a| a.name == "sinter")?;
    Some((*a.params.get("amplitude")?, *a.params.get("omega")?))
}

fn sorted(values: impl Iterator<Item = f64>) -> Vec<f64> {
    let mut v: Vec<f64> = values.collect();
    v.sort_by(f64::total_cmp);
    v.dedup();
    v
}

impl SinterMap {
    /// The map over `report`'s Sinter rows; `None` unless they cover two amplitudes and two
    /// frequencies or more.
    pub fn from_report(report: &TableReport, runs: &[LoadedRun], grid: &str) -> Option<Self> {
        let table = &report.table;
        let context = crate::table::build::LabelContext::of(runs);
        let row_params: Vec<Option<(f64, f64)>> =
            table.rows.iter().map(|row| crate::table::build::run_of_row(&table.members, runs, row).or_else(|| any_run_of(report, runs, &context, row)).and_then(sinter_params)).collect();
        let amplitudes = sorted(row_params.iter().flatten().map(|p| p.0));
        let omegas = sorted(row_params.iter().flatten().map(|p| p.1));
        if amplitudes.len() < 2 || omegas.len() < 2 {
            return None;
        }
        let mut panels = Vec::new();
        for (c, col) in table.columns.iter().enumerate() {
            if !crate::table::deltas::comparable(col) {
                continue;
            }
            let spec = crate::table::build::column_spec(&col.metric);
            let alpha = 1.0 - report.confidence;
            let cells: Vec<MapCell> = row_params
                .iter()
                .enumerate()
                .filter_map(|(r, p)| {
                    let (amplitude, omega) = (*p)?;
                    let counts = table.counts.get(&(table.rows[r].clone(), col.task.clone()))?;
                    let delta = match &report.deltas[r][c] {
                        Some(Delta::Estimate(e)) => {
                            let mark = if e.p_holm < alpha { HOLM_MARK } else if e.p < alpha { RAW_MARK } else { "" };
                            Some((e.inference.delta * spec.scale, mark))
                        }
                        _ => None,
                    };
                    Some(MapCell { amplitude, omega, delta, diverged: (counts.diverged, counts.total) })
                })
                .collect();
            if cells.is_empty() {
                continue;
            }
            let higher_is_better = loran_metrics::metric_spec(&col.metric).is_none_or(|s| s.higher_is_better());
            panels.push(MapPanel { task: col.task.clone(), metric: col.metric.clone(), higher_is_better, decimals: spec.decimals, amplitudes: amplitudes.clone(), omegas: omegas.clone(), cells });
        }
        // Primary metrics first is the table's column order already; keep at most the
        // primary metric and the test loss of each task.
        let keep: BTreeSet<(String, String)> = panels
            .iter()
            .filter(|p| p.metric == loran_metrics::scoring::TEST_LOSS.name || runs.iter().any(|r| r.result.task == p.task && r.result.primary_metric == p.metric))
            .map(|p| (p.task.clone(), p.metric.clone()))
            .collect();
        panels.retain(|p| keep.contains(&(p.task.clone(), p.metric.clone())));
        if panels.is_empty() {
            return None;
        }
        let against = report.baseline.clone().unwrap_or_else(|| "baseline".into());
        Some(Self { title: format!("{grid}: Sinter stability map, delta against {against} (green better; k/n diverged)"), panels })
    }

    fn rows(&self) -> u32 {
        self.panels.len().div_ceil(2) as u32
    }
}

/// A run of `row` of any status (a row whose every run diverged has no counted member
/// under `leave-out`, but still has parameters).
fn any_run_of<'a>(report: &TableReport, runs: &'a [LoadedRun], context: &crate::table::build::LabelContext, row: &str) -> Option<&'a LoadedRun> {
    runs.iter().find(|r| crate::table::build::row_label_in(report.table.kind, r, context) == row)
}

/// Green for better, red for worse, white at 0; `share` in [−1, 1] is the signed improvement.
fn colour(share: f64) -> RGBColor {
    let t = share.clamp(-1.0, 1.0).abs();
    let mix = |full: u8| (255.0 + (full as f64 - 255.0) * t).round() as u8;
    if share >= 0.0 {
        RGBColor(mix(60), mix(170), mix(90))
    } else {
        RGBColor(mix(215), mix(70), mix(60))
    }
}

/// A number as written under the axes: `5e-5`, `0.01`, `1e4`.
fn short(v: f64) -> String {
    if v != 0.0 && (v.abs() < 1e-3 || v.abs() >= 1e4) {
        let e = v.abs().log10().floor() as i32;
        let m = v / 10f64.powi(e);
        if (m - m.round()).abs() < 1e-9 {
            return format!("{}e{e}", m.round());
        }
        return format!("{m:.1}e{e}");
    }
    format!("{v}")
}

impl Figure for SinterMap {
    fn size(&self) -> (u32, u32) {
        (WIDTH, TITLE_HEIGHT + PANEL_HEIGHT * self.rows())
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let (head, body) = root.split_vertically(TITLE_HEIGHT);
        head.draw(&Text::new(self.title.as_str(), ((WIDTH / 2) as i32, (TITLE_HEIGHT / 2) as i32), title(19.0))).map_err(drawing_error)?;
        let areas = body.split_evenly((self.rows() as usize, 2));
        for (panel, area) in self.panels.iter().zip(areas) {
            draw_panel(panel, &area)?;
        }
        Ok(())
    }
}

fn draw_panel<DB: DrawingBackend>(panel: &MapPanel, area: &DrawingArea<DB, Shift>) -> Result<()> {
    let (nx, ny) = (panel.omegas.len(), panel.amplitudes.len());
    let better = if panel.higher_is_better { "higher is better" } else { "lower is better" };
    let mut chart = ChartBuilder::on(area)
        .caption(format!("{} · Δ{} ({better})", panel.task, panel.metric), font(16.0))
        .margin(MARGIN)
        .x_label_area_size(44)
        .y_label_area_size(64)
        .build_cartesian_2d(0.0..nx as f64, 0.0..ny as f64)
        .map_err(drawing_error)?;
    let omegas = panel.omegas.clone();
    let amplitudes = panel.amplitudes.clone();
    let x_fmt = move |v: &f64| omegas.get(v.floor() as usize).filter(|_| (v.fract() - 0.5).abs() < 1e-6).map(|o| short(*o)).unwrap_or_default();
    let y_fmt = move |v: &f64| amplitudes.get(v.floor() as usize).filter(|_| (v.fract() - 0.5).abs() < 1e-6).map(|a| short(*a)).unwrap_or_default();
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc("frequency ω")
        .y_desc("amplitude A")
        .x_labels(2 * nx + 1)
        .y_labels(2 * ny + 1)
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .label_style(font(13.0))
        .axis_desc_style(font(14.0))
        .draw()
        .map_err(drawing_error)?;
    let sign = if panel.higher_is_better { 1.0 } else { -1.0 };
    let largest = panel.cells.iter().filter_map(|c| c.delta.map(|d| d.0.abs())).fold(0.0, f64::max);
    for cell in &panel.cells {
        let x = panel.omegas.iter().position(|&o| o == cell.omega).unwrap_or(0) as f64;
        let y = panel.amplitudes.iter().position(|&a| a == cell.amplitude).unwrap_or(0) as f64;
        let fill = match cell.delta {
            Some((d, _)) if largest > 0.0 => colour(sign * d / largest),
            Some(_) => colour(0.0),
            None => RGBColor(200, 200, 200),
        };
        chart.draw_series(std::iter::once(Rectangle::new([(x + 0.02, y + 0.02), (x + 0.98, y + 0.98)], fill.filled()))).map_err(drawing_error)?;
        let value = match cell.delta {
            Some((d, mark)) => format!("{d:+.*}{mark}", panel.decimals),
            None => "n/a".into(),
        };
        chart.draw_series(std::iter::once(Text::new(value, (x + 0.5, y + 0.58), text(15.0, HPos::Center, VPos::Bottom)))).map_err(drawing_error)?;
        let (k, n) = cell.diverged;
        chart.draw_series(std::iter::once(Text::new(format!("{k}/{n} diverged"), (x + 0.5, y + 0.42), text(12.0, HPos::Center, VPos::Top)))).map_err(drawing_error)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_run_from_red_through_white_to_green() {
        assert_eq!(colour(0.0), RGBColor(255, 255, 255));
        assert_eq!(colour(1.0), RGBColor(60, 170, 90));
        assert_eq!(colour(-1.0), RGBColor(215, 70, 60));
        assert_eq!(colour(-5.0), colour(-1.0), "clamped");
        let half = colour(0.5);
        assert_eq!(half, RGBColor(158, 213, 173));
    }

    #[test]
    fn axis_numbers_are_short() {
        assert_eq!(short(5e-5), "5e-5");
        assert_eq!(short(1e4), "1e4");
        assert_eq!(short(0.01), "0.01");
        assert_eq!(short(100.0), "100");
        assert_eq!(short(2.5e-4), "2.5e-4");
    }
}
