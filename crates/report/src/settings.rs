//! The `report:` section of a grid file, and its copy `results/<grid>/report.yaml` that
//! lets `loran report` re-render a grid without its YAML file.

use anyhow::{anyhow, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// File under the grid folder that keeps the grid's report settings.
pub const REPORT_SETTINGS_FILE: &str = "report.yaml";

/// Which paper-shaped table a grid renders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TableKind {
    /// Methods as rows, per-task metrics as columns (the QLoRA-vs-LoRAN table).
    #[default]
    Main,
    /// Activations as rows (the activation ablation).
    Ablation,
    /// Adapter ranks as rows, plus the score-against-rank figure.
    Rank,
}

/// The `report:` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReportSpec {
    /// Table layout (default `main`).
    pub table: TableKind,
    /// The row every other row is compared with by paired bootstrap (default: `qlora`,
    /// else `lora`, for `main`; `identity` for `ablation`; the largest rank for `rank`).
    /// A reconstructed method's row may be named by its label (`nolora-style
    /// (reconstructed)`) or its registry name (`nolora`).
    pub baseline: Option<String>,
    /// What differs from the paper's settings; printed under the tables (default none).
    pub notes: Vec<String>,
    /// Bootstrap resamples per delta (default 10000).
    pub resamples: usize,
    /// Two-sided confidence of the delta intervals (default 0.95).
    pub confidence: f64,
}

impl Default for ReportSpec {
    fn default() -> Self {
        Self { table: TableKind::Main, baseline: None, notes: Vec::new(), resamples: 10_000, confidence: 0.95 }
    }
}

impl ReportSpec {
    /// Checks the numbers; errors name the key and the valid range.
    pub fn validate(&self) -> Result<()> {
        if self.resamples == 0 {
            return Err(anyhow!("report.resamples must be a positive number of bootstrap resamples (e.g. 10000)"));
        }
        if !(self.confidence > 0.0 && self.confidence < 1.0) {
            return Err(anyhow!("report.confidence must lie strictly between 0 and 1 (e.g. 0.95), got {}", self.confidence));
        }
        Ok(())
    }
}

/// Writes `grid_dir/report.yaml`.
pub fn write_report_settings(grid_dir: &Path, spec: &ReportSpec) -> Result<PathBuf> {
    let text = serde_saphyr::to_string(spec).map_err(|e| anyhow!("serializing the report settings: {e}"))?;
    let path = grid_dir.join(REPORT_SETTINGS_FILE);
    super::output::write_atomic(&path, text.as_bytes())?;
    Ok(path)
}

/// Reads `grid_dir/report.yaml`, or the defaults when the grid never wrote one.
pub fn read_report_settings(grid_dir: &Path) -> Result<ReportSpec> {
    let path = grid_dir.join(REPORT_SETTINGS_FILE);
    if !path.is_file() {
        return Ok(ReportSpec::default());
    }
    let text = std::fs::read_to_string(&path).map_err(|e| anyhow!("{}: cannot read: {e}", path.display()))?;
    let spec: ReportSpec = serde_saphyr::from_str(&text).map_err(|e| anyhow!("{}: {}", path.display(), e.to_string().lines().next().unwrap_or_default()))?;
    spec.validate().map_err(|e| anyhow!("{}: {e}", path.display()))?;
    Ok(spec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_round_trip_and_default_when_absent() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read_report_settings(dir.path()).unwrap(), ReportSpec::default());
        let spec = ReportSpec { table: TableKind::Rank, baseline: Some("r=64".into()), notes: vec!["one seed".into()], ..ReportSpec::default() };
        write_report_settings(dir.path(), &spec).unwrap();
        assert_eq!(read_report_settings(dir.path()).unwrap(), spec);
        // Labels with spaces, parentheses and `+` survive the copy.
        let spec = ReportSpec { baseline: Some("na-lora-style+nf4 (reconstructed)".into()), ..ReportSpec::default() };
        write_report_settings(dir.path(), &spec).unwrap();
        assert_eq!(read_report_settings(dir.path()).unwrap(), spec);
        let plain: ReportSpec = serde_saphyr::from_str("baseline: nolora-style (reconstructed)\n").unwrap();
        assert_eq!(plain.baseline.as_deref(), Some("nolora-style (reconstructed)"));
    }

    #[test]
    fn bad_numbers_name_the_key() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(REPORT_SETTINGS_FILE), "confidence: 95\n").unwrap();
        let err = read_report_settings(dir.path()).unwrap_err().to_string();
        assert!(err.contains("report.yaml") && err.contains("report.confidence"), "{err}");
    }
}
