//! A run's folder: `config.resolved.yaml`, `metrics.jsonl`, `predictions.jsonl`, and
//! `result.json` written last and atomically.

use crate::files::{append_line, create_dir, recreate_dir, write_atomic, ResultsWriteError};
use crate::record::{PredictionRecord, RunResult, StepRecord};
use anyhow::Result;
use serde::Serialize;
use std::fs;
use std::path::{Path, PathBuf};

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
        recreate_dir(&self.path)?;
        Ok(write_atomic(&self.path.join("config.resolved.yaml"), resolved_yaml.as_bytes())?)
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

    /// Writes `result.json` last, atomically: the run's completion marker.
    pub fn write_result(&self, result: &RunResult) -> Result<(), ResultsWriteError> {
        create_dir(&self.path)?;
        let text = serde_json::to_string_pretty(result).expect("a run result serializes");
        write_atomic(&self.result_path(), text.as_bytes())
    }
}

fn append_json_line<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    Ok(append_line(path, &serde_json::to_string(value)?)?)
}
