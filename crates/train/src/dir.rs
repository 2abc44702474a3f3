//! A run's folder: `config.resolved.yaml`, `metrics.jsonl`, `predictions.jsonl`, the
//! trained `adapter/` (see [`loran_adapters::folder`] for its layouts), and `result.json` written last and atomically.

use crate::files::{append_line, create_dir, recreate_dir, write_atomic, ResultsWriteError};
use crate::record::{PredictionRecord, RunResult, StepRecord};
use anyhow::Result;
use loran_adapters::AdapterSet;
use loran_model::{Llama, QuantMode};
use serde::Serialize;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// The folder of the trained adapter inside a run folder ([`loran_adapters::folder`]'s layouts).
pub const ADAPTER_DIR: &str = "adapter";
/// The resolved config of a run, the first file in its folder.
pub const CONFIG_FILE: &str = "config.resolved.yaml";

/// Reads the resolved config of the run in `run_dir`; the error names the file.
pub fn read_config(run_dir: &Path) -> Result<crate::config::RunConfig> {
    let path = run_dir.join(CONFIG_FILE);
    let text = fs::read_to_string(&path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    serde_saphyr::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// Where the adapter is written before its rename: the leading dot keeps a crash's
/// leftover out of a reused run's copy.
const ADAPTER_TMP: &str = ".adapter.tmp";

/// One run's folder.
#[derive(Debug, Clone)]
pub struct RunDir {
    path: PathBuf,
}

impl RunDir {
    /// `results/<grid>/runs/<run_id>/` (not created yet).
    pub fn new(grid_dir: &Path, run_id: &str) -> Self {
        Self { path: grid_dir.join("runs").join(run_id) }
    }

    /// The run folder at `path` itself (e.g. one named on the command line).
    pub fn at(path: &Path) -> Self {
        Self { path: path.to_path_buf() }
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `result.json`.
    pub fn result_path(&self) -> PathBuf {
        self.path.join("result.json")
    }

    /// The finished result, if `result.json` exists and parses.
    pub fn read_result(&self) -> Option<RunResult> {
        let text = fs::read_to_string(self.result_path()).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// Empties and recreates the folder, then writes the resolved config.
    pub fn start(&self, resolved_yaml: &str) -> Result<()> {
        recreate_dir(&self.path)?;
        Ok(write_atomic(&self.path.join(CONFIG_FILE), resolved_yaml.as_bytes())?)
    }

    /// Appends one line to `metrics.jsonl`.
    pub fn append_step(&self, record: &StepRecord) -> Result<()> {
        append_json_line(&self.path.join("metrics.jsonl"), record)
    }

    /// Writes `predictions.jsonl`.
    pub fn write_predictions(&self, predictions: &[PredictionRecord]) -> Result<()> {
        let mut text = String::new();
        for p in predictions {
            text.push_str(&serde_json::to_string(p)?);
            text.push('\n');
        }
        Ok(write_atomic(&self.path.join("predictions.jsonl"), text.as_bytes())?)
    }

    /// `adapter/`.
    pub fn adapter_path(&self) -> PathBuf {
        self.path.join(ADAPTER_DIR)
    }

    /// Saves `set` (trained on `base_model` stored as `quant`) as `adapter/` in the layouts
    /// of [`loran_adapters::folder`]: written whole into a temporary folder, then renamed,
    /// so `adapter/` is complete or absent. Returns its size in bytes (every file) and why a
    /// foreign layout was left out, if one was.
    pub fn save_adapter(&self, set: &AdapterSet, model: &Llama, base_model: &str, quant: QuantMode) -> Result<(u64, Option<String>), ResultsWriteError> {
        let tmp = self.path.join(ADAPTER_TMP);
        let target = self.adapter_path();
        recreate_dir(&tmp)?;
        let saved = loran_adapters::folder::save(set, model, &tmp, base_model, quant)
            .map_err(|e| ResultsWriteError { path: tmp.clone(), source: io::Error::other(e.to_string()) })?;
        let at = |path: &Path| {
            let path = path.to_path_buf();
            move |source| ResultsWriteError { path, source }
        };
        if target.exists() {
            fs::remove_dir_all(&target).map_err(at(&target))?;
        }
        fs::rename(&tmp, &target).map_err(at(&target))?;
        Ok((folder_bytes(&target).map_err(at(&target))?, saved.skipped))
    }

    /// Writes `result.json` last, atomically: the run's completion marker.
    pub fn write_result(&self, result: &RunResult) -> Result<(), ResultsWriteError> {
        create_dir(&self.path)?;
        let text = serde_json::to_string_pretty(result).expect("a run result serializes");
        write_atomic(&self.result_path(), text.as_bytes())
    }
}

/// The size of every file under `dir`, recursively.
fn folder_bytes(dir: &Path) -> io::Result<u64> {
    let mut bytes = 0;
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let meta = entry.metadata()?;
        bytes += if meta.is_dir() { folder_bytes(&entry.path())? } else { meta.len() };
    }
    Ok(bytes)
}

fn append_json_line<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    Ok(append_line(path, &serde_json::to_string(value)?)?)
}
