//! Reading finished run folders (`results/<grid>/runs/<run_id>/`) back into memory.
//!
//! A folder counts as finished when it holds `result.json` (written last and atomically by the
//! runner). Folders without it are unfinished: they are listed but not loaded.

use loran_train::config::RunConfig;
use crate::manifest::{read_manifest, Manifest};
use loran_train::damage::{self, Damage, ResultError};
use loran_train::record::{PredictionRecord, RunResult, StepRecord, RESULT_SCHEMA};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

/// The completion marker of a run folder.
pub const RESULT_FILE: &str = "result.json";
/// Per-step training records, one JSON object a line.
pub const METRICS_FILE: &str = damage::METRICS_FILE;
/// Optional per-example predictions, one JSON object a line.
pub const PREDICTIONS_FILE: &str = damage::PREDICTIONS_FILE;
/// The resolved config of a run.
pub const CONFIG_FILE: &str = "config.resolved.yaml";
/// The folder under a grid directory that holds one folder per run.
pub const RUNS_DIR: &str = "runs";

/// One finished run folder, fully parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedRun {
    /// The run folder.
    pub dir: PathBuf,
    /// `result.json`.
    pub result: RunResult,
    /// `metrics.jsonl` in file order (empty when the file is absent, e.g. a run that failed
    /// before its first step).
    pub steps: Vec<StepRecord>,
    /// `predictions.jsonl`, when the run wrote one.
    pub predictions: Option<Vec<PredictionRecord>>,
    /// `config.resolved.yaml`, when it exists and parses with this version's schema.
    pub config: Option<RunConfig>,
}

/// Everything found under `results/<grid>/runs/`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RunScan {
    /// Finished runs of the grid's cells, sorted by `run_id` (then by folder).
    pub runs: Vec<LoadedRun>,
    /// Run folders of the grid's cells without `result.json`, sorted by path.
    pub unfinished: Vec<PathBuf>,
    /// Run folders that match no cell of the grid's [`Manifest`] (finished or not), sorted
    /// by path: left out of everything. Always empty without a manifest.
    pub stale: Vec<PathBuf>,
    /// Finished runs whose files do not hold what `result.json` says, sorted by path:
    /// left out of everything, and redone by the next `loran grid run`.
    pub damaged: Vec<DamagedRun>,
    /// The folder's manifest, when it has one.
    pub manifest: Option<Manifest>,
}

/// A finished run folder whose files are damaged ([`loran_train::damage`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DamagedRun {
    /// The run folder.
    pub dir: PathBuf,
    /// What is wrong, e.g. `metrics.jsonl line 7 does not parse`.
    pub why: String,
    /// How to say it: `is damaged`, or `was scored by an older scorer` (intact files).
    pub state: &'static str,
}

impl RunScan {
    /// One warning line per thing left out of the report: all stale runs together, then
    /// each damaged run, each naming the fix.
    pub fn warnings(&self, grid_dir: &Path) -> Vec<String> {
        let mut lines = Vec::new();
        if let (Some(manifest), false) = (&self.manifest, self.stale.is_empty()) {
            lines.push(manifest.stale_warning(grid_dir, self.stale.len()));
        }
        let rerun = match &self.manifest {
            Some(m) => format!("`loran grid run {}`", m.grid_file(grid_dir).display()),
            None => "`loran grid run` on its grid file".to_string(),
        };
        for damaged in &self.damaged {
            lines.push(format!(
                "{} {} ({}), so the report leaves it out; run the grid again ({rerun}) to redo that run",
                damaged.dir.display(),
                damaged.state,
                damaged.why
            ));
        }
        lines
    }
}

/// Loads every finished run of a grid, sorted by `run_id`; unfinished folders are skipped.
///
/// Use [`scan_runs`] to also learn which folders were skipped.
pub fn load_runs(grid_dir: &Path) -> Result<Vec<LoadedRun>> {
    Ok(scan_runs(grid_dir)?.runs)
}

/// Loads every finished run of the grid's cells, and lists the unfinished, stale and
/// damaged run folders (see [`RunScan`]; the cells are those of `grid_dir`'s manifest).
///
/// Errors name the offending file: a manifest that does not parse, or a `result.json`
/// of a newer schema than this build's. One of an older schema (1, before the run's
/// identity was recorded as fields) is listed as damaged, with a warning to run the grid
/// again, which redoes it.
pub fn scan_runs(grid_dir: &Path) -> Result<RunScan> {
    let runs_dir = grid_dir.join(RUNS_DIR);
    let entries = std::fs::read_dir(&runs_dir)
        .with_context(|| format!("cannot list run folders in {}", runs_dir.display()))?;
    let mut dirs = Vec::new();
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot list {}", runs_dir.display()))?;
        let path = entry.path();
        if path.is_dir() {
            dirs.push(path);
        }
    }
    dirs.sort();

    let mut scan = RunScan { manifest: read_manifest(grid_dir)?, ..RunScan::default() };
    for dir in dirs {
        let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let foreign_folder = scan.manifest.as_ref().is_some_and(|m| !m.has_run_id(&name));
        if !dir.join(RESULT_FILE).is_file() {
            if foreign_folder {
                scan.stale.push(dir);
            } else {
                scan.unfinished.push(dir);
            }
            continue;
        }
        let parsed = std::fs::read_to_string(dir.join(RESULT_FILE)).map(|text| damage::parse_result(&text));
        let result = match parsed {
            Ok(Ok(result)) => result,
            _ if foreign_folder => {
                scan.stale.push(dir);
                continue;
            }
            Err(e) => {
                scan.damaged.push(DamagedRun { dir, why: format!("{RESULT_FILE} cannot be read: {e}"), state: "is damaged" });
                continue;
            }
            Ok(Err(ResultError::Older { header, .. })) if scan.manifest.as_ref().is_some_and(|m| !m.has_config(&header.config_hash)) => {
                scan.stale.push(dir);
                continue;
            }
            Ok(Err(ResultError::Older { damage, .. })) => {
                scan.damaged.push(DamagedRun { dir, state: damage.state(), why: damage.to_string() });
                continue;
            }
            Ok(Err(ResultError::Newer(schema))) => bail!(newer_schema(&dir, schema)),
            Ok(Err(ResultError::Invalid(e))) => {
                let why = format!("{RESULT_FILE} line {} does not parse", e.line());
                scan.damaged.push(DamagedRun { dir, why, state: "is damaged" });
                continue;
            }
        };
        if scan.manifest.as_ref().is_some_and(|m| !m.has_config(&result.config_hash)) {
            scan.stale.push(dir);
            continue;
        }
        match load_files(&dir, result) {
            Ok(run) => scan.runs.push(run),
            Err(damage) => scan.damaged.push(DamagedRun { dir, state: damage.state(), why: damage.to_string() }),
        }
    }
    scan.runs.sort_by(|a, b| {
        (a.result.run_id.as_str(), &a.dir).cmp(&(b.result.run_id.as_str(), &b.dir))
    });
    Ok(scan)
}

/// Loads one finished run folder (it must hold `result.json`); a damaged or outdated one
/// is an error naming the folder, what is wrong and the fix.
pub fn load_run(dir: &Path) -> Result<LoadedRun> {
    let result_path = dir.join(RESULT_FILE);
    let text = read_text(&result_path)?;
    let redo = |damage: Damage| anyhow::anyhow!("{}: {} ({damage}); run its grid again to redo that run", dir.display(), damage.state());
    let result = match damage::parse_result(&text) {
        Ok(result) => result,
        Err(ResultError::Older { damage, .. }) => return Err(redo(damage)),
        Err(ResultError::Newer(schema)) => bail!(newer_schema(dir, schema)),
        Err(ResultError::Invalid(e)) => bail!("{}:{}:{}: invalid {RESULT_FILE}: {e}", result_path.display(), e.line(), e.column()),
    };
    load_files(dir, result).map_err(redo)
}

/// The error for a `result.json` of a schema newer than this build's: its numbers may
/// mean something this build does not know, so nothing is reported from the grid.
fn newer_schema(dir: &Path, schema: u32) -> String {
    format!(
        "{}: result schema {schema} is newer than this build's {RESULT_SCHEMA}; report it with the loran that wrote it",
        dir.join(RESULT_FILE).display()
    )
}

/// The run's step records, predictions and config next to its `result`.
fn load_files(dir: &Path, result: RunResult) -> Result<LoadedRun, Damage> {
    if let Some(outdated) = damage::outdated(&result) {
        return Err(outdated);
    }
    let steps = damage::read_steps(dir, &result)?;
    let predictions = damage::read_predictions(dir, &result)?;
    // An older config schema is not an error: tables and figures read the run's identity from
    // `result.json`, not from its config.
    let config = std::fs::read_to_string(dir.join(CONFIG_FILE)).ok().and_then(|text| serde_saphyr::from_str::<RunConfig>(&text).ok());
    Ok(LoadedRun {
        dir: dir.to_path_buf(),
        result,
        steps,
        predictions,
        config,
    })
}

/// Parses a JSON-lines file (`null` in a record's float fields reads as NaN, see
/// [`loran_train::record::nullable_f64`]); blank lines are ignored, any other bad line is an error that names
/// the file and the 1-based line.
pub fn read_jsonl<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Vec<T>> {
    let text = read_text(path)?;
    let mut records = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let record = serde_json::from_str::<T>(line).map_err(|e| {
            anyhow::anyhow!("{}:{}: invalid JSON line: {e}", path.display(), index + 1)
        })?;
        records.push(record);
    }
    Ok(records)
}

fn read_text(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

#[cfg(test)]
#[path = "load_tests.rs"]
mod tests;
