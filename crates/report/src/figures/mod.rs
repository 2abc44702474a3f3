//! The report figures, each written as SVG and PNG under `results/<grid>/figures/`.
//!
//! - [`loss`]: `loss_curves` — raw training loss per run and windowed group means with their batch noise, a panel per task;
//!   `loss_vs_base` — the same with the frozen base's loss on each batch subtracted (runs that record it);
//! - [`bars`]: `metric_bars` — mean ± sample std of each task's primary metric per group;
//! - [`activations`]: `activation_shapes` — f and f′ of every registered activation and
//!   Sinter's ripple (written for grids with LoRAN runs);
//! - [`rank`]: `rank_sweep` — score and test loss against adapter rank with a ±std band
//!   (written for grids whose runs cover two ranks or more);
//! - [`sinter_map`]: `sinter_map` — Sinter's (A, ω) grid: delta against the baseline and
//!   divergences per cell (written for tables with Sinter at two A and two ω or more).
//! - [`spectrum`]: `spectrum` — rank measures of trained updates, written by `loran analyze`
//!   next to its `analysis.csv` (not by the report).
//!
//! Text uses the bundled DejaVu Sans ([`crate::font`]); colours are per group and
//! shared by both figures ([`palette::GroupPalette`]).

pub mod activations;
pub mod bars;
pub mod canvas;
pub mod layout;
pub mod loss;
pub mod palette;
pub mod rank;
pub mod rows;
pub mod sinter_map;
pub mod spectrum;

use super::load::LoadedRun;
use super::settings::{ReportSpec, TableKind};
use super::table::TableReport;
use anyhow::Result;
use std::path::{Path, PathBuf};

/// Folder under the grid directory that receives the figures.
pub const FIGURES_DIR: &str = "figures";

/// Draws every figure the runs allow into `<grid_dir>/figures/` and returns the written paths
/// (SVG then PNG for each figure). With no run, or no logged step, a figure is skipped.
pub fn write_figures(grid_dir: &Path, runs: &[LoadedRun], spec: &ReportSpec, tables: &TableReport) -> Result<Vec<PathBuf>> {
    let baseline = tables.baseline.as_deref().filter(|b| tables.table.rows.iter().any(|r| r == b));
    let dir = grid_dir.join(FIGURES_DIR);
    let palette = palette::GroupPalette::new(runs.iter().map(|r| r.result.group.as_str()));
    let grid = super::grid_name(grid_dir, runs);
    let mut written = Vec::new();
    let loss_title = format!("{grid}: training loss (thin: each run; thick: mean of the runs with its batch noise)");
    if let Some(fig) = loss::LossFigure::from_runs(runs, &palette, &loss_title, loss::LossMeasure::Training) {
        written.extend(canvas::save_figure(&fig, &dir, loss::STEM)?);
    }
    let paired_title = format!("{grid}: training loss minus the frozen base's loss on the same batch");
    if let Some(fig) = loss::LossFigure::from_runs(runs, &palette, &paired_title, loss::LossMeasure::OverBase) {
        written.extend(canvas::save_figure(&fig, &dir, loss::STEM_VS_BASE)?);
    }
    let per = match spec.table {
        TableKind::Main => "method",
        TableKind::Ablation => "activation",
        TableKind::Rank => "rank",
    };
    let bars_title = format!("{grid}: primary metric per {per} (mean ± sample std over seeds)");
    if let Some(fig) = bars::BarFigure::from_runs(runs, spec.table, baseline, &bars_title) {
        written.extend(canvas::save_figure(&fig, &dir, bars::STEM)?);
    }
    let rank_title = format!("{grid}: score against adapter rank (mean ± sample std over seeds)");
    if let Some(fig) = rank::RankFigure::from_runs(runs, &rank_title) {
        written.extend(canvas::save_figure(&fig, &dir, rank::STEM)?);
    }
    if let Some(fig) = sinter_map::SinterMap::from_report(tables, runs, &grid) {
        written.extend(canvas::save_figure(&fig, &dir, sinter_map::STEM)?);
    }
    if runs.iter().any(|r| r.result.identity.activation.is_some()) {
        let fig = activations::ActivationFigure::registered(&format!("{grid}: LoRAN activations at their default parameters"))?;
        written.extend(canvas::save_figure(&fig, &dir, activations::STEM)?);
    }
    Ok(written)
}
