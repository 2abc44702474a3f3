//! What `loran grid submit` submits for one grid: the cells neither finished, running
//! nor queued; for a grid with `lr_sweep:` whose tuning runs are unfinished, those tuning
//! runs first and then every cell by index, each task taking the rate its group's tuning
//! chose once the tuning array has ended.

use crate::grid::slurm::Tasks;
use crate::grid::status::{statuses, CellStatus};
use crate::grid::{expand, sweep, Cell, GridFile};
use anyhow::Result;
use std::collections::BTreeMap;
use std::path::Path;

/// One grid's submission.
#[derive(Debug, Clone)]
pub struct SubmitPlan {
    /// Tuning runs to run first, as their own array (empty when none is to run).
    pub tuning: Vec<Cell>,
    /// What the main array's tasks name.
    pub tasks: Tasks,
    /// The main array's cells (for [`Tasks::Indices`], before the sweep).
    pub cells: Vec<Cell>,
    /// The main array's task values: run ids, or indices for [`Tasks::Indices`].
    pub values: Vec<String>,
    /// The grid's cells as its manifest records them (at the chosen rates once chosen).
    pub manifest: Vec<Cell>,
    /// Every cell's status (at the chosen rates once chosen), for the summary line.
    pub states: Vec<CellStatus>,
    /// The sweep's selection to save, when the tuning runs have all finished.
    pub selection: Option<sweep::Selection>,
    /// Why nothing is submitted, when nothing is.
    pub nothing: Option<String>,
}

/// The plan for `grid` in `dir`, with `queued` from [`crate::grid::status::queued_cells`].
pub fn plan(grid: &GridFile, dir: &Path, queued: &BTreeMap<String, (String, String)>) -> Result<SubmitPlan> {
    let cells = expand(grid)?;
    let Some(lr_sweep) = &grid.spec.lr_sweep else {
        let states = statuses(dir, &cells, queued);
        return Ok(by_run_id(cells.clone(), states, Vec::new(), None));
    };
    let (tuning, selection) = sweep::selection_now(lr_sweep, &grid.spec.seeds, &cells, dir);
    let tuning_states = statuses(&dir.join(sweep::TUNING_DIR), &tuning, queued);
    let tuning_todo: Vec<Cell> = tuning.iter().zip(&tuning_states).filter(|(_, s)| s.to_run()).map(|(c, _)| c.clone()).collect();
    let tuning_busy = tuning_states.iter().any(|s| matches!(s, CellStatus::Running(_) | CellStatus::Queued(_)));
    if tuning_todo.is_empty() && !tuning_busy {
        let finals = sweep::apply(&cells, &selection);
        let states = statuses(dir, &finals, queued);
        return Ok(by_run_id(finals, states, Vec::new(), Some(selection)));
    }
    let states = vec![CellStatus::Pending; cells.len()];
    if tuning_todo.is_empty() {
        let nothing = Some("its tuning runs are still running or queued; submit again once they have ended".to_string());
        return Ok(SubmitPlan { tuning: Vec::new(), tasks: Tasks::Indices, cells: Vec::new(), values: Vec::new(), manifest: cells, states, selection: None, nothing });
    }
    let values = (0..cells.len()).map(|i| i.to_string()).collect();
    Ok(SubmitPlan { tuning: tuning_todo, tasks: Tasks::Indices, cells: cells.clone(), values, manifest: cells, states, selection: None, nothing: None })
}

fn by_run_id(cells: Vec<Cell>, states: Vec<CellStatus>, tuning: Vec<Cell>, selection: Option<sweep::Selection>) -> SubmitPlan {
    let todo: Vec<Cell> = cells.iter().zip(&states).filter(|(_, s)| s.to_run()).map(|(c, _)| c.clone()).collect();
    let values = todo.iter().map(|c| c.run_id.clone()).collect();
    let nothing = todo.is_empty().then(|| "every cell is finished, running or queued".to_string());
    SubmitPlan { tuning, tasks: Tasks::Cells, cells: todo, values, manifest: cells, states, selection, nothing }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grid::spec::parse_grid;

    fn grid(dir: &Path, body: &str) -> GridFile {
        let path = dir.join("g.yaml");
        let text = format!("name: g\nbase: {{}}\naxes:\n  adapter.r: [2, 4]\n{body}");
        std::fs::write(&path, &text).unwrap();
        parse_grid(&path, &text).unwrap()
    }

    #[test]
    fn a_plain_grid_submits_its_unfinished_cells_by_run_id() {
        let dir = tempfile::tempdir().unwrap();
        let g = grid(dir.path(), "");
        let cells = expand(&g).unwrap();
        let mut queued = BTreeMap::new();
        queued.insert(cells[0].run_id.clone(), ("7_0".to_string(), "PENDING".to_string()));
        let plan = plan(&g, &dir.path().join("g"), &queued).unwrap();
        assert_eq!((plan.tasks, plan.values.clone(), plan.tuning.len()), (Tasks::Cells, vec![cells[1].run_id.clone()], 0), "the queued cell is left out");
        assert!(plan.nothing.is_none() && plan.selection.is_none());
    }

    #[test]
    fn an_untuned_sweep_submits_its_tuning_runs_then_every_cell_by_index() {
        let dir = tempfile::tempdir().unwrap();
        let g = grid(dir.path(), "lr_sweep: { factors: [0.5, 2.0] }\n");
        let plan = plan(&g, &dir.path().join("g"), &BTreeMap::new()).unwrap();
        assert_eq!(plan.tasks, Tasks::Indices);
        assert_eq!(plan.values, ["0", "1"]);
        assert_eq!(plan.tuning.len(), 4, "two factors for each of two cells at the tuning seed");
        assert!(plan.tuning.iter().all(|c| c.run_id.contains("-lrx")), "{:?}", plan.tuning.iter().map(|c| &c.run_id).collect::<Vec<_>>());

        let busy: BTreeMap<_, _> = plan.tuning.iter().enumerate().map(|(i, c)| (c.run_id.clone(), (format!("3_{i}"), "RUNNING".to_string()))).collect();
        let waiting = super::plan(&g, &dir.path().join("g"), &busy).unwrap();
        assert!(waiting.nothing.unwrap().contains("still running or queued") && waiting.values.is_empty());
    }
}
