//! One cell of a grid on its own (`loran grid run-cell`), as one Slurm array task runs
//! it: the cell's lock, the grid's manifest and report settings, then the cell, skipped
//! when finished and copied when another grid has its config. The report is rendered
//! by whoever runs the grid-wide step (`loran report`, or the report job of a submission).

use crate::grid::lock::CellLock;
use crate::grid::progress::GridProgress;
use crate::grid::runner::{cell_state, grid_dir, locked, CellState, GridOptions};
use crate::grid::{expand, owner, reuse, Cell, GridFile};
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

/// Runs the cell `which` of `grid` (see the module doc). A grid with `lr_sweep:` is
/// refused: its cells' learning rates come from tuning runs of the whole grid.
pub fn run_one(grid: &GridFile, which: &CellPick, opts: &GridOptions, resources: &mut Resources, progress: &mut dyn GridProgress) -> Result<CellRun> {
    if grid.spec.lr_sweep.is_some() {
        bail!("{} has `lr_sweep:`, whose cells take their learning rate from tuning runs of the whole grid; run it with `loran grid run`", grid.path.display());
    }
    let cells = expand(grid)?;
    let cell = pick(grid, &cells, which)?;
    let dir = grid_dir(grid, opts);
    locked(&dir, || {
        owner::check_owner(grid, &dir)?;
        owner::record(grid, &cells, &dir)?;
        loran_report::settings::write_report_settings(&dir, &grid.spec.report)
    })?;
    let _lock = match CellLock::try_acquire(&dir, &cell.run_id)? {
        Ok(lock) => lock,
        Err(holder) => return Ok(CellRun::Busy(holder)),
    };
    let run = RunDir::new(&dir, &cell.run_id);
    if !opts.force {
        match cell_state(&dir, cell) {
            CellState::Finished => {
                if let Some(result) = run.read_result() {
                    return Ok(CellRun::Finished(result));
                }
            }
            CellState::Damaged(state) => progress.line(&format!("{} finished earlier but {state}; running it again", cell.run_id)),
            CellState::ToRun => {}
        }
        if let reuse::Found::Run(source) = reuse::find_finished(&opts.results_root, &dir, &cell.config_hash)? {
            let result = reuse::adopt(&source.run, cell, &grid.spec.name, &dir)?;
            progress.line(&format!("{} has the config of {}; copied", cell.run_id, source.run.display()));
            return Ok(CellRun::Copied(result));
        }
    }
    progress.line(&format!("{} ({})", cell.run_id, grid.path.display()));
    progress.cell_started(0, &cell.run_id);
    for warning in cell.config.adapter.warnings() {
        progress.line(&format!("  warning: {warning}"));
    }
    Ok(CellRun::Ran(run_cell(cell, &grid.spec.name, &dir, resources, progress)?))
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
