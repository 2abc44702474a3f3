//! Checks before a grid runs: every model, task, length and adapter its unfinished
//! cells need loads or attaches, so a typo costs seconds rather than the cells before
//! the one it breaks.

use crate::grid::{Cell, GridFile};
use loran_train::execute::{one_line, Resources};
use anyhow::{anyhow, Result};
use std::collections::HashSet;

/// Loads what `cells` need into `resources` (kept for the run), once per distinct model,
/// task, data options, token limits and adapter; the first failure names the grid file, the cell
/// and the key. Returns the data warnings, each once.
pub fn preflight(grid: &GridFile, cells: &[&Cell], resources: &mut Resources) -> Result<Vec<String>> {
    let mut seen = HashSet::new();
    let mut warnings: Vec<String> = Vec::new();
    for cell in cells {
        let cfg = &cell.config;
        let key = (
            cfg.model.clone(),
            cfg.task.clone(),
            serde_json::to_string(&cfg.data)?,
            cfg.train.max_len,
            cfg.train.max_target_tokens,
            cfg.eval.max_new_tokens,
            serde_json::to_string(&cfg.adapter)?,
        );
        if !seen.insert(key) {
            continue;
        }
        let found = resources
            .preflight(cfg)
            .map_err(|e| anyhow!("{}: cell {}: {}", grid.path.display(), cell.run_id, one_line(&e)))?;
        for w in found {
            if !warnings.contains(&w) {
                warnings.push(w);
            }
        }
    }
    Ok(warnings)
}
