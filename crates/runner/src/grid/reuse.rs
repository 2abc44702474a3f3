//! Reusing a finished run of another grid: runs are deterministic functions of
//! their resolved config, so a cell whose config hash matches a finished run
//! anywhere under the results root is copied instead of recomputed (the
//! ablation's Sinter cell and the main table's, say).

use crate::grid::Cell;
use loran_train::dir::RunDir;
use loran_train::files::{copy_file, create_dir};
use loran_train::record::{RunResult, RunStatus};
use anyhow::{Context, Result};
use std::fs;
use std::path::{Path, PathBuf};

/// A finished (ok or diverged) run under `results_root/*/runs/*` with `config_hash`,
/// outside `own_grid_dir`.
pub fn find_finished(results_root: &Path, own_grid_dir: &Path, config_hash: &str) -> Option<PathBuf> {
    let own = fs::canonicalize(own_grid_dir).ok();
    let mut grids: Vec<PathBuf> = fs::read_dir(results_root).ok()?.filter_map(|e| e.ok().map(|e| e.path())).collect();
    grids.sort();
    for grid in grids {
        if own.is_some() && fs::canonicalize(&grid).ok() == own {
            continue;
        }
        let Ok(runs) = fs::read_dir(grid.join("runs")) else { continue };
        let mut runs: Vec<PathBuf> = runs.filter_map(|e| e.ok().map(|e| e.path())).collect();
        runs.sort();
        for run in runs {
            let Ok(text) = fs::read_to_string(run.join("result.json")) else { continue };
            let Ok(result) = serde_json::from_str::<RunResult>(&text) else { continue };
            if result.config_hash == config_hash && result.status != RunStatus::Failed {
                return Some(run);
            }
        }
    }
    None
}

/// Copies the run folder `source` into `cell`'s folder under `grid_dir` and writes its
/// `result.json` (last, atomically) with this grid's names and a `reused_from` note.
pub fn adopt(source: &Path, cell: &Cell, grid_name: &str, grid_dir: &Path) -> Result<RunResult> {
    let text = fs::read_to_string(source.join("result.json")).with_context(|| format!("reading {}", source.join("result.json").display()))?;
    let mut result: RunResult = serde_json::from_str(&text).with_context(|| format!("parsing {}", source.join("result.json").display()))?;
    let dir = RunDir::new(grid_dir, &cell.run_id);
    dir.start("")?;
    for entry in fs::read_dir(source).with_context(|| format!("listing {}", source.display()))? {
        let entry = entry?;
        let name = entry.file_name();
        if name == "result.json" || name.to_string_lossy().starts_with('.') {
            continue;
        }
        let target = dir.path().join(&name);
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            copy_file(&entry.path(), &target)?;
        }
    }
    result.grid = grid_name.to_string();
    result.run_id = cell.run_id.clone();
    result.group = cell.group.clone();
    result.labels = cell.labels.iter().cloned().collect();
    result.method = cell.config.method_label();
    result.reused_from = Some(source.display().to_string());
    dir.write_result(&result)?;
    Ok(result)
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    create_dir(to)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            copy_file(&entry.path(), &target)?;
        }
    }
    Ok(())
}
