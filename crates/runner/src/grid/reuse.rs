//! Reusing a finished run of another grid: runs are deterministic functions of
//! their resolved config, so a cell whose config hash matches a finished run
//! anywhere under the results root is copied instead of recomputed (the
//! ablation's Sinter cell and the main table's, say).
//!
//! A source is only read under its grid's lock and its cell's lock ([`GridLock`],
//! [`CellLock`], tried, never waited for): while another process re-renders that grid or
//! reruns that cell (`--force`), the run may be rewritten, so the cell is run here
//! instead. A damaged source ([`loran_train::damage`]) is never copied.

use crate::grid::lock::{CellLock, GridLock, LockError};
use crate::grid::Cell;
use loran_train::damage;
use loran_train::dir::RunDir;
use loran_train::files::{copy_file, create_dir};
use loran_train::record::{RunResult, RunStatus};
use anyhow::{Context, Result};
use std::fs;
use std::path::{Path, PathBuf};

/// A finished run of another grid, and that grid's and cell's locks, held until it is dropped.
#[derive(Debug)]
pub struct Source {
    /// The run folder to copy.
    pub run: PathBuf,
    _lock: GridLock,
    _cell: CellLock,
}

/// What [`find_finished`] found.
#[derive(Debug)]
pub enum Found {
    /// A finished, intact run with the hash, its grid locked.
    Run(Source),
    /// No such run in any grid that could be locked; the grid folders holding one that
    /// were busy (another process holds their lock).
    Nothing {
        /// Busy grid folders that hold a run with the hash.
        busy: Vec<PathBuf>,
    },
}

/// A finished (ok or diverged), intact run under `results_root/*/runs/*` with
/// `config_hash`, outside `own_grid_dir`, with its grid's lock taken.
pub fn find_finished(results_root: &Path, own_grid_dir: &Path, config_hash: &str) -> Result<Found> {
    let own = fs::canonicalize(own_grid_dir).ok();
    let mut busy = Vec::new();
    let Ok(entries) = fs::read_dir(results_root) else { return Ok(Found::Nothing { busy }) };
    let mut grids: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    grids.sort();
    for grid in grids {
        if own.is_some() && fs::canonicalize(&grid).ok() == own {
            continue;
        }
        // Look without the lock first, so that only a grid that has the run is locked.
        if matching_run(&grid, config_hash).is_none() {
            continue;
        }
        let lock = match GridLock::acquire(&grid) {
            Ok(lock) => lock,
            Err(LockError::Busy { .. }) => {
                busy.push(grid);
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        // Under the lock, look again: the run may have changed in between.
        if let Some(run) = matching_run(&grid, config_hash) {
            let id = run.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            match CellLock::try_acquire(&grid, &id)? {
                // Under the cell's lock too: it may have been rerun before it was taken.
                Ok(cell) if matching_run(&grid, config_hash).as_ref() == Some(&run) => return Ok(Found::Run(Source { run, _lock: lock, _cell: cell })),
                Ok(_) => {}
                Err(_) => busy.push(grid),
            }
        }
    }
    Ok(Found::Nothing { busy })
}

/// The first run folder under `grid/runs/` with `config_hash` that finished, is intact and
/// has today's result schema (an older one is redone, not copied).
fn matching_run(grid: &Path, config_hash: &str) -> Option<PathBuf> {
    let runs = fs::read_dir(grid.join("runs")).ok()?;
    let mut runs: Vec<PathBuf> = runs.filter_map(|e| e.ok().map(|e| e.path())).collect();
    runs.sort();
    runs.into_iter().find(|run| {
        let Ok(text) = fs::read_to_string(run.join("result.json")) else { return false };
        let Ok(result) = damage::parse_result(&text) else { return false };
        result.config_hash == config_hash && result.status != RunStatus::Failed && damage::check(run, &result).is_none()
    })
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
    result.identity = cell.config.identity();
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
