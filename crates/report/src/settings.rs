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

/// What a diverged run (NaN or infinite loss) counts as in means and deltas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DivergedRuns {
    /// The worst score: 0 for ROUGE, accuracy and macro-F1, the column's highest test
    /// loss. A method that diverges in some seeds is worse on average, and shows it.
    #[default]
    Worst,
    /// Left out of means and deltas (still counted in the cell's text).
    LeaveOut,
}

/// A control comparison: a row that should match another, and how closely.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Control {
    /// The control row (e.g. `loran-identity`).
    pub row: String,
    /// The row it should match (default: the table's baseline).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub against: Option<String>,
    /// Equivalence margin for metrics shown ×100, in points (e.g. 0.5); > 0.
    pub margin: f64,
    /// Equivalence margin for the test loss, in nats per token (default: not tested); > 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss_margin: Option<f64>,
}

/// The `report:` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReportSpec {
    /// Table layout (default `main`).
    pub table: TableKind,
    /// The row every other row is compared with, paired by seed and example (default: `qlora`,
    /// else `lora`, for `main`; `identity` for `ablation`; the largest rank for `rank`).
    /// A reconstructed method's row may be named by its label (`nolora-style
    /// (reconstructed)`) or its registry name (`nolora`).
    pub baseline: Option<String>,
    /// What differs from the paper's settings; printed under the tables (default none).
    pub notes: Vec<String>,
    /// Bootstrap resamples per delta (default 10000).
    pub resamples: usize,
    /// Two-sided confidence of the delta intervals (default 0.95, in (0, 1)); 1 − it is
    /// the level α of the tests, the Holm correction and the detectable differences.
    pub confidence: f64,
    /// What a diverged run counts as (default `worst`; or `leave-out`).
    pub diverged: DivergedRuns,
    /// Equivalence tests (TOST) for control rows (default none).
    pub controls: Vec<Control>,
}

impl Default for ReportSpec {
    fn default() -> Self {
        Self { table: TableKind::Main, baseline: None, notes: Vec::new(), resamples: 10_000, confidence: 0.95, diverged: DivergedRuns::Worst, controls: Vec::new() }
    }
}

impl ReportSpec {
    /// Checks the numbers; errors name the key and the valid range.
    pub fn validate(&self) -> Result<()> {
        match self.problem() {
            Some((_, message)) => Err(anyhow!(message)),
            None => Ok(()),
        }
    }

    /// The first bad value as (its key under `report:`, the message naming key, range and fix).
    pub fn problem(&self) -> Option<(&'static str, String)> {
        if !(self.confidence > 0.0 && self.confidence < 1.0) {
            return Some(("confidence", format!("report.confidence must lie strictly between 0 and 1 (e.g. 0.95), got {}", self.confidence)));
        }
        if self.resamples < 100 {
            return Some(("resamples", format!("report.resamples must be at least 100 bootstrap resamples (e.g. 10000), got {}", self.resamples)));
        }
        let positive = |v: f64| v.is_finite() && v > 0.0;
        self.controls.iter().enumerate().find(|(_, c)| !positive(c.margin) || c.loss_margin.is_some_and(|m| !positive(m))).map(|(i, c)| {
            ("controls", format!("report.controls[{i}] (row {}): margin and loss_margin must be positive numbers (e.g. margin: 0.5 points, loss_margin: 0.01 nats per token)", c.row))
        })
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
