//! Which grid file a results folder belongs to, so that no table mixes two grids' runs.
//!
//! `loran grid run` records the grid file and every cell in `results/<grid>/manifest.json`
//! ([`loran_report::manifest`]) under the folder's lock. Two grid files with one `name:`
//! would share that folder, its `report.yaml` and its tables: that is refused, both
//! within one invocation and against the file an existing manifest names.

use crate::grid::{Cell, GridFile};
use anyhow::{bail, Result};
use loran_report::manifest::{read_manifest, write_manifest, Manifest, ManifestCell, MANIFEST_FILE};
use std::path::{Component, Path, PathBuf};

/// Refuses two different grid files with one `name:` among `grids` (the same file twice
/// is fine), and any grid whose folder under `results_root` belongs to another grid file.
/// Run before anything runs, so no grid of the invocation half-runs.
pub fn check_all(grids: &[GridFile], results_root: &Path) -> Result<()> {
    check_names(grids, results_root)?;
    for grid in grids {
        check_owner(grid, &results_root.join(&grid.spec.name))?;
    }
    Ok(())
}

/// Refuses two different grid files with one `name:` among `grids` (the same file twice
/// is fine); `results_root` is only named in the error. `grid plan` and `grid check` use it
/// too, so the collision shows before a run.
pub fn check_names(grids: &[GridFile], results_root: &Path) -> Result<()> {
    for (i, a) in grids.iter().enumerate() {
        for b in &grids[..i] {
            if a.spec.name == b.spec.name && !same_file(&a.path, &b.path) {
                bail!(
                    "{} and {} both say `name: {}`, so their runs would share {} and mix in one table; rename one grid's `name:`",
                    b.path.display(),
                    a.path.display(),
                    a.spec.name,
                    results_root.join(&a.spec.name).display()
                );
            }
        }
    }
    Ok(())
}

/// Refuses `grid` when `grid_dir`'s manifest names another grid file that still exists and
/// still says the same `name:`. A folder without a manifest, or whose recorded file is
/// gone (renamed, or the repository moved), is taken over.
pub fn check_owner(grid: &GridFile, grid_dir: &Path) -> Result<()> {
    let Some(manifest) = read_manifest(grid_dir)? else { return Ok(()) };
    let recorded = manifest.grid_file(grid_dir);
    if !recorded.exists() || same_file(&recorded, &grid.path) {
        return Ok(());
    }
    // The other file may have taken the fix already: a new `name:` frees this folder.
    if crate::grid::read_grid(&recorded).is_ok_and(|other| other.spec.name != grid.spec.name) {
        return Ok(());
    }
    bail!(
        "{} belongs to grid file {} (see its {MANIFEST_FILE}), and {} also says `name: {}`: their runs would mix in one table; rename one grid's `name:`, or move {} away to start it afresh",
        grid_dir.display(),
        recorded.display(),
        grid.path.display(),
        grid.spec.name,
        grid_dir.display()
    )
}

/// Writes `grid_dir/manifest.json`: `grid`'s name and file and every cell in `cells`
/// (all of the grid's, whatever `--only` selected). Call it holding the folder's lock.
pub fn record(grid: &GridFile, cells: &[Cell], grid_dir: &Path) -> Result<()> {
    let manifest = Manifest {
        grid: grid.spec.name.clone(),
        file: file_entry(&grid.path, grid_dir),
        cells: cells.iter().map(|c| ManifestCell { run_id: c.run_id.clone(), config_hash: c.config_hash.clone() }).collect(),
    };
    write_manifest(grid_dir, &manifest)
}

/// The grid file as the manifest records it: relative to the grid folder when both
/// resolve (so a copied or moved repository still finds its own file), else absolute.
fn file_entry(grid_file: &Path, grid_dir: &Path) -> String {
    match (std::fs::canonicalize(grid_file), std::fs::canonicalize(grid_dir)) {
        (Ok(file), Ok(dir)) => relative_to(&file, &dir).display().to_string(),
        _ => std::path::absolute(grid_file).unwrap_or_else(|_| grid_file.to_path_buf()).display().to_string(),
    }
}

/// `path` seen from `base`, both absolute and canonical: `../../experiments/x.yaml`.
fn relative_to(path: &Path, base: &Path) -> PathBuf {
    let (path, base): (Vec<Component>, Vec<Component>) = (path.components().collect(), base.components().collect());
    let common = path.iter().zip(&base).take_while(|(a, b)| a == b).count();
    let mut out = PathBuf::new();
    for _ in common..base.len() {
        out.push("..");
    }
    for part in &path[common..] {
        out.push(part.as_os_str());
    }
    out
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grid::expand;
    use crate::grid::spec::parse_grid;

    fn grid(dir: &Path, file: &str, name: &str) -> GridFile {
        let path = dir.join(file);
        let text = format!("name: {name}\nbase: {{}}\naxes:\n  adapter.r: [2, 4]\n");
        std::fs::write(&path, &text).unwrap();
        parse_grid(&path, &text).unwrap()
    }

    #[test]
    fn relative_paths_climb_to_the_common_folder() {
        assert_eq!(relative_to(Path::new("/w/repo/experiments/x.yaml"), Path::new("/w/repo/results/x")), Path::new("../../experiments/x.yaml"));
        assert_eq!(relative_to(Path::new("/w/x.yaml"), Path::new("/w")), Path::new("x.yaml"));
    }

    #[test]
    fn two_files_with_one_name_are_refused_naming_both() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (grid(dir.path(), "a.yaml", "same"), grid(dir.path(), "b.yaml", "same"));
        let err = check_all(&[a.clone(), b], &dir.path().join("results")).unwrap_err().to_string();
        assert!(err.contains("a.yaml and ") && err.contains("b.yaml both say `name: same`") && err.contains("rename one grid's `name:`"), "{err}");
        check_all(&[a.clone(), a], &dir.path().join("results")).expect("the same file twice");
    }

    #[test]
    fn a_folder_recorded_for_another_file_is_refused_until_one_is_renamed() {
        let dir = tempfile::tempdir().unwrap();
        let results = dir.path().join("results");
        let a = grid(dir.path(), "a.yaml", "same");
        let folder = results.join("same");
        std::fs::create_dir_all(&folder).unwrap();
        record(&a, &expand(&a).unwrap(), &folder).unwrap();
        let recorded = read_manifest(&folder).unwrap().unwrap();
        assert_eq!(recorded.file, "../../a.yaml");
        assert_eq!(recorded.cells.len(), 2);
        check_owner(&a, &folder).expect("its own folder");

        let b = grid(dir.path(), "b.yaml", "same");
        let err = check_all(std::slice::from_ref(&b), &results).unwrap_err().to_string();
        assert!(err.contains("a.yaml (see its manifest.json), and ") && err.contains("b.yaml also says `name: same`"), "{err}");
        assert!(err.contains("move ") && !err.contains('\n'), "{err}");

        grid(dir.path(), "a.yaml", "renamed");
        check_owner(&b, &folder).expect("the other file took a new name");
        std::fs::remove_file(dir.path().join("a.yaml")).unwrap();
        check_owner(&b, &folder).expect("the recorded file is gone");
    }
}
