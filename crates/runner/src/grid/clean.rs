//! `loran grid clean FILE`: move the runs that match no cell of the grid file (stale: left
//! from an earlier version of the grid) from `results/<grid>/runs/` to
//! `results/<grid>/stale/`, under the grid's lock, then render the report again.
//! Nothing is deleted; moving a folder back under `runs/` undoes it.

use crate::grid::lock::GridLock;
use crate::grid::{owner, GridFile};
use anyhow::{Context, Result};
use loran_report::manifest::STALE_DIR;
use loran_report::RenderSummary;
use std::path::{Path, PathBuf};

/// What [`clean`] did.
#[derive(Debug, Clone, Default)]
pub struct Cleaned {
    /// The run folders moved, at their new place under `stale/`.
    pub moved: Vec<PathBuf>,
    /// The report rendered after the move (none when nothing moved).
    pub report: Option<RenderSummary>,
}

/// Moves the stale runs of `grid`'s folder under `results_root` into its `stale/` folder
/// (a name already there gets a `-2`, `-3`, … suffix) and re-renders the report. A grid
/// folder that does not exist has nothing to clean.
pub fn clean(grid: &GridFile, results_root: &Path) -> Result<Cleaned> {
    let dir = results_root.join(&grid.spec.name);
    if !dir.join(loran_report::load::RUNS_DIR).is_dir() {
        return Ok(Cleaned::default());
    }
    let cells = crate::grid::sweep::resolved_cells(grid, &dir)?;
    let _lock = GridLock::acquire(&dir)?;
    owner::check_owner(grid, &dir)?;
    owner::record(grid, &cells, &dir)?;
    let scan = loran_report::scan_runs(&dir)?;
    let mut cleaned = Cleaned::default();
    if scan.stale.is_empty() {
        return Ok(cleaned);
    }
    let stale_dir = dir.join(STALE_DIR);
    loran_train::files::create_dir(&stale_dir)?;
    for run in &scan.stale {
        let name = run.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let target = free_name(&stale_dir, &name);
        std::fs::rename(run, &target)
            .with_context(|| format!("cannot move {} to {}; check the folder's permissions", run.display(), target.display()))?;
        cleaned.moved.push(target);
    }
    loran_report::settings::write_report_settings(&dir, &grid.spec.report)?;
    cleaned.report = Some(loran_report::render_with(&dir, &grid.spec.report)?);
    Ok(cleaned)
}

/// `dir/name`, or `dir/name-2`, `dir/name-3`, … when that is taken.
fn free_name(dir: &Path, name: &str) -> PathBuf {
    let mut target = dir.join(name);
    let mut n = 2;
    while target.exists() {
        target = dir.join(format!("{name}-{n}"));
        n += 1;
    }
    target
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_taken_name_gets_the_next_free_suffix() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(free_name(dir.path(), "run"), dir.path().join("run"));
        std::fs::create_dir(dir.path().join("run")).unwrap();
        std::fs::create_dir(dir.path().join("run-2")).unwrap();
        assert_eq!(free_name(dir.path(), "run"), dir.path().join("run-3"));
    }
}
