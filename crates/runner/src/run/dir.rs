//! A run's folder: `config.resolved.yaml`, `metrics.jsonl`, `predictions.jsonl`, and
//! `result.json` written last and atomically.

use crate::run::record::{PredictionRecord, RunResult, StepRecord};
use anyhow::{Context, Result};
use serde::Serialize;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Writes `bytes` to `path` through a temporary file and a rename, so readers never see half a file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_file_name(format!(".{}.tmp", path.file_name().and_then(|n| n.to_str()).unwrap_or("file")));
    {
        let mut f = File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
        f.write_all(bytes).with_context(|| format!("writing {}", tmp.display()))?;
        f.sync_all().with_context(|| format!("syncing {}", tmp.display()))?;
    }
    fs::rename(&tmp, path).with_context(|| format!("renaming {} to {}", tmp.display(), path.display()))
}

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
        if self.path.exists() {
            fs::remove_dir_all(&self.path).with_context(|| format!("clearing {}", self.path.display()))?;
        }
        fs::create_dir_all(&self.path).with_context(|| format!("creating {}", self.path.display()))?;
        write_atomic(&self.path.join("config.resolved.yaml"), resolved_yaml.as_bytes())
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
        write_atomic(&self.path.join("predictions.jsonl"), text.as_bytes())
    }

    /// Writes `result.json` last, atomically: the run's completion marker.
    pub fn write_result(&self, result: &RunResult) -> Result<()> {
        fs::create_dir_all(&self.path).with_context(|| format!("creating {}", self.path.display()))?;
        let text = serde_json::to_string_pretty(result)?;
        write_atomic(&self.result_path(), text.as_bytes())
    }
}

fn append_json_line<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let mut f = OpenOptions::new().create(true).append(true).open(path).with_context(|| format!("opening {}", path.display()))?;
    writeln!(f, "{}", serde_json::to_string(value)?).with_context(|| format!("appending to {}", path.display()))
}
