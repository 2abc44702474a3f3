//! `rank_sweep.{svg,png}`: score against adapter rank, with a ±1 sample-std band over seeds.
//!
//! One row of panels per task: its primary metric on the left and, when recorded, the
//! teacher-forced test loss on the right. Each method is a line through its mean at each
//! rank, with a translucent band of ±1 sample std (where n ≥ 2) and the count of runs
//! next to each point. Ranks sit evenly spaced in the order of their value (so powers of
//! two read as a log2 axis). A method without an adapter (zero-shot) is a dashed
//! horizontal line. Written for grids whose runs cover at least two ranks of one task.

use super::canvas::{drawing_error, Figure};
use super::layout::{text, text_width, tick_label, title, GRID_BOLD, GRID_LIGHT, MARGIN, TITLE_HEIGHT, WIDTH};
use super::palette::GroupPalette;
use crate::font::font;
use crate::load::LoadedRun;
use crate::table::build::rank_of;
use loran_train::record::RunStatus;
use anyhow::Result;
use loran_metrics::{summarize, Summary};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};
use std::collections::{BTreeMap, BTreeSet};

/// File stem of the figure.
pub const STEM: &str = "rank_sweep";
/// Height of one task's row of panels, pixels.
pub const PANEL_HEIGHT: u32 = 400;

/// One method's points over the ranks of a panel.
#[derive(Debug, Clone, PartialEq)]
pub struct RankLine {
    /// Method label (colour).
    pub method: String,
    /// (rank, summary over its ok runs), by increasing rank.
    pub points: Vec<(usize, Summary)>,
}

/// One panel: a metric of a task.
#[derive(Debug, Clone, PartialEq)]
pub struct RankPanel {
    /// Task name.
    pub task: String,
    /// Metric name.
    pub metric: String,
    /// The ranks on the x axis, increasing.
    pub ranks: Vec<usize>,
    /// Lines of methods with adapters.
    pub lines: Vec<RankLine>,
    /// Methods without adapters: a level each.
    pub levels: Vec<(String, Summary)>,
}

/// The whole figure: `panels[task] = [primary, test loss?]`.
#[derive(Debug, Clone, PartialEq)]
pub struct RankFigure {
    /// Text of the title band.
    pub title: String,
    /// One row per task.
    pub rows: Vec<Vec<RankPanel>>,
    /// Method colours.
    pub palette: GroupPalette,
}

fn panel(task: &str, metric: &str, runs: &[&LoadedRun]) -> Option<RankPanel> {
    let mut by_point: BTreeMap<(String, Option<usize>), Vec<f64>> = BTreeMap::new();
    for run in runs {
        if let Some(&v) = run.result.metrics.get(metric).filter(|v| v.is_finite()) {
            by_point.entry((run.result.identity.method_label(), rank_of(run))).or_default().push(v);
        }
    }
    let ranks: Vec<usize> = by_point.keys().filter_map(|(_, r)| *r).collect::<BTreeSet<_>>().into_iter().collect();
    if ranks.len() < 2 {
        return None;
    }
    let mut lines: BTreeMap<String, Vec<(usize, Summary)>> = BTreeMap::new();
    let mut levels = Vec::new();
    for ((method, rank), values) in by_point {
        match rank {
            Some(r) => lines.entry(method).or_default().push((r, summarize(&values))),
            None => levels.push((method, summarize(&values))),
        }
    }
    let lines = lines.into_iter().map(|(method, points)| RankLine { method, points }).collect();
    Some(RankPanel { task: task.to_string(), metric: metric.to_string(), ranks, lines, levels })
}

impl RankFigure {
    /// The figure over `runs`; `None` unless some task has runs at two ranks or more.
    pub fn from_runs(runs: &[LoadedRun], title: &str) -> Option<Self> {
        let mut by_task: BTreeMap<&str, Vec<&LoadedRun>> = BTreeMap::new();
        for run in runs.iter().filter(|r| r.result.status == RunStatus::Ok) {
            by_task.entry(&run.result.task).or_default().push(run);
        }
        let rows: Vec<Vec<RankPanel>> = by_task
            .into_iter()
            .filter_map(|(task, task_runs)| {
                let primary = task_runs[0].result.primary_metric.clone();
                let first = panel(task, &primary, &task_runs)?;
                Some(std::iter::once(first).chain(panel(task, loran_metrics::scoring::TEST_LOSS.name, &task_runs)).collect())
            })
            .collect();
        if rows.is_empty() {
            return None;
        }
        let methods = rows.iter().flatten().flat_map(|p| p.lines.iter().map(|l| l.method.as_str()).chain(p.levels.iter().map(|l| l.0.as_str())));
        let palette = GroupPalette::new(methods);
        Some(Self { title: title.to_string(), rows, palette })
    }
}

impl Figure for RankFigure {
    fn size(&self) -> (u32, u32) {
        (WIDTH, TITLE_HEIGHT + PANEL_HEIGHT * self.rows.len() as u32)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let (head, body) = root.split_vertically(TITLE_HEIGHT);
        head.draw(&Text::new(self.title.as_str(), ((WIDTH / 2) as i32, (TITLE_HEIGHT / 2) as i32), title(22.0))).map_err(drawing_error)?;
        for (row, area) in self.rows.iter().zip(body.split_evenly((self.rows.len(), 1))) {
            let cells = area.split_evenly((1, row.len()));
            for (panel, cell) in row.iter().zip(cells) {
                self.draw_panel(panel, &cell)?;
            }
        }
        Ok(())
    }
}

/// Lowest and highest value the panel draws (bands included), with 8 % head-room.
fn value_range(panel: &RankPanel) -> std::ops::Range<f64> {
    let spread = |s: &Summary| s.std.unwrap_or(0.0);
    let values = panel.lines.iter().flat_map(|l| l.points.iter().map(|p| &p.1)).chain(panel.levels.iter().map(|l| &l.1));
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for s in values {
        lo = lo.min(s.mean - spread(s));
        hi = hi.max(s.mean + spread(s));
    }
    let pad = ((hi - lo) * 0.08).max(1e-3);
    (lo - pad)..(hi + pad)
}

impl RankFigure {
    fn draw_panel<DB: DrawingBackend>(&self, panel: &RankPanel, area: &DrawingArea<DB, Shift>) -> Result<()> {
        let x_of = |r: usize| panel.ranks.iter().position(|&x| x == r).unwrap_or(0) as f64;
        let n = panel.ranks.len() as f64;
        let y_range = value_range(panel);
        let y_span = y_range.end - y_range.start;
        let higher = loran_metrics::metric_spec(&panel.metric).is_none_or(|spec| spec.higher_is_better());
        let better = if higher { "higher is better" } else { "lower is better" };
        let mut chart = ChartBuilder::on(area)
            .caption(format!("{} · {} ({better})", panel.task, panel.metric), font(17.0))
            .margin(MARGIN)
            .x_label_area_size(48)
            .y_label_area_size(70)
            .build_cartesian_2d(-0.4..(n - 0.6), y_range.clone())
            .map_err(drawing_error)?;
        let ranks = panel.ranks.clone();
        let x_fmt = move |v: &f64| {
            let i = v.round();
            if (v - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < ranks.len() {
                ranks[i as usize].to_string()
            } else {
                String::new()
            }
        };
        let y_fmt = |v: &f64| tick_label(*v, y_span);
        chart
            .configure_mesh()
            .x_desc("adapter rank r (ranks evenly spaced)")
            .y_desc(panel.metric.as_str())
            .x_labels(panel.ranks.len() * 2 + 1)
            .y_labels(8)
            .x_label_formatter(&x_fmt)
            .y_label_formatter(&y_fmt)
            .label_style(font(13.0))
            .axis_desc_style(font(14.0))
            .light_line_style(GRID_LIGHT)
            .max_light_lines(1)
            .bold_line_style(GRID_BOLD)
            .draw()
            .map_err(drawing_error)?;
        for (method, level) in &panel.levels {
            let colour = self.palette.colour(method);
            let dashes = DashedLineSeries::new([(-0.4, level.mean), (n - 0.6, level.mean)], 8, 6, colour.stroke_width(2));
            chart.draw_series(dashes).map_err(drawing_error)?;
            let label = format!("{method}: {:.4}", level.mean);
            chart.draw_series(std::iter::once(Text::new(label, (-0.35, level.mean), text(12.0, HPos::Left, VPos::Bottom)))).map_err(drawing_error)?;
        }
        for line in &panel.lines {
            let colour = self.palette.colour(&line.method);
            let upper: Vec<(f64, f64)> = line.points.iter().map(|(r, s)| (x_of(*r), s.mean + s.std.unwrap_or(0.0))).collect();
            let lower: Vec<(f64, f64)> = line.points.iter().rev().map(|(r, s)| (x_of(*r), s.mean - s.std.unwrap_or(0.0))).collect();
            let band: Vec<(f64, f64)> = upper.into_iter().chain(lower).collect();
            chart.draw_series(std::iter::once(Polygon::new(band, colour.mix(0.18).filled()))).map_err(drawing_error)?;
            let means: Vec<(f64, f64)> = line.points.iter().map(|(r, s)| (x_of(*r), s.mean)).collect();
            chart.draw_series(LineSeries::new(means.clone(), colour.stroke_width(2))).map_err(drawing_error)?;
            chart.draw_series(means.iter().map(|&p| Circle::new(p, 4, colour.filled()))).map_err(drawing_error)?;
            let counts = line.points.iter().map(|(r, s)| Text::new(format!("n={}", s.n), (x_of(*r) + 0.05, s.mean), text(11.0, HPos::Left, VPos::Top)));
            chart.draw_series(counts).map_err(drawing_error)?;
        }
        // Legend: the methods' colours, top right inside the plot, moved left as far as
        // its longest entry (`na-lora-style (reconstructed)`, …) needs.
        let entries: Vec<String> = panel.lines.iter().map(|l| format!("{} (band ±1 std)", l.method)).collect();
        let widest = entries.iter().map(|e| text_width(e, 12.0)).max().unwrap_or(0) as i32;
        let x = area.dim_in_pixel().0 as i32 - 200.max(widest + 30 + 8);
        let mut y = 44;
        for (line, entry) in panel.lines.iter().zip(entries) {
            let colour = self.palette.colour(&line.method);
            area.draw(&PathElement::new(vec![(x, y), (x + 24, y)], colour.stroke_width(3))).map_err(drawing_error)?;
            area.draw(&Text::new(entry, (x + 30, y), text(12.0, HPos::Left, VPos::Center))).map_err(drawing_error)?;
            y += 18;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::load_runs;
    use crate::test_support::{identity, result, with_identity, write_run};

    #[test]
    fn points_average_seeds_per_rank_and_zero_shot_is_a_level() {
        let grid = tempfile::tempdir().unwrap();
        for (r, seed, score) in [(4, 0, 0.10), (4, 1, 0.14), (16, 0, 0.20), (16, 1, 0.22), (64, 0, 0.30)] {
            let mut run = result(&format!("lora-r{r}"), "news", seed, &[("rougeL", score), ("test_loss", 3.0 - score)]);
            run.labels.insert("adapter.r".into(), r.to_string());
            run.identity.r = r;
            write_run(grid.path(), &run, &[]);
        }
        let zero = result("zero", "news", 0, &[("rougeL", 0.05), ("test_loss", 3.3)]);
        let zero = with_identity(zero, identity("none", loran_train::identity::QuantMode::None, "sinter"));
        write_run(grid.path(), &zero, &[]);
        let runs = load_runs(grid.path()).unwrap();
        let fig = RankFigure::from_runs(&runs, "t").unwrap();
        assert_eq!(fig.rows.len(), 1);
        let [primary, loss] = &fig.rows[0][..] else { panic!("two panels") };
        assert_eq!((primary.metric.as_str(), loss.metric.as_str()), ("rougeL", "test_loss"));
        assert_eq!(primary.ranks, [4, 16, 64]);
        let points = &primary.lines[0].points;
        assert_eq!(points.iter().map(|p| (p.0, p.1.n)).collect::<Vec<_>>(), [(4, 2), (16, 2), (64, 1)]);
        assert!((points[0].1.mean - 0.12).abs() < 1e-12);
        assert!((points[0].1.std.unwrap() - 0.04 / 2f64.sqrt()).abs() < 1e-12);
        assert_eq!(primary.levels[0].0, "zero-shot");
        assert!((value_range(primary).start - (0.05 - 0.08 * 0.25)).abs() < 1e-9);
    }

    #[test]
    fn a_single_rank_gives_no_figure() {
        let grid = tempfile::tempdir().unwrap();
        write_run(grid.path(), &result("lora", "news", 0, &[("rougeL", 0.1)]), &[]);
        write_run(grid.path(), &result("lora", "news", 1, &[("rougeL", 0.2)]), &[]);
        let runs = load_runs(grid.path()).unwrap();
        assert_eq!(RankFigure::from_runs(&runs, "t"), None);
    }
}
