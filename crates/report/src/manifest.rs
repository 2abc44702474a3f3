//! `results/<grid>/manifest.json`: which grid file a results folder belongs to, and the
//! cells that grid has now.
//!
//! `loran grid run` rewrites it (under the grid's lock) before any cell runs, listing every
//! cell of the grid file, `--only` or not. The report reads it so that a table is built
//! only from the grid's own cells: a run whose config hash matches no listed cell (left
//! over from an earlier version of the grid) is *stale*, left out of every table, figure
//! and summary. A folder without a manifest (written before it existed) is read as before.

use anyhow::{anyhow, Result};
use serde::{Deserialize, Serialize};
use std::path::{Component, Path, PathBuf};

/// File under the grid folder that holds the manifest.
pub const MANIFEST_FILE: &str = "manifest.json";
/// Folder under the grid folder that `loran grid clean` moves stale runs into.
pub const STALE_DIR: &str = "stale";

/// The grid a results folder belongs to and its cells.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// The grid's `name:` (the folder's name).
    pub grid: String,
    /// The grid file, relative to the grid folder (`../../experiments/quick/x.yaml`, so a
    /// copied or moved repository still points at its own file), or absolute when no
    /// relative path exists: two files with one `name:` would otherwise share this folder.
    pub file: String,
    /// Every cell of the grid file, in plan order.
    pub cells: Vec<ManifestCell>,
}

/// One cell of a [`Manifest`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestCell {
    /// Its run folder's name.
    pub run_id: String,
    /// sha256 of its resolved config: what a finished run must match to count.
    pub config_hash: String,
}

impl Manifest {
    /// Whether a finished run with `config_hash` is one of the grid's cells.
    pub fn has_config(&self, config_hash: &str) -> bool {
        self.cells.iter().any(|c| c.config_hash == config_hash)
    }

    /// Whether a run folder named `run_id` is one of the grid's cells (for folders whose
    /// `result.json` is missing or unreadable).
    pub fn has_run_id(&self, run_id: &str) -> bool {
        self.cells.iter().any(|c| c.run_id == run_id)
    }

    /// The grid file as seen from where `grid_dir` is seen (`results/x` and
    /// `../../experiments/x.yaml` give `experiments/x.yaml`).
    pub fn grid_file(&self, grid_dir: &Path) -> PathBuf {
        let mut out = PathBuf::new();
        for part in grid_dir.join(&self.file).components() {
            match part {
                Component::ParentDir if matches!(out.components().next_back(), Some(Component::Normal(_))) => {
                    out.pop();
                }
                Component::CurDir => {}
                other => out.push(other.as_os_str()),
            }
        }
        out
    }

    /// The one warning line about `count` stale runs under `grid_dir`: what they are and
    /// how to move them away.
    pub fn stale_warning(&self, grid_dir: &Path, count: usize) -> String {
        let file = self.grid_file(grid_dir);
        format!(
            "{count} run(s) in {} match no cell of {} (left from an earlier version of the grid), so the tables, figures and summary leave them out; `loran grid clean {}` moves them to {}",
            grid_dir.join(crate::load::RUNS_DIR).display(),
            file.display(),
            file.display(),
            grid_dir.join(STALE_DIR).display()
        )
    }
}

/// Reads `grid_dir/manifest.json`; `None` when the folder has none (older results).
pub fn read_manifest(grid_dir: &Path) -> Result<Option<Manifest>> {
    let path = grid_dir.join(MANIFEST_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(anyhow!("{}: cannot read: {e}; check the file's permissions", path.display())),
    };
    serde_json::from_str(&text).map(Some).map_err(|e| {
        anyhow!(
            "{}:{}: invalid manifest: {e}; delete it and run the grid again (`loran grid run FILE` writes it anew)",
            path.display(),
            e.line()
        )
    })
}

/// Writes `grid_dir/manifest.json` atomically.
pub fn write_manifest(grid_dir: &Path, manifest: &Manifest) -> Result<()> {
    let text = serde_json::to_string_pretty(manifest).expect("a manifest serializes") + "\n";
    super::output::write_atomic(&grid_dir.join(MANIFEST_FILE), text.as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> Manifest {
        let cell = |id: &str, hash: &str| ManifestCell { run_id: id.into(), config_hash: hash.into() };
        Manifest { grid: "g".into(), file: "../../x/g.yaml".into(), cells: vec![cell("a-s0-11111111", "1111"), cell("b-s0-22222222", "2222")] }
    }

    #[test]
    fn a_manifest_round_trips_and_is_absent_in_older_folders() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read_manifest(dir.path()).unwrap(), None);
        write_manifest(dir.path(), &manifest()).unwrap();
        let back = read_manifest(dir.path()).unwrap().unwrap();
        assert_eq!(back, manifest());
        assert!(back.has_config("2222") && !back.has_config("3333"));
        assert!(back.has_run_id("a-s0-11111111") && !back.has_run_id("a-s0-33333333"));
    }

    #[test]
    fn the_grid_file_is_found_from_the_grid_folder() {
        let m = manifest();
        assert_eq!(m.grid_file(Path::new("results/g")), Path::new("x/g.yaml"));
        assert_eq!(m.grid_file(Path::new("/w/r/g")), Path::new("/w/x/g.yaml"));
        assert_eq!(m.grid_file(Path::new("g")), Path::new("../x/g.yaml"));
        let absolute = Manifest { file: "/abs/g.yaml".into(), ..m };
        assert_eq!(absolute.grid_file(Path::new("results/g")), Path::new("/abs/g.yaml"));
    }

    #[test]
    fn a_broken_manifest_names_the_file_and_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(MANIFEST_FILE), "{\"grid\": ").unwrap();
        let err = read_manifest(dir.path()).unwrap_err().to_string();
        assert!(err.contains("manifest.json:1") && err.contains("run the grid again") && !err.contains('\n'), "{err}");
    }

    #[test]
    fn the_stale_warning_is_one_line_with_the_count_and_the_clean_command() {
        let line = manifest().stale_warning(Path::new("results/g"), 3);
        assert!(line.starts_with("3 run(s) in results/g/runs match no cell of x/g.yaml"), "{line}");
        assert!(line.contains("`loran grid clean x/g.yaml` moves them to results/g/stale"), "{line}");
        assert!(!line.contains('\n'));
    }
}
