//! `loss_curves.{svg,png}`: training loss against optimizer step; `loss_vs_base.{svg,png}`:
//! the same steps' training loss minus the frozen base's loss on the same batch.
//!
//! With a few examples a step, the training loss mostly says how hard each batch was, a
//! scatter that can hide a real fall. Subtracting the frozen base's loss on the very same
//! batch (recorded as `base_loss` when the run caches its frozen prefix) removes that
//! scatter: 0 is the base, below 0 the adapter has learned something the base lacked.
//!
//! One panel per task, stacked vertically. Each run is one thin, translucent line of its raw
//! per-step loss; each group adds one thick line, the mean of its runs' losses in windows of
//! a tenth of the panel's longest run ([`window_for`]), inside a band of ±1.96 standard errors of
//! that mean. Small batches make the per-step loss scatter widely; the band says whether a
//! fall is larger than that scatter. Colour identifies the group, so a group's seeds share a
//! colour; the legend on the right lists the panel's groups with their run counts and
//! explains the encoding. Non-finite losses (a diverging run) are left out.

use super::canvas::{drawing_error, Figure};
use super::layout::{
    text, text_width, tick_label, title, GRID_BOLD, GRID_LIGHT, MARGIN, MAX_TICKS, TITLE_HEIGHT,
    WIDTH,
};
use super::palette::GroupPalette;
use crate::font::font;
use crate::load::LoadedRun;
use crate::windows::{window_for, window_means, WindowMean};
use anyhow::Result;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};
use std::collections::BTreeMap;

/// Half-width of the band around a window mean, in standard errors (a 95% normal interval).
pub const BAND_Z: f64 = 1.96;
/// Height of one task panel, pixels.
pub const PANEL_HEIGHT: u32 = 420;
/// File stem of the training-loss figure.
pub const STEM: &str = "loss_curves";
/// File stem of the figure of the training loss minus the base's loss on the same batch.
pub const STEM_VS_BASE: &str = "loss_vs_base";

/// What a loss figure plots at each step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LossMeasure {
    /// The training loss.
    Training,
    /// The training loss minus the frozen base's loss on the same batch (steps without a
    /// recorded base loss are left out).
    OverBase,
}

impl LossMeasure {
    fn value(self, step: &loran_train::record::StepRecord) -> Option<f64> {
        let v = match self {
            Self::Training => Some(step.loss),
            Self::OverBase => step.base_loss.map(|b| step.loss - b),
        };
        v.filter(|v| v.is_finite())
    }

    fn axis(self) -> &'static str {
        match self {
            Self::Training => "training loss",
            Self::OverBase => "training loss − base's loss, same batch",
        }
    }

    fn thin_label(self) -> &'static str {
        match self {
            Self::Training => "thin: each run's loss at each step",
            Self::OverBase => "thin: each run at each step; 0 = the frozen base",
        }
    }
}

const LEGEND_FONT: f64 = 15.0;
const LEGEND_ROW: i32 = 24;
const SWATCH: i32 = 30;

/// One run's loss curve.
#[derive(Debug, Clone, PartialEq)]
pub struct LossCurve {
    /// Run folder name.
    pub run_id: String,
    /// Group (colour).
    pub group: String,
    /// (step, loss) for every finite loss, in step order.
    pub raw: Vec<(f64, f64)>,
}

/// One group's windowed mean loss, pooled over its runs.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupMean {
    /// Group (colour).
    pub group: String,
    /// Window means in step order.
    pub windows: Vec<WindowMean>,
}

/// The curves of one task.
#[derive(Debug, Clone, PartialEq)]
pub struct LossPanel {
    /// Task name.
    pub task: String,
    /// Curves sorted by (group, run_id).
    pub curves: Vec<LossCurve>,
    /// Group means sorted by group.
    pub means: Vec<GroupMean>,
    /// Steps per window of the group means.
    pub window: usize,
}

/// The whole loss figure.
#[derive(Debug, Clone, PartialEq)]
pub struct LossFigure {
    /// Text of the title band.
    pub title: String,
    /// Task panels sorted by task name.
    pub panels: Vec<LossPanel>,
    /// Group colours.
    pub palette: GroupPalette,
    /// What is plotted.
    pub measure: LossMeasure,
}

impl LossFigure {
    /// Collects the curves of every run with at least one finite value of `measure`; `None`
    /// when no run has one.
    pub fn from_runs(runs: &[LoadedRun], palette: &GroupPalette, title: &str, measure: LossMeasure) -> Option<Self> {
        let mut by_task: BTreeMap<&str, Vec<LossCurve>> = BTreeMap::new();
        for run in runs {
            let mut steps: Vec<(f64, f64)> = run
                .steps
                .iter()
                .filter_map(|s| measure.value(s).map(|v| (s.step as f64, v)))
                .collect();
            if steps.is_empty() {
                continue;
            }
            steps.sort_by(|a, b| a.0.total_cmp(&b.0));
            by_task
                .entry(&run.result.task)
                .or_default()
                .push(LossCurve {
                    run_id: run.result.run_id.clone(),
                    group: run.result.group.clone(),
                    raw: steps,
                });
        }
        if by_task.is_empty() {
            return None;
        }
        let panels = by_task
            .into_iter()
            .map(|(task, mut curves)| {
                curves.sort_by(|a, b| (&a.group, &a.run_id).cmp(&(&b.group, &b.run_id)));
                let window = window_for(curves.iter().map(|c| c.raw.len()).max().unwrap_or(0));
                let mut pooled: BTreeMap<&str, Vec<(f64, f64)>> = BTreeMap::new();
                for curve in &curves {
                    pooled.entry(&curve.group).or_default().extend(&curve.raw);
                }
                let means = pooled
                    .into_iter()
                    .map(|(group, points)| GroupMean {
                        group: group.to_owned(),
                        windows: window_means(&points, window),
                    })
                    .collect();
                LossPanel {
                    task: task.to_owned(),
                    curves,
                    means,
                    window,
                }
            })
            .collect();
        Some(Self {
            title: title.to_owned(),
            panels,
            palette: palette.clone(),
            measure,
        })
    }

    fn mean_label(window: usize) -> String {
        let steps = if window == 1 { "each step".to_owned() } else { format!("windows of {window} steps") };
        format!("thick: mean of the runs, {steps}")
    }

    fn legend_width(&self) -> u32 {
        let widest = self
            .panels
            .iter()
            .flat_map(legend_entries)
            .map(|(group, n)| text_width(&legend_label(&group, n), LEGEND_FONT))
            .chain(self.panels.iter().map(|p| text_width(&Self::mean_label(p.window), LEGEND_FONT)))
            .chain([text_width(BAND_LABEL, LEGEND_FONT), text_width(self.measure.thin_label(), LEGEND_FONT)])
            .max()
            .unwrap_or(0);
        (widest + SWATCH as u32 + 40).clamp(180, WIDTH * 2 / 5)
    }
}

impl Figure for LossFigure {
    fn size(&self) -> (u32, u32) {
        (
            WIDTH,
            TITLE_HEIGHT + PANEL_HEIGHT * self.panels.len() as u32,
        )
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let (head, body) = root.split_vertically(TITLE_HEIGHT);
        head.draw(&Text::new(
            self.title.as_str(),
            ((WIDTH / 2) as i32, (TITLE_HEIGHT / 2) as i32),
            title(24.0),
        ))
        .map_err(drawing_error)?;
        let legend_width = self.legend_width();
        for (panel, area) in self
            .panels
            .iter()
            .zip(body.split_evenly((self.panels.len(), 1)))
        {
            let (chart_area, legend_area) = area.split_horizontally(WIDTH - legend_width);
            self.draw_chart(panel, &chart_area)?;
            self.draw_legend(panel, &legend_area)?;
        }
        Ok(())
    }
}

impl LossFigure {
    fn draw_chart<DB: DrawingBackend>(
        &self,
        panel: &LossPanel,
        area: &DrawingArea<DB, Shift>,
    ) -> Result<()> {
        let (x_range, y_range) = ranges(panel, self.measure == LossMeasure::OverBase);
        let (x_lo, x_hi) = (x_range.start, x_range.end);
        let x_span = x_hi - x_lo;
        let y_span = y_range.end - y_range.start;
        let mut chart = ChartBuilder::on(area)
            .caption(format!("task: {}", panel.task), font(19.0))
            .margin(MARGIN)
            .x_label_area_size(50)
            .y_label_area_size(76)
            .build_cartesian_2d(x_range, y_range)
            .map_err(drawing_error)?;
        let x_fmt = |v: &f64| tick_label(*v, x_span);
        let y_fmt = |v: &f64| tick_label(*v, y_span);
        chart
            .configure_mesh()
            .x_desc("optimizer step")
            .y_desc(self.measure.axis())
            .x_labels(MAX_TICKS)
            .y_labels(8)
            .x_label_formatter(&x_fmt)
            .y_label_formatter(&y_fmt)
            .label_style(font(14.0))
            .axis_desc_style(font(16.0))
            .light_line_style(GRID_LIGHT)
            .max_light_lines(2)
            .bold_line_style(GRID_BOLD)
            .draw()
            .map_err(drawing_error)?;
        if self.measure == LossMeasure::OverBase {
            let zero = [(x_lo, 0.0), (x_hi, 0.0)];
            chart.draw_series(LineSeries::new(zero, BLACK.stroke_width(2))).map_err(drawing_error)?;
        }
        for curve in &panel.curves {
            let colour = self.palette.colour(&curve.group);
            chart
                .draw_series(LineSeries::new(
                    curve.raw.iter().copied(),
                    colour.mix(0.35).stroke_width(1),
                ))
                .map_err(drawing_error)?;
        }
        for mean in &panel.means {
            let colour = self.palette.colour(&mean.group);
            let upper = mean.windows.iter().map(|w| (w.step, w.mean + BAND_Z * w.se));
            let lower = mean.windows.iter().rev().map(|w| (w.step, w.mean - BAND_Z * w.se));
            chart
                .draw_series(std::iter::once(Polygon::new(upper.chain(lower).collect::<Vec<_>>(), colour.mix(0.18).filled())))
                .map_err(drawing_error)?;
        }
        for mean in &panel.means {
            let colour = self.palette.colour(&mean.group);
            let points = mean.windows.iter().map(|w| (w.step, w.mean));
            chart
                .draw_series(LineSeries::new(points.clone(), colour.stroke_width(3)))
                .map_err(drawing_error)?;
            chart
                .draw_series(points.map(|p| Circle::new(p, 3, colour.filled())))
                .map_err(drawing_error)?;
        }
        Ok(())
    }

    fn draw_legend<DB: DrawingBackend>(
        &self,
        panel: &LossPanel,
        area: &DrawingArea<DB, Shift>,
    ) -> Result<()> {
        let style = text(LEGEND_FONT, HPos::Left, VPos::Center);
        let x0 = 8;
        let mut y = 58;
        area.draw(&Text::new("group (runs)", (x0, y), style.clone()))
            .map_err(drawing_error)?;
        y += LEGEND_ROW + 4;
        for (group, n) in legend_entries(panel) {
            let colour = self.palette.colour(&group);
            let swatch = PathElement::new(vec![(x0, y), (x0 + SWATCH, y)], colour.stroke_width(3));
            area.draw(&swatch).map_err(drawing_error)?;
            let label = legend_label(&group, n);
            area.draw(&Text::new(label, (x0 + SWATCH + 8, y), style.clone()))
                .map_err(drawing_error)?;
            y += LEGEND_ROW;
        }
        y += LEGEND_ROW / 2;
        let grey = RGBColor(110, 110, 110);
        let key = [
            (self.measure.thin_label(), grey.mix(0.5).stroke_width(1)),
            (&*Self::mean_label(panel.window), grey.stroke_width(3)),
            (BAND_LABEL, grey.mix(0.3).stroke_width(10)),
        ];
        for (label, line_style) in key {
            area.draw(&PathElement::new(
                vec![(x0, y), (x0 + SWATCH, y)],
                line_style,
            ))
            .map_err(drawing_error)?;
            area.draw(&Text::new(label, (x0 + SWATCH + 8, y), style.clone()))
                .map_err(drawing_error)?;
            y += LEGEND_ROW;
        }
        Ok(())
    }
}

/// Groups of a panel with their number of curves, sorted by group.
fn legend_entries(panel: &LossPanel) -> Vec<(String, usize)> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for curve in &panel.curves {
        *counts.entry(&curve.group).or_default() += 1;
    }
    counts.into_iter().map(|(g, n)| (g.to_owned(), n)).collect()
}

/// What the shaded band is.
const BAND_LABEL: &str = "band: ±1.96 SE of that mean (batch noise)";

fn legend_label(group: &str, n: usize) -> String {
    format!("{group} ({n})")
}

/// Axis ranges covering every curve of the panel (and 0 when `with_zero`), with 5%
/// head-room on the loss axis.
fn ranges(panel: &LossPanel, with_zero: bool) -> (std::ops::Range<f64>, std::ops::Range<f64>) {
    let points = || panel.curves.iter().flat_map(|c| c.raw.iter());
    let (mut x_lo, mut x_hi) = (f64::INFINITY, f64::NEG_INFINITY);
    let (mut y_lo, mut y_hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for &(x, y) in points() {
        x_lo = x_lo.min(x);
        x_hi = x_hi.max(x);
        y_lo = y_lo.min(y);
        y_hi = y_hi.max(y);
    }
    if with_zero {
        y_lo = y_lo.min(0.0);
        y_hi = y_hi.max(0.0);
    }
    if x_hi <= x_lo {
        x_lo -= 1.0;
        x_hi += 1.0;
    }
    let pad = if y_hi > y_lo {
        0.05 * (y_hi - y_lo)
    } else {
        0.5
    };
    (x_lo..x_hi, (y_lo - pad)..(y_hi + pad))
}

#[cfg(test)]
#[path = "loss_tests.rs"]
mod tests;
