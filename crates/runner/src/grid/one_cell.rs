//! One cell of a grid on its own (`loran grid run-cell`), as one Slurm array task runs
//! it: the grid's manifest and report settings, then the cell under its lock, skipped
//! when finished and copied when another grid has its config. The report is rendered
//! by whoever runs the grid-wide step (`loran report`, or the report job of a submission).
//! In a grid with `lr_sweep:`, the tuning runs are cells of their own (`tuning/`), and a
//! final cell takes the rate its group's finished tuning runs choose.

use crate::grid::lock::CellLock;
use crate::grid::progress::GridProgress;
use crate::grid::runner::{cell_state, grid_dir, locked, CellState, GridOptions};
use crate::grid::{expand, owner, reuse, sweep, Cell, GridFile};
use std::path::Path;
use anyhow::{bail, Result};
use loran_train::dir::RunDir;
use loran_train::execute::run_cell;
use loran_train::record::RunResult;
use loran_train::resources::Resources;

/// Which cell of a grid: its place in `loran grid plan`'s list (from 0) or its run id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CellPick {
    /// The cell's index in the grid's plan order.
    Index(usize),
    /// The cell's run id.
    Name(String),
}

/// How the cell went.
#[derive(Debug, Clone)]
pub enum CellRun {
    /// It ran now; its result (ok, diverged or failed).
    Ran(RunResult),
    /// A finished, intact result with its config was already there.
    Finished(RunResult),
    /// Another grid's finished run of the same config was copied.
    Copied(RunResult),
    /// Another process runs it now; what its holder wrote.
    Busy(String),
}

/// The cell `pick` names among `cells`, or an error naming the grid file and the fix.
pub fn pick<'a>(grid: &GridFile, cells: &'a [Cell], pick: &CellPick) -> Result<&'a Cell> {
    let file = grid.path.display();
    match pick {
        CellPick::Index(i) => match cells.get(*i) {
            Some(cell) => Ok(cell),
            None => bail!("{file} has {} cells (indices 0 to {}), so --index {i} names none; `loran grid plan {file}` lists them in order", cells.len(), cells.len().saturating_sub(1)),
        },
        CellPick::Name(name) => match cells.iter().find(|c| &c.run_id == name) {
            Some(cell) => Ok(cell),
            None => bail!("{file} has no cell with run id `{name}`; `loran grid plan {file}` lists the run ids"),
        },
    }
}

/// Runs the cell `which` of `grid` (see the module doc). In a grid with `lr_sweep:`,
/// `tuning` picks among its tuning runs (in `tuning/`); otherwise a cell is picked by its
/// index before the sweep (its learning rate not yet chosen) or by its run id at the
/// chosen rate, and runs once its group's tuning runs have all finished.
pub fn run_one(grid: &GridFile, which: &CellPick, tuning: bool, opts: &GridOptions, resources: &mut Resources, progress: &mut dyn GridProgress) -> Result<CellRun> {
    let cells = expand(grid)?;
    let dir = grid_dir(grid, opts);
    let (cell, cell_dir) = match &grid.spec.lr_sweep {
        None if tuning => bail!("{} has no `lr_sweep:`, so no tuning runs; drop --tuning", grid.path.display()),
        None => {
            let cell = pick(grid, &cells, which)?.clone();
            locked(&dir, || {
                owner::check_owner(grid, &dir)?;
                owner::record(grid, &cells, &dir)?;
                loran_report::settings::write_report_settings(&dir, &grid.spec.report)
            })?;
            (cell, dir.clone())
        }
        Some(lr_sweep) => {
            let (tuning_cells, selection) = sweep::selection_now(lr_sweep, &grid.spec.seeds, &cells, &dir);
            if tuning {
                let cell = pick(grid, &tuning_cells, which)?.clone();
                let tuning_dir = dir.join(sweep::TUNING_DIR);
                locked(&dir, || {
                    owner::check_owner(grid, &dir)?;
                    owner::record(grid, &tuning_cells, &tuning_dir)
                })?;
                (cell, tuning_dir)
            } else {
                let cell = match which {
                    CellPick::Index(_) => {
                        let before = pick(grid, &cells, which)?;
                        if let Some(why) = selection.undecided.get(&before.group) {
                            bail!("{}: no learning rate is chosen yet for {} ({why}); run its tuning runs first (`--tuning`)", grid.path.display(), before.run_id);
                        }
                        sweep::apply(std::slice::from_ref(before), &selection).remove(0)
                    }
                    CellPick::Name(_) => pick(grid, &sweep::apply(&cells, &selection), which)?.clone(),
                };
                let mut report = grid.spec.report.clone();
                report.notes.extend(sweep::notes(lr_sweep, &grid.spec.seeds, &cells, &selection));
                locked(&dir, || {
                    owner::check_owner(grid, &dir)?;
                    sweep::write_selection(&dir, &selection)?;
                    owner::record(grid, &sweep::apply(&cells, &selection), &dir)?;
                    loran_report::settings::write_report_settings(&dir, &report)
                })?;
                (cell, dir.clone())
            }
        }
    };
    run_locked(grid, &cell, &cell_dir, opts, resources, progress)
}

/// `cell` in `dir` under its lock: skipped when finished, copied from another grid when
/// one has its config, else run.
fn run_locked(grid: &GridFile, cell: &Cell, dir: &Path, opts: &GridOptions, resources: &mut Resources, progress: &mut dyn GridProgress) -> Result<CellRun> {
    let _lock = match CellLock::try_acquire(dir, &cell.run_id)? {
        Ok(lock) => lock,
        Err(holder) => return Ok(CellRun::Busy(holder)),
    };
    let run = RunDir::new(dir, &cell.run_id);
    if !opts.force {
        match cell_state(dir, cell) {
            CellState::Finished => {
                if let Some(result) = run.read_result() {
                    return Ok(CellRun::Finished(result));
                }
            }
            CellState::Damaged(state) => progress.line(&format!("{} finished earlier but {state}; running it again", cell.run_id)),
            CellState::ToRun => {}
        }
        if let reuse::Found::Run(source) = reuse::find_finished(&opts.results_root, dir, &cell.config_hash)? {
            let result = reuse::adopt(&source.run, cell, &grid.spec.name, dir)?;
            progress.line(&format!("{} has the config of {}; copied", cell.run_id, source.run.display()));
            return Ok(CellRun::Copied(result));
        }
    }
    progress.line(&format!("{} ({})", cell.run_id, grid.path.display()));
    progress.cell_started(0, &cell.run_id);
    for warning in cell.config.adapter.warnings() {
        progress.line(&format!("  warning: {warning}"));
    }
    Ok(CellRun::Ran(run_cell(cell, &grid.spec.name, dir, resources, progress)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grid::spec::parse_grid;

    #[test]
    fn a_cell_is_picked_by_index_or_run_id_and_a_miss_names_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.yaml");
        let text = "name: g\nbase: {}\naxes:\n  adapter.r: [2, 4]\n";
        std::fs::write(&path, text).unwrap();
        let grid = parse_grid(&path, text).unwrap();
        let cells = expand(&grid).unwrap();
        assert_eq!(pick(&grid, &cells, &CellPick::Index(1)).unwrap().run_id, cells[1].run_id);
        assert_eq!(pick(&grid, &cells, &CellPick::Name(cells[0].run_id.clone())).unwrap().run_id, cells[0].run_id);
        let err = pick(&grid, &cells, &CellPick::Index(2)).unwrap_err().to_string();
        assert!(err.contains("has 2 cells (indices 0 to 1), so --index 2 names none") && err.contains("loran grid plan"), "{err}");
        let err = pick(&grid, &cells, &CellPick::Name("nope".into())).unwrap_err().to_string();
        assert!(err.contains("no cell with run id `nope`"), "{err}");
    }
}
