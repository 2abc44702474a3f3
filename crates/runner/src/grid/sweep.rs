//! `lr_sweep:`: a learning rate chosen per cell on the validation split, before the
//! cell's seeds run on the test split.
//!
//! Activations and methods differ in their effective step size (f′(0) is 0.25 for
//! sigmoid and 2 for cos), so one shared learning rate ranks them partly by how well it
//! suits each. With a sweep, every trained cell first runs once per factor (its
//! `train.lr` times the factor) and tuning seed with `eval.split: validation`; the
//! factor with the lowest mean `validation_loss` is the cell's, and its seeds then run
//! as usual at that rate. The test split is never seen while choosing.
//!
//! Tuning runs live in `results/<grid>/tuning/`, a grid folder of their own, so tables
//! never mix them with the test runs; the choice is kept in `tuning/selection.json`.

use crate::grid::expand::config_hash;
use loran_train::cell::Cell;
use loran_train::config::EvalSplit;
use loran_train::execute::VALIDATION_LOSS;
use loran_train::record::{RunResult, RunStatus};
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Folder under the grid folder holding the tuning runs.
pub const TUNING_DIR: &str = "tuning";

/// File under [`TUNING_DIR`] that keeps the chosen factors.
pub const SELECTION_FILE: &str = "selection.json";

/// The `lr_sweep:` section of a grid file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LrSweep {
    /// Multiples of each cell's `train.lr` to try (e.g. `[0.3, 1, 3]`): at least two,
    /// each positive and finite, none twice.
    pub factors: Vec<f64>,
    /// Training seeds of the tuning runs (default: the grid's first seed). The mean
    /// validation loss over them decides.
    #[serde(default)]
    pub seeds: Option<Vec<u64>>,
}

impl LrSweep {
    /// The first bad value as (its key under `lr_sweep:`, the message naming range and fix).
    pub fn problem(&self) -> Option<(&'static str, String)> {
        if self.factors.len() < 2 {
            return Some(("factors", format!("lr_sweep.factors needs at least two multiples of train.lr to compare (e.g. [0.3, 1, 3]), got {}", self.factors.len())));
        }
        if let Some(f) = self.factors.iter().find(|f| !(f.is_finite() && **f > 0.0)) {
            return Some(("factors", format!("lr_sweep.factors must be positive finite multiples of train.lr (e.g. [0.3, 1, 3]), got {f}")));
        }
        if let Some((i, f)) = self.factors.iter().enumerate().find(|(i, f)| self.factors[..*i].contains(f)) {
            return Some(("factors", format!("lr_sweep.factors lists {f} twice (entry {}); list each multiple once", i + 1)));
        }
        if self.seeds.as_ref().is_some_and(|s| s.is_empty()) {
            return Some(("seeds", "lr_sweep.seeds is empty; leave it out (the grid's first seed) or give at least one, e.g. [0]".into()));
        }
        None
    }

    /// The tuning seeds: `seeds`, else the grid's first seed.
    pub fn tuning_seeds(&self, grid_seeds: &[u64]) -> Vec<u64> {
        self.seeds.clone().unwrap_or_else(|| grid_seeds.iter().take(1).copied().collect())
    }
}

/// Whether a cell's learning rate matters: it trains an adapter.
fn swept(cell: &Cell) -> bool {
    cell.config.adapter.method != "none" && cell.config.train.steps > 0
}

/// `0.3` → `0.3`, `1` → `1`: a factor as it appears in run names.
fn factor_text(f: f64) -> String {
    format!("{f}")
}

/// The tuning cells of `finals` (the grid's cells at their base learning rate): per
/// trained group, one per factor and tuning seed, evaluated on the validation split.
pub fn tuning_cells(sweep: &LrSweep, grid_seeds: &[u64], finals: &[Cell]) -> Vec<Cell> {
    let mut out = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for cell in finals.iter().filter(|c| swept(c)) {
        if !seen.insert(cell.group.clone()) {
            continue;
        }
        for &factor in &sweep.factors {
            for &seed in &sweep.tuning_seeds(grid_seeds) {
                let mut config = cell.config.clone();
                config.seed = seed;
                config.train.lr *= factor;
                config.eval.split = EvalSplit::Validation;
                let hash = config_hash(&config);
                let group = format!("{}-lrx{}", cell.group, factor_text(factor));
                let mut labels = cell.labels.clone();
                labels.push(("train.lr".into(), format!("{}", config.train.lr)));
                out.push(Cell { run_id: format!("{group}-s{seed}-{}", &hash[..8]), group, config_hash: hash, labels, config });
            }
        }
    }
    out
}

/// What the sweep chose for one group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Choice {
    /// The chosen multiple of the group's `train.lr`.
    pub factor: f64,
    /// The learning rate it gives.
    pub lr: f64,
    /// Per factor tried: (factor, mean validation loss over the tuning seeds; infinite when
    /// a tuning run diverged).
    pub losses: Vec<(f64, f64)>,
}

/// The chosen factor per group, or why a group has none.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Selection {
    /// Group → its choice.
    pub chosen: BTreeMap<String, Choice>,
    /// Group → why no factor could be chosen (a tuning run failed or is missing).
    pub undecided: BTreeMap<String, String>,
}

/// What selection needs of a finished tuning run.
#[derive(Debug, Clone, PartialEq)]
pub struct TuningOutcome {
    /// ok, diverged or failed.
    pub status: RunStatus,
    /// Its `validation_loss`, when it recorded one.
    pub validation_loss: Option<f64>,
    /// Why it failed, if it did.
    pub error: Option<String>,
}

impl From<&RunResult> for TuningOutcome {
    fn from(r: &RunResult) -> Self {
        Self { status: r.status, validation_loss: r.metrics.get(VALIDATION_LOSS).copied(), error: r.error.clone() }
    }
}

/// Chooses, per group, the factor with the lowest mean validation loss over its tuning
/// runs (`results` by run id; a diverged run counts as infinite loss). Ties go to the
/// factor nearest 1 (in log scale), then to the smaller one. A group with a failed or
/// missing tuning run, or whose every factor diverged, is undecided.
pub fn select(sweep: &LrSweep, finals: &[Cell], tuning: &[Cell], results: &BTreeMap<String, TuningOutcome>) -> Selection {
    let mut selection = Selection::default();
    for cell in finals.iter().filter(|c| swept(c)) {
        if selection.chosen.contains_key(&cell.group) || selection.undecided.contains_key(&cell.group) {
            continue;
        }
        let mut losses = Vec::new();
        let mut problem = None;
        for &factor in &sweep.factors {
            // The tuning cells of this group and factor, matched by their whole group name.
            let group = format!("{}-lrx{}", cell.group, factor_text(factor));
            let runs: Vec<&Cell> = tuning.iter().filter(|t| t.group == group).collect();
            let mut values = Vec::new();
            for run in runs {
                match results.get(&run.run_id) {
                    Some(r) if r.status == RunStatus::Ok => match r.validation_loss {
                        Some(v) if v.is_finite() => values.push(v),
                        _ => values.push(f64::INFINITY),
                    },
                    Some(r) if r.status == RunStatus::Diverged => values.push(f64::INFINITY),
                    Some(r) => problem = Some(format!("tuning run {} failed: {}", run.run_id, r.error.clone().unwrap_or_default())),
                    None => problem = Some(format!("tuning run {} has no result", run.run_id)),
                }
            }
            let mean = if values.is_empty() { f64::INFINITY } else { values.iter().sum::<f64>() / values.len() as f64 };
            losses.push((factor, mean));
        }
        if let Some(why) = problem {
            selection.undecided.insert(cell.group.clone(), why);
            continue;
        }
        let key = |&(f, loss): &(f64, f64)| (loss, f.ln().abs(), f);
        let best = losses.iter().filter(|(_, l)| l.is_finite()).min_by(|a, b| key(a).partial_cmp(&key(b)).expect("finite keys"));
        match best {
            Some(&(factor, _)) => {
                selection.chosen.insert(cell.group.clone(), Choice { factor, lr: cell.config.train.lr * factor, losses });
            }
            None => {
                selection.undecided.insert(cell.group.clone(), "every learning rate tried diverged on the validation split".into());
            }
        }
    }
    selection
}

/// `finals` at their chosen learning rates (new config hashes and run ids); cells of
/// undecided groups are left out, cells without an adapter kept as they are.
pub fn apply(finals: &[Cell], selection: &Selection) -> Vec<Cell> {
    finals
        .iter()
        .filter(|c| !selection.undecided.contains_key(&c.group))
        .map(|cell| match selection.chosen.get(&cell.group) {
            Some(choice) if choice.factor != 1.0 => {
                let mut config = cell.config.clone();
                config.train.lr *= choice.factor;
                let hash = config_hash(&config);
                Cell { run_id: format!("{}-s{}-{}", cell.group, config.seed, &hash[..8]), config_hash: hash, config, ..cell.clone() }
            }
            _ => cell.clone(),
        })
        .collect()
}

/// The tuning cells of `finals` and the selection their recorded results in
/// `grid_dir/tuning/` make now: what one cell run alone (`grid run-cell`, a Slurm task)
/// needs, where `grid run` has the results of the tuning runs it just made.
pub fn selection_now(sweep: &LrSweep, grid_seeds: &[u64], finals: &[Cell], grid_dir: &Path) -> (Vec<Cell>, Selection) {
    use crate::grid::runner::{cell_state, CellState};
    let tuning = tuning_cells(sweep, grid_seeds, finals);
    let tuning_dir = grid_dir.join(TUNING_DIR);
    let mut results = BTreeMap::new();
    for cell in &tuning {
        let Some(r) = loran_train::dir::RunDir::new(&tuning_dir, &cell.run_id).read_result() else { continue };
        if r.config_hash == cell.config_hash && (r.status == RunStatus::Failed || cell_state(&tuning_dir, cell) == CellState::Finished) {
            results.insert(cell.run_id.clone(), TuningOutcome::from(&r));
        }
    }
    let selection = select(sweep, finals, &tuning, &results);
    (tuning, selection)
}

/// `grid_dir/tuning/selection.json`.
pub fn selection_path(grid_dir: &Path) -> PathBuf {
    grid_dir.join(TUNING_DIR).join(SELECTION_FILE)
}

/// Writes the selection atomically.
pub fn write_selection(grid_dir: &Path, selection: &Selection) -> Result<()> {
    let text = serde_json::to_string_pretty(selection)?;
    loran_report::output::write_atomic(&selection_path(grid_dir), text.as_bytes())
}

/// The selection a grid run saved, if any.
pub fn read_selection(grid_dir: &Path) -> Result<Option<Selection>> {
    let path = selection_path(grid_dir);
    if !path.is_file() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let selection = serde_json::from_str(&text).with_context(|| format!("{}: not a learning-rate selection; delete it to tune again", path.display()))?;
    Ok(Some(selection))
}

/// The grid's cells as its last run made them: at the chosen rates when the grid has a
/// sweep and a saved selection (undecided groups left out), else as expanded.
pub fn resolved_cells(grid: &crate::grid::GridFile, grid_dir: &Path) -> Result<Vec<Cell>> {
    let cells = crate::grid::expand(grid)?;
    match (&grid.spec.lr_sweep, read_selection(grid_dir)?) {
        (Some(_), Some(selection)) => Ok(apply(&cells, &selection)),
        _ => Ok(cells),
    }
}

/// One note line per task for the tables: which rate each row got, from what.
pub fn notes(sweep: &LrSweep, grid_seeds: &[u64], finals: &[Cell], selection: &Selection) -> Vec<String> {
    let seeds = sweep.tuning_seeds(grid_seeds).iter().map(u64::to_string).collect::<Vec<_>>().join(", ");
    let factors = sweep.factors.iter().map(|f| format!("×{}", factor_text(*f))).collect::<Vec<_>>().join(", ");
    let mut lines = vec![format!(
        "Learning rates tuned per row on the validation split, never the test split: {factors} of the listed rate, \
         chosen by the lowest mean validation loss over tuning seed(s) {seeds}; the test runs use the chosen rate."
    )];
    let mut by_task: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut seen = std::collections::BTreeSet::new();
    for cell in finals.iter().filter(|c| swept(c) && seen.insert(c.group.clone())) {
        let text = match (selection.chosen.get(&cell.group), selection.undecided.get(&cell.group)) {
            (Some(c), _) => {
                let edge = [sweep.factors.iter().copied().fold(f64::INFINITY, f64::min), sweep.factors.iter().copied().fold(0.0, f64::max)].contains(&c.factor);
                let edge = if edge { ", at the edge of the sweep: the best rate may lie beyond it" } else { "" };
                format!("{} lr {:.2e} (×{}{edge})", cell.group, c.lr, factor_text(c.factor))
            }
            (None, Some(why)) => format!("{} not run ({why})", cell.group),
            _ => continue,
        };
        by_task.entry(cell.config.task.as_str()).or_default().push(text);
    }
    lines.extend(by_task.into_iter().map(|(task, rows)| format!("Chosen on {task}: {}.", rows.join("; "))));
    lines
}

#[cfg(test)]
#[path = "sweep_tests.rs"]
mod tests;
