//! Reading finished run folders (`results/<grid>/runs/<run_id>/`) back into memory.
//!
//! A folder counts as finished when it holds `result.json` (written last and atomically by the
//! runner). Folders without it are unfinished: they are listed but not loaded.

use loran_train::config::RunConfig;
use loran_train::record::{PredictionRecord, RunResult, StepRecord, RESULT_SCHEMA};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

/// The completion marker of a run folder.
pub const RESULT_FILE: &str = "result.json";
/// Per-step training records, one JSON object a line.
pub const METRICS_FILE: &str = "metrics.jsonl";
/// Optional per-example predictions, one JSON object a line.
pub const PREDICTIONS_FILE: &str = "predictions.jsonl";
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
    /// Finished runs, sorted by `run_id` (then by folder).
    pub runs: Vec<LoadedRun>,
    /// Run folders without `result.json`, sorted by path.
    pub unfinished: Vec<PathBuf>,
}

/// Loads every finished run of a grid, sorted by `run_id`; unfinished folders are skipped.
///
/// Use [`scan_runs`] to also learn which folders were skipped.
pub fn load_runs(grid_dir: &Path) -> Result<Vec<LoadedRun>> {
    Ok(scan_runs(grid_dir)?.runs)
}

/// Loads every finished run of a grid and lists the unfinished run folders.
///
/// Errors name the offending file, and the line for JSON that does not parse.
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

    let mut scan = RunScan::default();
    for dir in dirs {
        if dir.join(RESULT_FILE).is_file() {
            scan.runs.push(load_run(&dir)?);
        } else {
            scan.unfinished.push(dir);
        }
    }
    scan.runs.sort_by(|a, b| {
        (a.result.run_id.as_str(), &a.dir).cmp(&(b.result.run_id.as_str(), &b.dir))
    });
    Ok(scan)
}

/// Loads one finished run folder (it must hold `result.json`).
pub fn load_run(dir: &Path) -> Result<LoadedRun> {
    let result_path = dir.join(RESULT_FILE);
    let text = read_text(&result_path)?;
    let result: RunResult = serde_json::from_str::<RunResult>(&text).map_err(|e| {
        anyhow::anyhow!(
            "{}:{}:{}: invalid {RESULT_FILE}: {e}",
            result_path.display(),
            e.line(),
            e.column()
        )
    })?;
    if result.schema != RESULT_SCHEMA {
        bail!(
            "{}: result schema {} is not the supported {RESULT_SCHEMA}",
            result_path.display(),
            result.schema
        );
    }

    let metrics_path = dir.join(METRICS_FILE);
    let steps = if metrics_path.is_file() {
        read_jsonl(&metrics_path)?
    } else {
        Vec::new()
    };
    let predictions_path = dir.join(PREDICTIONS_FILE);
    let predictions = if predictions_path.is_file() {
        Some(read_jsonl(&predictions_path)?)
    } else {
        None
    };
    // An older schema's config is not an error: the report only uses it for extras (the rank).
    let config = std::fs::read_to_string(dir.join(CONFIG_FILE)).ok().and_then(|text| serde_saphyr::from_str::<RunConfig>(&text).ok());
    Ok(LoadedRun {
        dir: dir.to_path_buf(),
        result,
        steps,
        predictions,
        config,
    })
}

/// The label [`RunConfig::method_label`] gives a reconstructed method named by its registry
/// name (`nolora`, `na-lora+nf4-dq` → `nolora-style (reconstructed)`,
/// `na-lora-style+nf4-dq (reconstructed)`), so `baseline: nolora` finds its row; every
/// other label is kept as it is.
pub fn current_method_label(stored: &str) -> String {
    let (method, quant) = match stored.find('+') {
        Some(at) => stored.split_at(at),
        None => (stored, ""),
    };
    if ["", "+nf4", "+nf4-dq"].contains(&quant) {
        loran_train::config::plain_method_label(method, quant)
    } else {
        stored.to_string()
    }
}

/// Parses a JSON-lines file (`null` in a record's float fields reads as NaN, see
/// [`super::json`]); blank lines are ignored, any other bad line is an error that names
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
mod tests {
    use super::*;
    use crate::test_support::{result, steps, write_run};

    #[test]
    fn loads_finished_runs_sorted_and_lists_unfinished_ones() {
        let grid = tempfile::tempdir().unwrap();
        write_run(
            grid.path(),
            &result("b", "t", 0, &[("accuracy", 0.5)]),
            &steps(),
        );
        write_run(grid.path(), &result("a", "t", 1, &[("accuracy", 0.7)]), &[]);
        std::fs::create_dir_all(grid.path().join("runs/zz-unfinished")).unwrap();
        std::fs::write(grid.path().join("runs/stray.txt"), "not a run").unwrap();

        let scan = scan_runs(grid.path()).unwrap();
        let ids: Vec<&str> = scan.runs.iter().map(|r| r.result.run_id.as_str()).collect();
        assert_eq!(ids, ["a-s1-0000abcd", "b-s0-0000abcd"]);
        assert!(scan.runs[0].steps.is_empty());
        assert_eq!(scan.runs[1].steps, steps());
        assert_eq!(scan.runs[1].predictions, None);
        assert_eq!(
            scan.unfinished,
            vec![grid.path().join("runs/zz-unfinished")]
        );
        assert_eq!(load_runs(grid.path()).unwrap(), scan.runs);
    }

    #[test]
    fn reads_predictions_when_present() {
        let grid = tempfile::tempdir().unwrap();
        let dir = write_run(grid.path(), &result("a", "t", 0, &[]), &steps());
        let line = r#"{"id":"x1","target":"sport","prediction":"sport","score":1.0}"#;
        std::fs::write(dir.join(PREDICTIONS_FILE), format!("{line}\n\n")).unwrap();
        let run = load_run(&dir).unwrap();
        let predictions = run.predictions.unwrap();
        assert_eq!(predictions.len(), 1);
        assert_eq!(predictions[0].id, "x1");
        assert_eq!(predictions[0].score, 1.0);
    }

    #[test]
    fn corrupt_metrics_line_is_named_with_file_and_line() {
        let grid = tempfile::tempdir().unwrap();
        let dir = write_run(grid.path(), &result("a", "t", 0, &[]), &steps());
        let mut text = std::fs::read_to_string(dir.join(METRICS_FILE)).unwrap();
        text.push_str("{\"step\": 5, \"loss\": oops}\n");
        std::fs::write(dir.join(METRICS_FILE), text).unwrap();
        let err = format!("{:#}", scan_runs(grid.path()).unwrap_err());
        let expected = format!("{}:5:", dir.join(METRICS_FILE).display());
        assert!(err.contains(&expected), "{err}");
    }

    #[test]
    fn corrupt_result_json_is_named_with_file_and_line() {
        let grid = tempfile::tempdir().unwrap();
        let dir = write_run(grid.path(), &result("a", "t", 0, &[]), &steps());
        std::fs::write(
            dir.join(RESULT_FILE),
            "{\n  \"schema\": 1,\n  \"status\": \"okay\"\n}",
        )
        .unwrap();
        let err = format!("{:#}", load_run(&dir).unwrap_err());
        let expected = format!("{}:3:", dir.join(RESULT_FILE).display());
        assert!(err.contains(&expected), "{err}");
    }

    #[test]
    fn unknown_schema_is_rejected() {
        let grid = tempfile::tempdir().unwrap();
        let mut r = result("a", "t", 0, &[]);
        r.schema = RESULT_SCHEMA + 1;
        let dir = write_run(grid.path(), &r, &[]);
        let err = format!("{:#}", load_run(&dir).unwrap_err());
        assert!(
            err.contains("result.json") && err.contains("schema"),
            "{err}"
        );
    }

    #[test]
    fn registry_names_of_reconstructed_methods_map_to_their_labels() {
        use loran_train::config::RunConfig;
        use loran_model::QuantMode;
        for method in ["none", "lora", "dora", "loran", "sine-lora", "nolora", "na-lora"] {
            for quant in [QuantMode::None, QuantMode::Nf4, QuantMode::Nf4Dq] {
                let mut cfg = RunConfig { quant, ..RunConfig::default() };
                cfg.adapter.method = method.into();
                let today = cfg.method_label();
                let old = today.replace("-style", "").replace(" (reconstructed)", "");
                assert_eq!(current_method_label(&old), today, "{old}");
                assert_eq!(current_method_label(&today), today, "today's labels are kept");
            }
        }
        assert_eq!(current_method_label("nolora"), "nolora-style (reconstructed)");
        assert_eq!(current_method_label("na-lora+nf4"), "na-lora-style+nf4 (reconstructed)");
        assert_eq!(current_method_label("nolora+int8"), "nolora+int8", "unknown suffixes are left alone");
    }

    #[test]
    fn missing_runs_folder_is_an_error_naming_it() {
        let grid = tempfile::tempdir().unwrap();
        let err = format!("{:#}", scan_runs(grid.path()).unwrap_err());
        assert!(
            err.contains(&grid.path().join(RUNS_DIR).display().to_string()),
            "{err}"
        );
    }
}
