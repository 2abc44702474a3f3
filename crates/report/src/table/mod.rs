//! The paper-shaped tables of a grid: `table.csv`, `table.md` and `table.tex`.
//!
//! [`build`] aggregates the runs (mean ± sample std over seeds, best per column, and how
//! many runs diverged or failed), [`deltas`] compares every row with the baseline row
//! paired by seed and example ([`paired`]; Holm over the table, detectable differences,
//! equivalence tests for controls), and the renderers write the three files. Every table counts the trainable parameters of each
//! row's runs ([`TableData::params`](build::TableData::params), shown by
//! [`format::params_text`]), and one with a `(reconstructed)` row says under it that those
//! rows are not the authors' code ([`format::RECONSTRUCTED_NOTE`]). Everything is
//! deterministic, so two renders of the same runs are byte-identical.

pub mod build;
pub mod csv;
pub mod deltas;
pub mod floor;
pub mod format;
pub mod latex;
pub mod markdown;
pub mod paired;
pub mod per_rank;
pub mod resolve;
pub mod setup;

use super::load::LoadedRun;
use super::settings::{ReportSpec, TableKind};
use anyhow::Result;
use build::{build_table, default_baseline, TableData};
pub use floor::{majority_floors, MajorityFloor};
use deltas::{column_mde, compute_deltas, equivalence, ControlResult, Delta};
use std::path::{Path, PathBuf};

/// File stem of the three table files.
pub const TABLE_STEM: &str = "table";

/// A table with its deltas and the facts its text needs.
#[derive(Debug, Clone, PartialEq)]
pub struct TableReport {
    /// Heading and caption start, e.g. `quick-table-main: main table`.
    pub title: String,
    /// The scores.
    pub table: TableData,
    /// The baseline row, when the table has one.
    pub baseline: Option<String>,
    /// The row each row is compared with: the baseline, or (a rank sweep of several
    /// methods) the baseline method's row at the same rank; `None` for the baseline rows.
    pub against: Vec<Option<String>>,
    /// `deltas[row][column]` against `against[row]` (all `None` without a baseline).
    pub deltas: Vec<Vec<Option<Delta>>>,
    /// Bootstrap resamples (test loss and macro-F1).
    pub resamples: usize,
    /// Two-sided confidence of the intervals; α = 1 − confidence.
    pub confidence: f64,
    /// Per column, the smallest difference each of its deltas detects (80 % power, α).
    pub mde: Vec<Option<f64>>,
    /// The equivalence tests of the grid's control rows.
    pub controls: Vec<ControlResult>,
    /// The grid's own notes (what differs from the paper).
    pub grid_notes: Vec<String>,
    /// What always answering the most frequent label scores, per classification task.
    pub floors: Vec<String>,
    /// Whether a row's runs use a method the registry marks reconstructed from its
    /// paper's abstract (then a note says those rows are not the authors' code).
    pub reconstructed: bool,
    /// Per task, the setup read from the counted runs' configs ([`setup::setup_lines`]).
    pub setup: Vec<String>,
}

impl TableReport {
    /// Builds the table of `spec.table` over `runs` and its deltas.
    pub fn new(grid: &str, runs: &[LoadedRun], spec: &ReportSpec) -> Self {
        let first = build_table(spec.table, runs, spec.baseline.as_deref(), spec.diverged);
        let (baseline, against, table) = match per_rank::same_rank_baseline(&first, runs, spec.baseline.as_deref()) {
            Some((method, against)) => (Some(format!("{method} at the same rank")), against, first),
            None => {
                let configured = spec.baseline.as_deref().map(|wanted| baseline_row(wanted, &first, runs));
                let baseline = configured.or_else(|| default_baseline(&first, runs)).filter(|b| first.rows.contains(b));
                // The default baseline is only known after a first pass; it decides the row order.
                let table = if baseline.as_deref() == spec.baseline.as_deref() { first } else { build_table(spec.table, runs, baseline.as_deref(), spec.diverged) };
                let against = table.rows.iter().map(|r| baseline.clone().filter(|b| b != r)).collect();
                (baseline, against, table)
            }
        };
        let deltas = compute_deltas(&table, runs, &against, spec.resamples, spec.confidence);
        let kind = match spec.table {
            TableKind::Main => "main table",
            TableKind::Ablation => "activation ablation",
            TableKind::Rank => "rank sweep",
        };
        let mut grid_notes = spec.notes.clone();
        if let (Some(wanted), None) = (&spec.baseline, &baseline) {
            grid_notes.push(format!("the configured baseline `{wanted}` is not a row of this table, so no deltas are shown"));
        }
        let floors = majority_floors(runs).iter().map(MajorityFloor::sentence).collect();
        let mde = column_mde(&table, &deltas);
        let plain_baseline = baseline.as_deref().filter(|b| table.rows.iter().any(|r| r == b));
        let controls = equivalence(&table, runs, &deltas, &against, &spec.controls, plain_baseline, spec.resamples, 1.0 - spec.confidence);
        let reconstructed = table.members.values().flatten().any(|&i| loran_adapters::find_method(&runs[i].result.identity.method).is_ok_and(|m| m.reconstructed));
        let mut counted: Vec<usize> = table.members.values().flatten().copied().collect();
        counted.sort_unstable();
        counted.dedup();
        let setup = setup::setup_lines(&counted.iter().map(|&i| runs[i].clone()).collect::<Vec<_>>());
        Self { title: format!("{grid}: {kind}"), table, baseline, against, deltas, resamples: spec.resamples, confidence: spec.confidence, mde, controls, grid_notes, floors, reconstructed, setup }
    }

    /// The notes printed under the tables: the grid's, that `(reconstructed)` rows are not
    /// the authors' code (when the table has one), the majority-class floor of each
    /// classification task, the runs left out, and why some deltas are missing.
    pub fn notes(&self) -> Vec<String> {
        let mut notes = self.grid_notes.clone();
        if self.reconstructed {
            notes.push(format::RECONSTRUCTED_NOTE.to_string());
        }
        notes.extend(self.floors.iter().cloned());
        notes.extend(format::missing_reasons(&self.deltas).into_iter().map(|r| format!("n/a: {r}")));
        notes
    }
}

/// The row a configured `baseline:` names: the row of that label, else the one row whose
/// runs' identity has `wanted` as its registry name and quantization
/// ([`RunIdentity::registry_label`](loran_train::record::RunIdentity::registry_label):
/// `baseline: nolora` finds `nolora-style (reconstructed)`, `na-lora+nf4` finds
/// `na-lora-style+nf4 (reconstructed)`), else `wanted` itself (no row).
pub fn baseline_row(wanted: &str, table: &TableData, runs: &[LoadedRun]) -> String {
    if table.rows.iter().any(|r| r == wanted) {
        return wanted.to_string();
    }
    let named = |row: &&String| {
        table.members.iter().filter(|((r, _), _)| r == *row).flat_map(|(_, idx)| idx).any(|&i| runs[i].result.identity.registry_label() == wanted)
    };
    match table.rows.iter().filter(named).collect::<Vec<_>>().as_slice() {
        [row] => row.to_string(),
        _ => wanted.to_string(),
    }
}

/// Writes `table.csv`, `table.md` and `table.tex` into `grid_dir`; returns their paths.
/// Without any finished `ok` run nothing is written.
pub fn write_tables(grid_dir: &Path, report: &TableReport) -> Result<Vec<PathBuf>> {
    if report.table.rows.is_empty() {
        return Ok(Vec::new());
    }
    let files = [
        (format!("{TABLE_STEM}.csv"), csv::render_csv(report)?),
        (format!("{TABLE_STEM}.md"), markdown::render_markdown(report).into_bytes()),
        (format!("{TABLE_STEM}.tex"), latex::render_latex(report).into_bytes()),
    ];
    let mut written = Vec::new();
    for (name, bytes) in files {
        let path = grid_dir.join(name);
        super::output::write_atomic(&path, &bytes)?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::table_runs;

    #[test]
    fn a_reconstructed_row_adds_one_note_after_the_grids_own() {
        let grid = tempfile::tempdir().unwrap();
        let runs = table_runs(grid.path());
        let spec = ReportSpec { notes: vec!["one seed".into()], ..ReportSpec::default() };
        let notes = TableReport::new("unit", &runs, &spec).notes();
        assert_eq!(notes[..2], ["one seed", format::RECONSTRUCTED_NOTE]);
        assert_eq!(notes.iter().filter(|n| n.as_str() == format::RECONSTRUCTED_NOTE).count(), 1);
        let plain: Vec<LoadedRun> = runs.into_iter().filter(|r| !r.result.identity.method_label().ends_with("(reconstructed)")).collect();
        assert!(!TableReport::new("unit", &plain, &spec).notes().iter().any(|n| n.contains("reconstructed")));
    }

    #[test]
    fn a_baseline_may_name_a_reconstructed_row_by_label_or_registry_name() {
        let grid = tempfile::tempdir().unwrap();
        let runs = table_runs(grid.path());
        for (wanted, row) in [
            ("nolora-style (reconstructed)", "nolora-style (reconstructed)"),
            ("nolora", "nolora-style (reconstructed)"),
            ("na-lora+nf4", "na-lora-style+nf4 (reconstructed)"),
            ("lora", "lora"),
        ] {
            let spec = ReportSpec { baseline: Some(wanted.into()), ..ReportSpec::default() };
            let report = TableReport::new("unit", &runs, &spec);
            assert_eq!(report.baseline.as_deref(), Some(row), "{wanted}");
            assert_eq!(report.table.rows[1], row, "{wanted}: the baseline follows zero-shot");
            assert!(!report.notes().iter().any(|n| n.contains("is not a row")), "{wanted}");
        }
        let spec = ReportSpec { baseline: Some("na-lora".into()), ..ReportSpec::default() };
        let report = TableReport::new("unit", &runs, &spec);
        assert_eq!(report.baseline, None, "na-lora ran only over the NF4 base here");
        assert!(report.notes().iter().any(|n| n.contains("`na-lora` is not a row")));
    }
}

#[cfg(test)]
#[path = "stats_tests.rs"]
mod stats_tests;

#[cfg(test)]
mod layout_tests;
