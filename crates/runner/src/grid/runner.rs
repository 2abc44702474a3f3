//! Running every cell of a grid: skip finished ones, record failures, go on, then
//! render the report. Each cell runs under its own lock, so several processes can share
//! one grid's cells; the grid-wide writes take the grid's lock briefly (see
//! [`crate::grid::lock`]).

use crate::grid::progress::{CellEnd, GridProgress};
use crate::grid::lock::{CellLock, GridLock};
use crate::grid::{expand, owner, reuse, select, sweep, Cell, GridFile};
use loran_train::faults;
use loran_report::RenderSummary;
use loran_train::dir::RunDir;
use loran_train::execute::run_cell;
use loran_train::resources::Resources;
use loran_train::record::{RunResult, RunStatus};
use std::collections::BTreeMap;
use anyhow::{bail, Result};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// How to run a grid.
#[derive(Debug, Clone)]
pub struct GridOptions {
    /// Parent of `<grid name>/` (default `results`).
    pub results_root: PathBuf,
    /// Re-run cells that already finished.
    pub force: bool,
    /// Only cells whose run id contains this text.
    pub only: Option<String>,
}

/// What happened to the cells of a grid.
#[derive(Debug, Clone, Default)]
pub struct GridOutcome {
    /// Cells run now that finished `ok`.
    pub ok: Vec<String>,
    /// Cells skipped because a matching result.json existed.
    pub skipped: Vec<String>,
    /// Cells that diverged.
    pub diverged: Vec<String>,
    /// Cells that failed, with their error.
    pub failed: Vec<(String, String)>,
    /// Cells another process was running, left to it (not in this run's report).
    pub elsewhere: Vec<String>,
    /// What the report rendered after the cells.
    pub report: RenderSummary,
    /// Where the grid's wall time went.
    pub time: TimeSplit,
}

/// Wall-clock seconds of a grid by phase, summed over the cells run now (skipped and
/// copied cells cost nothing): the figures to plan the next profile from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TimeSplit {
    /// Loading every model and task the unfinished cells need, before the first cell.
    pub preflight_s: f64,
    /// Each cell's model and data loading and adapter attachment.
    pub loading_s: f64,
    /// Training steps.
    pub training_s: f64,
    /// Teacher-forced test loss.
    pub test_loss_s: f64,
    /// Greedy generation and scoring.
    pub generation_s: f64,
    /// Summary, tables and figures.
    pub report_s: f64,
    /// The whole grid, from the lock to the report.
    pub total_s: f64,
}

impl TimeSplit {
    fn add_cell(&mut self, t: &loran_train::record::Timings) {
        self.loading_s += t.load_s;
        self.training_s += t.train_s;
        self.test_loss_s += t.test_loss_s;
        self.generation_s += t.generate_s;
    }
}

impl std::fmt::Display for TimeSplit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts = [
            ("preflight", self.preflight_s),
            ("loading", self.loading_s),
            ("training", self.training_s),
            ("test loss", self.test_loss_s),
            ("generation", self.generation_s),
            ("report", self.report_s),
        ];
        let named: f64 = parts.iter().map(|(_, s)| s).sum();
        let share = |s: f64| if self.total_s > 0.0 { 100.0 * s / self.total_s } else { 0.0 };
        let text: Vec<String> = parts.iter().map(|(name, s)| format!("{name} {s:.1}s ({:.0}%)", share(*s))).collect();
        let other = (self.total_s - named).max(0.0);
        write!(f, "time: {}, other {other:.1}s; total {:.1}s", text.join(", "), self.total_s)
    }
}

/// The folder a grid writes to.
pub fn grid_dir(grid: &GridFile, opts: &GridOptions) -> PathBuf {
    opts.results_root.join(&grid.spec.name)
}

/// Where a cell stands in its grid folder before the grid runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CellState {
    /// Not run yet, failed, or run with another config: run it.
    ToRun,
    /// Finished (ok or diverged) with the same config hash and intact files: skip it.
    Finished,
    /// Finished, but its files do not hold what `result.json` says, an older scorer scored
    /// it, or its `result.json` has an older schema: run it again. Holds how to say so
    /// (`is damaged (metrics.jsonl line 7 does not parse)`).
    Damaged(String),
}

/// Whether `cell` already has a finished (ok or diverged) result with the same config
/// hash, and whether that run's files are intact and current ([`loran_train::damage`]).
pub fn cell_state(dir: &Path, cell: &Cell) -> CellState {
    use loran_train::damage::{self, ResultError};
    let run = RunDir::new(dir, &cell.run_id);
    let Ok(text) = std::fs::read_to_string(run.result_path()) else { return CellState::ToRun };
    let result = match damage::parse_result(&text) {
        Ok(result) => result,
        Err(ResultError::Older { header, .. }) if header.config_hash != cell.config_hash || header.status == RunStatus::Failed => {
            return CellState::ToRun;
        }
        Err(ResultError::Older { damage, .. }) => return CellState::Damaged(format!("{} ({damage})", damage.state())),
        Err(ResultError::Newer(schema)) => {
            return CellState::Damaged(format!("has result schema {schema}, which this build (schema {}) does not know", loran_train::record::RESULT_SCHEMA));
        }
        Err(ResultError::Invalid(e)) => return CellState::Damaged(format!("is damaged (result.json line {} does not parse)", e.line())),
    };
    if result.config_hash != cell.config_hash || result.status == RunStatus::Failed {
        return CellState::ToRun;
    }
    match damage::check(run.path(), &result) {
        Some(damage) => CellState::Damaged(format!("{} ({damage})", damage.state())),
        None => CellState::Finished,
    }
}

/// Whether `cell` already has a finished (ok or diverged), intact result with the same
/// config hash.
pub fn is_finished(dir: &Path, cell: &Cell) -> bool {
    cell_state(dir, cell) == CellState::Finished
}

/// The one pre-run check ([`loran_train::preflight`]) over `cells`, its error naming the
/// grid file. Returns the data warnings, each once.
pub fn preflight(grid: &GridFile, cells: &[&Cell], resources: &mut Resources) -> Result<Vec<String>> {
    loran_train::preflight::preflight(cells, resources).map_err(|e| anyhow::anyhow!("{}: {e}", grid.path.display()))
}

/// Runs the grid's cells in order, then renders its report. With `lr_sweep:`, the
/// tuning cells run first (in `tuning/`), then the grid's cells at the chosen rates (see
/// [`crate::grid::sweep`]). A failed cell is recorded and the grid goes on; a failed write
/// to the results folder stops it (the finished cells are already on disk). A cell that
/// another process is running is left to it ([`CellLock`]); the last process to finish
/// renders the complete report.
pub fn run_grid(grid: &GridFile, opts: &GridOptions, resources: &mut Resources, progress: &mut dyn GridProgress) -> Result<GridOutcome> {
    let all_cells = expand(grid)?;
    let cells = select::select(&all_cells, opts.only.as_deref());
    if let (Some(only), true) = (&opts.only, cells.is_empty()) {
        let all: Vec<&Cell> = all_cells.iter().collect();
        bail!(select::no_match(only, &[grid.path.as_path()], &all));
    }
    let dir = grid_dir(grid, opts);
    locked(&dir, || owner::check_owner(grid, &dir))?;
    // Pin the code revision every cell records to the tree as it is now (see `git_revision`).
    loran_train::env::git_revision();
    let grid_start = Instant::now();
    let mut outcome = GridOutcome::default();
    let mut report = grid.spec.report.clone();
    let (all_cells, cells) = match &grid.spec.lr_sweep {
        None => (all_cells.clone(), cells.into_iter().cloned().collect::<Vec<_>>()),
        Some(lr_sweep) => {
            let chosen: Vec<Cell> = cells.iter().map(|c| (*c).clone()).collect();
            let tuning = sweep::tuning_cells(lr_sweep, &grid.spec.seeds, &chosen);
            let tuning_all = sweep::tuning_cells(lr_sweep, &grid.spec.seeds, &all_cells);
            let tuning_dir = dir.join(sweep::TUNING_DIR);
            locked(&dir, || owner::record(grid, &tuning_all, &tuning_dir))?;
            progress.line(&format!("{}: tuning the learning rate of {} cell(s) on the validation split ({} run(s))", grid.spec.name, chosen.len(), tuning.len()));
            let mut tuned = run_cells(grid, opts, &tuning, &tuning_dir, resources, progress, &mut outcome)?;
            // Groups `--only` left out keep the choice their finished tuning runs make.
            let others: Vec<&Cell> = tuning_all.iter().filter(|c| !tuned.contains_key(&c.run_id) && cell_state(&tuning_dir, c) == CellState::Finished).collect();
            for cell in others {
                if let Some(result) = RunDir::new(&tuning_dir, &cell.run_id).read_result() {
                    tuned.insert(cell.run_id.clone(), result);
                }
            }
            let outcomes = tuned.iter().map(|(id, r)| (id.clone(), sweep::TuningOutcome::from(r))).collect();
            let selection = sweep::select(lr_sweep, &all_cells, &tuning_all, &outcomes);
            locked(&dir, || sweep::write_selection(&dir, &selection))?;
            for cell in &chosen {
                if let Some(why) = selection.undecided.get(&cell.group) {
                    progress.line(&format!("  {}: no learning rate chosen ({why}); its test run is left out", cell.run_id));
                    outcome.failed.push((cell.run_id.clone(), why.clone()));
                }
            }
            report.notes.extend(sweep::notes(lr_sweep, &grid.spec.seeds, &all_cells, &selection));
            (sweep::apply(&all_cells, &selection), sweep::apply(&chosen, &selection))
        }
    };
    locked(&dir, || {
        owner::record(grid, &all_cells, &dir)?;
        loran_report::settings::write_report_settings(&dir, &report)
    })?;
    run_cells(grid, opts, &cells, &dir, resources, progress, &mut outcome)?;
    let report_start = Instant::now();
    outcome.report = locked(&dir, || loran_report::render_with(&dir, &report))?;
    outcome.time.report_s = report_start.elapsed().as_secs_f64();
    outcome.time.total_s = grid_start.elapsed().as_secs_f64();
    progress.line(&format!("{}: {}", grid.spec.name, outcome.time));
    Ok(outcome)
}

/// `step` under `dir`'s grid lock, waited for: the grid-wide writes (manifest, report
/// settings, the report) must not interleave with another process's.
pub fn locked<T>(dir: &Path, step: impl FnOnce() -> Result<T>) -> Result<T> {
    let _lock = GridLock::wait(dir)?;
    step()
}

/// Runs `cells` in `dir` (skipping finished ones and copying runs of the same config
/// from other grids), adding to `outcome`; returns the result of every cell that has one.
fn run_cells(
    grid: &GridFile,
    opts: &GridOptions,
    cells: &[Cell],
    dir: &Path,
    resources: &mut Resources,
    progress: &mut dyn GridProgress,
    outcome: &mut GridOutcome,
) -> Result<BTreeMap<String, RunResult>> {
    let mut results = BTreeMap::new();
    let phase_start = Instant::now();
    let states: Vec<CellState> = cells.iter().map(|c| if opts.force { CellState::ToRun } else { cell_state(dir, c) }).collect();
    let finished: Vec<bool> = states.iter().map(|s| *s == CellState::Finished).collect();
    let unfinished: Vec<&Cell> = cells.iter().zip(&finished).filter(|(_, &done)| !done).map(|(c, _)| c).collect();
    if !unfinished.is_empty() {
        progress.line(&format!("checking the models and data of {} cell(s) to run", unfinished.len()));
        for warning in preflight(grid, &unfinished, resources)? {
            progress.line(&format!("  warning: {warning}"));
        }
    }
    outcome.time.preflight_s += phase_start.elapsed().as_secs_f64();
    let start = Instant::now();
    progress.grid_started(&grid.spec.name, cells.len());
    for (i, cell) in cells.iter().enumerate() {
        if finished[i] {
            progress.line(&format!("[{}/{}] {} finished earlier, skipped", i + 1, cells.len(), cell.run_id));
            outcome.skipped.push(cell.run_id.clone());
            if let Some(r) = RunDir::new(dir, &cell.run_id).read_result() {
                results.insert(cell.run_id.clone(), r);
            }
            progress.cell_ended(i, CellEnd::Reused);
            continue;
        }
        let _cell_lock = match CellLock::try_acquire(dir, &cell.run_id)? {
            Ok(lock) => lock,
            Err(holder) => {
                progress.line(&format!("[{}/{}] {} is being run by another process ({holder}); left to it", i + 1, cells.len(), cell.run_id));
                outcome.elsewhere.push(cell.run_id.clone());
                progress.cell_ended(i, CellEnd::Reused);
                continue;
            }
        };
        // Under the lock, look again: another process may have finished it meanwhile.
        if !opts.force && cell_state(dir, cell) == CellState::Finished {
            progress.line(&format!("[{}/{}] {} was finished by another process meanwhile, skipped", i + 1, cells.len(), cell.run_id));
            outcome.skipped.push(cell.run_id.clone());
            if let Some(r) = RunDir::new(dir, &cell.run_id).read_result() {
                results.insert(cell.run_id.clone(), r);
            }
            progress.cell_ended(i, CellEnd::Reused);
            continue;
        }
        if let CellState::Damaged(state) = &states[i] {
            progress.line(&format!("[{}/{}] {} finished earlier but {state}; running it again", i + 1, cells.len(), cell.run_id));
        }
        if !opts.force {
            let source = match reuse::find_finished(&opts.results_root, dir, &cell.config_hash)? {
                reuse::Found::Run(source) => Some(source),
                reuse::Found::Nothing { busy } => {
                    for other in busy {
                        progress.line(&format!("  {} has a run with this config but is in use by another loran process; running the cell here", other.display()));
                    }
                    None
                }
            };
            if let Some(source) = source {
                let result = reuse::adopt(&source.run, cell, &grid.spec.name, dir)?;
                progress.line(&format!("[{}/{}] {} has the config of {}; copied", i + 1, cells.len(), cell.run_id, source.run.display()));
                drop(source);
                match result.status {
                    RunStatus::Diverged => outcome.diverged.push(cell.run_id.clone()),
                    _ => outcome.skipped.push(cell.run_id.clone()),
                }
                results.insert(cell.run_id.clone(), result);
                progress.cell_ended(i, CellEnd::Reused);
                continue;
            }
        }
        progress.line(&format!("[{}/{}] {} ({:.0}s into the grid)", i + 1, cells.len(), cell.run_id, start.elapsed().as_secs_f64()));
        progress.cell_started(i, &cell.run_id);
        for warning in cell.config.adapter.warnings() {
            progress.line(&format!("  warning: {warning}"));
        }
        let result = run_cell(cell, &grid.spec.name, dir, resources, progress)?;
        outcome.time.add_cell(&result.timings);
        let summary: Vec<String> = result.metrics.iter().map(|(k, v)| format!("{k} {v:.4}")).collect();
        match result.status {
            RunStatus::Ok => {
                progress.line(&format!("  ok in {:.0}s: {}", result.timings.total_s, summary.join(", ")));
                outcome.ok.push(cell.run_id.clone());
            }
            RunStatus::Diverged => {
                progress.line(&format!("  DIVERGED: {}", result.error.clone().unwrap_or_default()));
                outcome.diverged.push(cell.run_id.clone());
            }
            RunStatus::Failed => {
                let error = result.error.clone().unwrap_or_default();
                progress.line(&format!("  FAILED: {error}"));
                outcome.failed.push((cell.run_id.clone(), error));
            }
        }
        results.insert(cell.run_id.clone(), result);
        progress.cell_ended(i, CellEnd::Ran);
        faults::point("cell-done")?;
    }
    progress.grid_ended();
    Ok(results)
}

#[cfg(test)]
mod tests {
    use super::*;
    use loran_train::record::Timings;

    #[test]
    fn the_time_split_sums_cells_and_names_the_rest() {
        let mut t = TimeSplit { preflight_s: 2.0, report_s: 1.0, total_s: 40.0, ..TimeSplit::default() };
        t.add_cell(&Timings { load_s: 1.0, train_s: 10.0, eval_s: 5.0, total_s: 16.0, test_loss_s: 2.0, generate_s: 3.0 });
        t.add_cell(&Timings { load_s: 0.5, train_s: 12.0, eval_s: 6.0, total_s: 18.5, test_loss_s: 2.5, generate_s: 3.5 });
        assert_eq!((t.loading_s, t.training_s, t.test_loss_s, t.generation_s), (1.5, 22.0, 4.5, 6.5));
        let line = t.to_string();
        assert_eq!(
            line,
            "time: preflight 2.0s (5%), loading 1.5s (4%), training 22.0s (55%), test loss 4.5s (11%), generation 6.5s (16%), report 1.0s (2%), other 2.5s; total 40.0s"
        );
    }
}
