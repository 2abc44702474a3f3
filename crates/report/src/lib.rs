//! Reports over a grid's finished runs: `summary.csv`, the paper-shaped tables and the figures.
//!
//! [`render`] is the entry point: it loads `results/<grid>/runs/*/` ([`load`]), writes
//! `results/<grid>/summary.csv` ([`summary`]), `table.{csv,md,tex}` ([`table`], laid out as
//! `report.yaml` says: [`settings`]) and `results/<grid>/figures/*.{svg,png}` ([`figures`]).
//! Run folders without `result.json` are unfinished: skipped and counted. Runs that match
//! no cell of the folder's [`manifest`] (stale) and finished runs whose files are damaged
//! are left out of everything, each kind reported in a warning line.

pub mod compare;
pub mod figures;
pub mod font;
pub mod load;
pub mod manifest;
pub mod output;
pub mod revisions;
pub mod settings;
pub mod table;
pub mod windows;
pub mod summary;
#[cfg(test)]
mod test_support;

pub use load::{load_runs, scan_runs, DamagedRun, LoadedRun, RunScan};
pub use summary::write_summary_csv;

use loran_train::record::RunStatus;
use anyhow::Result;
use std::path::{Path, PathBuf};

/// What [`render`] found and wrote.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RenderSummary {
    /// Finished runs with status `ok`.
    pub ok: usize,
    /// Finished runs with status `failed`.
    pub failed: usize,
    /// Finished runs with status `diverged`.
    pub diverged: usize,
    /// Run folders without `result.json` (skipped).
    pub unfinished: usize,
    /// The written `summary.csv`.
    pub summary_csv: PathBuf,
    /// The written `table.csv`, `table.md` and `table.tex` (none without an `ok` run).
    pub tables: Vec<PathBuf>,
    /// The written figures, SVG then PNG for each.
    pub figures: Vec<PathBuf>,
    /// The warning that the finished runs come from more than one code revision, if they do.
    pub mixed_revisions: Option<String>,
    /// Run folders left out because they match no cell of the grid (see [`manifest`]).
    pub stale: usize,
    /// Finished runs left out because their files are damaged.
    pub damaged: usize,
    /// One line per thing left out (stale runs together, each damaged run), with its fix.
    pub warnings: Vec<String>,
}

impl RenderSummary {
    /// Finished runs of any status.
    pub fn finished(&self) -> usize {
        self.ok + self.failed + self.diverged
    }
}

/// Loads the runs under `grid_dir/runs/`, writes `grid_dir/summary.csv` and the figures
/// under `grid_dir/figures/` as the folder's `report.yaml` says, and reports the counts
/// and paths. For `loran report DIR`, which has no grid file to read the settings from.
pub fn render(grid_dir: &Path) -> Result<RenderSummary> {
    render_with(grid_dir, &settings::read_report_settings(grid_dir)?)
}

/// [`render`] with the report settings in hand (the grid run that just wrote them).
pub fn render_with(grid_dir: &Path, spec: &settings::ReportSpec) -> Result<RenderSummary> {
    let scan = scan_runs(grid_dir)?;
    let summary_csv = write_summary_csv(grid_dir, &scan.runs)?;
    let mixed_revisions = revisions::mixed_revisions_note(&revisions::code_revisions(&scan.runs));
    let mut tables = table::TableReport::new(&grid_name(grid_dir, &scan.runs), &scan.runs, spec);
    tables.grid_notes.extend(mixed_revisions.clone());
    let figures = figures::write_figures(grid_dir, &scan.runs, spec, &tables)?;
    let tables = table::write_tables(grid_dir, &tables)?;
    remove_unwritten(grid_dir, &tables, &figures)?;
    let count = |status: RunStatus| {
        scan.runs
            .iter()
            .filter(|r| r.result.status == status)
            .count()
    };
    Ok(RenderSummary {
        ok: count(RunStatus::Ok),
        failed: count(RunStatus::Failed),
        diverged: count(RunStatus::Diverged),
        unfinished: scan.unfinished.len(),
        summary_csv,
        tables,
        figures,
        mixed_revisions,
        stale: scan.stale.len(),
        damaged: scan.damaged.len(),
        warnings: scan.warnings(grid_dir),
    })
}

/// Removes the tables and figures an earlier render wrote and this one did not (no `ok`
/// run left, no rank sweep or LoRAN run any more), so no file on disk still shows runs
/// the report now leaves out.
fn remove_unwritten(grid_dir: &Path, tables: &[PathBuf], figures: &[PathBuf]) -> Result<()> {
    let table_files = ["csv", "md", "tex"].map(|ext| grid_dir.join(format!("{}.{ext}", table::TABLE_STEM)));
    let figure_stems = [figures::loss::STEM, figures::loss::STEM_VS_BASE, figures::bars::STEM, figures::rank::STEM, figures::activations::STEM];
    let figure_files = figure_stems.iter().flat_map(|stem| ["svg", "png"].map(|ext| grid_dir.join(figures::FIGURES_DIR).join(format!("{stem}.{ext}"))));
    for path in table_files.into_iter().chain(figure_files) {
        if !tables.contains(&path) && !figures.contains(&path) && path.is_file() {
            std::fs::remove_file(&path).map_err(|e| anyhow::anyhow!("cannot remove {}, left from an earlier report: {e}; delete it by hand", path.display()))?;
        }
    }
    Ok(())
}

/// The grid's name: the `grid` field of the first run, else the folder name.
pub fn grid_name(grid_dir: &Path, runs: &[LoadedRun]) -> String {
    runs.first()
        .map(|r| r.result.grid.clone())
        .filter(|g| !g.is_empty())
        .or_else(|| grid_dir.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "grid".to_owned())
}
