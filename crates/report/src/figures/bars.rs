//! `metric_bars.{svg,png}`: each task's primary metric, one bar per table row (method,
//! activation or rank), coloured alike in every panel.
//!
//! One panel per task, stacked vertically. Bars are horizontal so that long group names
//! (`lora-news-standfirst`, …) sit on the left in full, one per row, without overlapping.
//! A bar is the mean over the group's `ok` runs that report the metric; a black whisker shows
//! ±1 sample standard deviation when n ≥ 2. The value is printed right of the bar as
//! `mean ± std (n=…)`, with `of k runs` when some of the group's runs are missing (failed,
//! diverged, or without the metric). Rows follow the table's order, top to bottom; the panel's
//! metric is the `primary_metric` of the task's first run (by `run_id`).

use super::canvas::{drawing_error, Figure};
use super::layout::{
    text, text_width, tick_label, title, GRID_BOLD, GRID_LIGHT, MARGIN, MAX_TICKS, TITLE_HEIGHT,
    WIDTH,
};
use super::palette::GroupPalette;
use super::rows::RowAxis;
use crate::font::font;
use crate::load::LoadedRun;
use crate::settings::TableKind;
use crate::table::build::{column_spec, row_label_in, sort_rows, LabelContext};
use crate::table::majority_floors;
use loran_train::record::RunStatus;
use anyhow::Result;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};
use std::collections::BTreeMap;

/// Height of one bar row, pixels.
pub const ROW_HEIGHT: u32 = 40;
/// Height of a panel besides its rows (caption and x axis), pixels.
pub const PANEL_OVERHEAD: u32 = 120;
/// File stem of the figure.
pub const STEM: &str = "metric_bars";

const LABEL_FONT: f64 = 14.0;
const X_LABEL_AREA: u32 = 50;
const RIGHT_MARGIN: u32 = 24;

/// One bar: a group's primary metric over its ok runs.
#[derive(Debug, Clone, PartialEq)]
pub struct BarRow {
    /// Row label (method, activation or rank).
    pub group: String,
    /// Mean over the ok runs that report the metric (`None` when there is none).
    pub mean: Option<f64>,
    /// Sample standard deviation (`None` when n < 2).
    pub std: Option<f64>,
    /// Runs behind the mean.
    pub n: usize,
    /// All finished runs of the group, whatever their status.
    pub runs: usize,
    /// Decimals of the printed value, as the table prints the metric.
    pub decimals: usize,
}

impl BarRow {
    /// The text printed next to the bar.
    pub fn label(&self) -> String {
        let count = if self.n == self.runs {
            format!("n={}", self.n)
        } else {
            format!("n={} of {} runs", self.n, self.runs)
        };
        match (self.mean, self.std) {
            (Some(m), Some(s)) => format!("{m:.d$} ± {s:.d$} ({count})", d = self.decimals),
            (Some(m), None) => format!("{m:.d$} ({count})", d = self.decimals),
            (None, _) => format!("no ok run ({count})"),
        }
    }

    fn upper(&self) -> Option<f64> {
        self.mean.map(|m| m + self.std.unwrap_or(0.0))
    }

    fn lower(&self) -> Option<f64> {
        self.mean.map(|m| m - self.std.unwrap_or(0.0))
    }
}

/// The bars of one task.
#[derive(Debug, Clone, PartialEq)]
pub struct BarPanel {
    /// Task name.
    pub task: String,
    /// The metric shown (the task's primary metric).
    pub metric: String,
    /// One row per table row, in the table's order.
    pub rows: Vec<BarRow>,
    /// A reference value drawn as a dashed line, with its label (the majority-class
    /// accuracy of a classification task).
    pub floor: Option<(String, f64)>,
}

impl BarPanel {
    fn height(&self) -> u32 {
        PANEL_OVERHEAD + ROW_HEIGHT * self.rows.len() as u32
    }
}

/// The whole bar figure.
#[derive(Debug, Clone, PartialEq)]
pub struct BarFigure {
    /// Text of the title band.
    pub title: String,
    /// Task panels sorted by task name.
    pub panels: Vec<BarPanel>,
    /// Group colours.
    pub palette: GroupPalette,
}

impl BarFigure {
    /// Aggregates the runs per task and table row (method, activation or rank, as the
    /// report's table kind labels them), in the table's row order; `None` without runs.
    pub fn from_runs(runs: &[LoadedRun], kind: TableKind, baseline: Option<&str>, title: &str) -> Option<Self> {
        let mut by_task: BTreeMap<&str, Vec<&LoadedRun>> = BTreeMap::new();
        for run in runs {
            by_task.entry(&run.result.task).or_default().push(run);
        }
        if by_task.is_empty() {
            return None;
        }
        let floors = majority_floors(runs);
        let context = LabelContext::of(runs);
        let panels = by_task
            .into_iter()
            .map(|(task, mut task_runs)| {
                task_runs.sort_by(|a, b| a.result.run_id.cmp(&b.result.run_id));
                let metric = task_runs[0].result.primary_metric.clone();
                let mut groups: BTreeMap<String, Vec<&LoadedRun>> = BTreeMap::new();
                for run in &task_runs {
                    groups.entry(row_label_in(kind, run, &context)).or_default().push(run);
                }
                let mut order: Vec<String> = groups.keys().cloned().collect();
                sort_rows(kind, &mut order, baseline, |row| groups.get(row).and_then(|g| g.first().copied()));
                let rows = order
                    .iter()
                    .map(|label| bar_row(label, &groups[label], &metric))
                    .collect();
                let floor = floors
                    .iter()
                    .find(|f| f.task == task && metric == "accuracy")
                    .map(|f| {
                        let spec = column_spec(&metric);
                        let value = f.accuracy * spec.scale;
                        (format!("always `{}`: {value:.*}", f.label, spec.decimals), value)
                    });
                BarPanel {
                    task: task.to_owned(),
                    metric,
                    rows,
                    floor,
                }
            })
            .collect();
        let mut panels: Vec<BarPanel> = panels;
        // As in the table: tasks in the scorer registry's order of their kinds (summarization
        // first), then by name.
        panels.sort_by_key(|p| (loran_metrics::scoring::kind_position(&p.metric).unwrap_or(usize::MAX), p.task.clone()));
        let palette = GroupPalette::new(panels.iter().flat_map(|p| p.rows.iter().map(|r| r.group.as_str())));
        Some(Self {
            title: title.to_owned(),
            panels,
            palette,
        })
    }

    fn label_area_width(&self) -> u32 {
        let widest = self
            .panels
            .iter()
            .flat_map(|p| p.rows.iter())
            .map(|r| text_width(&r.group, LABEL_FONT))
            .max()
            .unwrap_or(0);
        (widest + 20).clamp(80, WIDTH * 2 / 5)
    }
}

/// A group's bar, on the table's scale (ROUGE, accuracy and macro-F1 ×100), so that the
/// figure and the table print the same numbers.
fn bar_row(group: &str, members: &[&LoadedRun], metric: &str) -> BarRow {
    let spec = column_spec(metric);
    let values: Vec<f64> = members
        .iter()
        .filter(|r| r.result.status == RunStatus::Ok)
        .filter_map(|r| r.result.metrics.get(metric).copied())
        .filter(|v| v.is_finite())
        .map(|v| v * spec.scale)
        .collect();
    BarRow {
        group: group.to_owned(),
        mean: (!values.is_empty()).then(|| loran_metrics::summarize(&values).mean),
        std: loran_metrics::summarize(&values).std,
        n: values.len(),
        runs: members.len(),
        decimals: spec.decimals,
    }
}

impl Figure for BarFigure {
    fn size(&self) -> (u32, u32) {
        let panels: u32 = self.panels.iter().map(BarPanel::height).sum();
        (WIDTH, TITLE_HEIGHT + panels)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let (head, body) = root.split_vertically(TITLE_HEIGHT);
        head.draw(&Text::new(
            self.title.as_str(),
            ((WIDTH / 2) as i32, (TITLE_HEIGHT / 2) as i32),
            title(24.0),
        ))
        .map_err(drawing_error)?;
        let mut breaks = Vec::new();
        let mut y = 0;
        for panel in self.panels.iter().take(self.panels.len().saturating_sub(1)) {
            y += panel.height();
            breaks.push(y);
        }
        let areas = body.split_by_breakpoints(Vec::<u32>::new(), breaks);
        let label_area = self.label_area_width();
        for (panel, area) in self.panels.iter().zip(areas) {
            self.draw_panel(panel, &area, label_area)?;
        }
        Ok(())
    }
}

impl BarFigure {
    fn draw_panel<DB: DrawingBackend>(
        &self,
        panel: &BarPanel,
        area: &DrawingArea<DB, Shift>,
        label_area: u32,
    ) -> Result<()> {
        let n = panel.rows.len();
        let plot_px = WIDTH.saturating_sub(label_area + MARGIN + RIGHT_MARGIN) as f64;
        let label_px = panel
            .rows
            .iter()
            .map(|r| text_width(&r.label(), LABEL_FONT))
            .max()
            .unwrap_or(0) as f64
            + 16.0;
        let x_range = value_range(&panel.rows, plot_px, label_px);
        let x_span = x_range.end - x_range.start;
        let rows_axis = RowAxis { rows: n };
        let mut chart = ChartBuilder::on(area)
            .caption(
                format!("task: {}  ·  {}", panel.task, panel.metric),
                font(19.0),
            )
            .margin_top(MARGIN)
            .margin_bottom(MARGIN)
            .margin_left(MARGIN)
            .margin_right(RIGHT_MARGIN)
            .x_label_area_size(X_LABEL_AREA)
            .y_label_area_size(label_area)
            .build_cartesian_2d(x_range, rows_axis)
            .map_err(drawing_error)?;
        let x_fmt = |v: &f64| tick_label(*v, x_span);
        let y_fmt = |v: &f64| {
            rows_axis
                .row_of(*v)
                .map(|i| panel.rows[i].group.clone())
                .unwrap_or_default()
        };
        chart
            .configure_mesh()
            .disable_y_mesh()
            .x_desc(format!(
                "{}{} (mean over ok runs; whiskers ±1 sample std)",
                panel.metric,
                if column_spec(&panel.metric).scale == 100.0 { " ×100" } else { "" }
            ))
            .x_labels(MAX_TICKS)
            .y_labels(n)
            .x_label_formatter(&x_fmt)
            .y_label_formatter(&y_fmt)
            .label_style(font(LABEL_FONT))
            .axis_desc_style(font(16.0))
            .light_line_style(GRID_LIGHT)
            .max_light_lines(1)
            .bold_line_style(GRID_BOLD)
            .draw()
            .map_err(drawing_error)?;

        let ink = BLACK.stroke_width(2);
        for (i, row) in panel.rows.iter().enumerate() {
            let base = i as f64;
            let centre = base + 0.5;
            let colour = self.palette.colour(&row.group);
            if let Some(m) = row.mean {
                chart
                    .draw_series([Rectangle::new(
                        [(0.0, base + 0.18), (m, base + 0.82)],
                        colour.mix(0.85).filled(),
                    )])
                    .map_err(drawing_error)?;
            }
            if let (Some(lo), Some(hi), Some(_)) = (row.lower(), row.upper(), row.std) {
                let whisker = [
                    vec![(lo, centre), (hi, centre)],
                    vec![(lo, centre - 0.14), (lo, centre + 0.14)],
                    vec![(hi, centre - 0.14), (hi, centre + 0.14)],
                ];
                chart
                    .draw_series(whisker.into_iter().map(|p| PathElement::new(p, ink)))
                    .map_err(drawing_error)?;
            }
            let at = row.upper().unwrap_or(0.0).max(0.0);
            let label = EmptyElement::at((at, centre))
                + Text::new(
                    row.label(),
                    (8, 0),
                    text(LABEL_FONT, HPos::Left, VPos::Center),
                );
            chart.draw_series([label]).map_err(drawing_error)?;
        }
        if let Some((label, value)) = &panel.floor {
            let grey = RGBColor(90, 90, 90);
            let line = DashedLineSeries::new([(*value, 0.0), (*value, n as f64)], 6, 5, grey.stroke_width(2));
            chart.draw_series(line).map_err(drawing_error)?;
            let text_at = EmptyElement::at((*value, 0.0)) + Text::new(label.clone(), (4, 1), text(12.0, HPos::Left, VPos::Top).color(&grey));
            chart.draw_series([text_at]).map_err(drawing_error)?;
        }
        Ok(())
    }
}

/// The value axis: from min(0, lowest whisker) to a maximum that leaves `label_px` pixels of
/// room right of the longest bar for its printed value.
fn value_range(rows: &[BarRow], plot_px: f64, label_px: f64) -> std::ops::Range<f64> {
    let upper = rows
        .iter()
        .filter_map(BarRow::upper)
        .fold(f64::NEG_INFINITY, f64::max);
    let lower = rows.iter().filter_map(BarRow::lower).fold(0.0, f64::min);
    let upper = if upper.is_finite() && upper > lower {
        upper
    } else {
        lower + 1.0
    };
    let free = plot_px - label_px;
    // Keep at least a third of the plot for the bars themselves.
    let scale = if free >= plot_px / 3.0 {
        plot_px / free
    } else {
        3.0
    };
    lower..lower + (upper - lower) * scale
}

#[cfg(test)]
#[path = "bars_tests.rs"]
mod tests;
