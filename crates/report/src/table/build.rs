//! The numbers of a paper-shaped table: rows (methods, activations or ranks), columns
//! (per task, its metrics), and per cell the mean ± sample std over seeds.

use crate::load::LoadedRun;
use crate::settings::{DivergedRuns, TableKind};
use loran_train::identity::QuantMode;
use loran_train::record::{RunIdentity, RunStatus};
use loran_metrics::{metric_spec, metric_specs, summarize, Direction, MetricSpec, Resample, Summary};
use std::collections::{BTreeMap, BTreeSet};

/// The spec of a column's metric (`loran_metrics::scoring`): header, display scale,
/// decimals, direction and resampling. Columns only hold metrics with a spec; any other
/// name gets a plain fallback (shown as `?`, 4 decimals, no interval).
pub fn column_spec(metric: &str) -> &'static MetricSpec {
    metric_spec(metric).unwrap_or(&UNKNOWN_METRIC)
}

const UNKNOWN_METRIC: MetricSpec =
    MetricSpec { name: "?", header: "?", scale: 1.0, decimals: 4, direction: Direction::Higher, resample: Resample::NotResampled, table: false, doc: "a metric no scorer describes" };

/// One column: a metric of a task.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct TableColumn {
    /// Task name.
    pub task: String,
    /// Metric name (a key of `result.json`'s `metrics`).
    pub metric: String,
}

/// How the runs of one row and task ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunCounts {
    /// Runs of any status.
    pub total: usize,
    /// Runs whose loss became NaN or infinite.
    pub diverged: usize,
    /// Runs an error stopped (never counted in means: not the method's doing).
    pub failed: usize,
}

/// One cell: the metric over the row's counted runs of the task.
#[derive(Debug, Clone, PartialEq)]
pub struct TableCell {
    /// Mean, sample std and count, on the 0–1 (or loss) scale, over the counted runs
    /// (`ok` runs, plus diverged ones at the worst score under [`DivergedRuns::Worst`]).
    pub summary: Summary,
    /// Whether the mean is the best of its column at the shown precision (ties all count).
    pub best: bool,
    /// How the row's runs of the task ended.
    pub counts: RunCounts,
}

/// A table before rendering.
#[derive(Debug, Clone, PartialEq)]
pub struct TableData {
    /// The layout.
    pub kind: TableKind,
    /// Row labels, top to bottom.
    pub rows: Vec<String>,
    /// Columns, left to right: tasks (summarization first), each with its metrics.
    pub columns: Vec<TableColumn>,
    /// `cells[row][column]`; `None` where the row has no finished run of the task.
    pub cells: Vec<Vec<Option<TableCell>>>,
    /// (row label, task) → the runs its means count: `ok` runs, and diverged ones under
    /// [`DivergedRuns::Worst`].
    pub members: BTreeMap<(String, String), Vec<usize>>,
    /// (row label, task) → how all its runs ended.
    pub counts: BTreeMap<(String, String), RunCounts>,
    /// What a diverged run counts as.
    pub diverged: DivergedRuns,
    /// (task, metric) → the score a counted diverged run gets: 0 where higher is better,
    /// else the highest value among the task's `ok` runs in this table.
    pub worst: BTreeMap<(String, String), f64>,
    /// (row label, task) → the fewest and most trainable parameters among the row's `ok`
    /// runs of the task (`result.train.trainable_params`; 0 for zero-shot).
    pub params: BTreeMap<(String, String), (u64, u64)>,
}

impl TableData {
    /// The fewest and most trainable parameters among row `row`'s `ok` runs over all
    /// tasks (`None` for a row without runs).
    pub fn row_params(&self, row: &str) -> Option<(u64, u64)> {
        self.params.iter().filter(|((r, _), _)| r == row).map(|(_, &range)| range).reduce(|(lo, hi), (l, h)| (lo.min(l), hi.max(h)))
    }
}

/// The row a run belongs to in a table of `kind`, made from its identity fields, never
/// from its stored label: the method label (main); the activation name for a method with
/// one (ablation); `r=<rank>` for a run with an adapter (rank). Other runs of an ablation
/// or rank table keep their method label (the zero-shot floor).
pub fn row_label(kind: TableKind, run: &LoadedRun) -> String {
    row_label_in(kind, run, &LabelContext::default())
}

/// What a row label must tell apart beyond the run itself.
#[derive(Debug, Clone, Default)]
pub struct LabelContext {
    /// The adapted runs use several methods: a rank sweep names its rows `<method> r=<rank>`.
    pub several_methods: bool,
    /// Activations that run with several parameter values (a Sinter map): an ablation
    /// names their rows with the values, `sinter(amplitude=0.001, omega=100)`.
    pub varied_activations: BTreeSet<String>,
}

impl LabelContext {
    /// The context of a table over `runs`.
    pub fn of(runs: &[LoadedRun]) -> Self {
        let mut params: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
        for a in runs.iter().filter_map(|r| r.result.identity.activation.as_ref()) {
            params.entry(a.name.as_str()).or_default().insert(format!("{:?}", a.params));
        }
        let varied_activations = params.into_iter().filter(|(_, p)| p.len() > 1).map(|(n, _)| n.to_string()).collect();
        Self { several_methods: several_methods(runs), varied_activations }
    }
}

/// `name(p=v, …)`: an activation with its parameter values.
pub fn activation_with_params(a: &loran_train::identity::ActivationIdentity) -> String {
    let params: Vec<String> = a.params.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{}({})", a.name, params.join(", "))
}

/// [`row_label`] in a table whose runs need the distinctions of `context`.
pub fn row_label_in(kind: TableKind, run: &LoadedRun, context: &LabelContext) -> String {
    let identity = &run.result.identity;
    match kind {
        TableKind::Main => identity.method_label(),
        TableKind::Ablation => match &identity.activation {
            Some(a) if context.varied_activations.contains(&a.name) => activation_with_params(a),
            Some(a) => a.name.clone(),
            None => identity.method_label(),
        },
        TableKind::Rank => match rank_of(run) {
            Some(r) if context.several_methods => format!("{} r={r}", identity.method_label()),
            Some(r) => format!("r={r}"),
            None => identity.method_label(),
        },
    }
}

/// Whether the adapted runs (those with a rank) use more than one method label.
pub fn several_methods(runs: &[LoadedRun]) -> bool {
    runs.iter().filter(|r| rank_of(r).is_some()).map(|r| r.result.identity.method_label()).collect::<BTreeSet<_>>().len() > 1
}

/// The adapter rank of a run (none without an adapter), from its identity.
pub fn rank_of(run: &LoadedRun) -> Option<usize> {
    run.result.identity.rank()
}

/// Where a run's row sorts in a table of `kind`: zero-shot rows first (class 0, the
/// others 2), then by the registry order of the activation (ablation) or by rank (rank).
fn row_order(kind: TableKind, run: &LoadedRun) -> (u8, usize) {
    let identity = &run.result.identity;
    let class = if identity.is_zero_shot() { 0 } else { 2 };
    let position = |name: &str| loran_adapters::activations::ACTIVATIONS.iter().position(|a| a.name == name);
    let key = match kind {
        TableKind::Ablation => identity.activation_name().and_then(position),
        TableKind::Rank => rank_of(run),
        TableKind::Main => Some(0),
    };
    (class, key.unwrap_or(usize::MAX))
}

/// Row order: zero-shot rows first, then the baseline, then by `kind` (registry order of
/// activations for `ablation`, increasing rank for `rank`, else by name), each row placed
/// by the identity of a run of it (`run_of`; a row without one goes last).
pub fn sort_rows<'a>(kind: TableKind, rows: &mut [String], baseline: Option<&str>, run_of: impl Fn(&str) -> Option<&'a LoadedRun>) {
    rows.sort_by_cached_key(|row| {
        let (class, key) = run_of(row).map_or((2, usize::MAX), |run| row_order(kind, run));
        let class = if class != 0 && kind != TableKind::Rank && Some(row.as_str()) == baseline { 1 } else { class };
        (class, key, row.clone())
    });
}

/// A run of row `row`, of any task (the identity fields a table groups by are the same
/// for all of them); `members` maps (row, task) to indices into `runs`.
pub fn run_of_row<'a>(members: &BTreeMap<(String, String), Vec<usize>>, runs: &'a [LoadedRun], row: &str) -> Option<&'a LoadedRun> {
    members.iter().find(|((r, _), _)| r == row).and_then(|(_, idx)| idx.first()).map(|&i| &runs[i])
}

/// Where a task's kind stands in the scorer registry (summarization first), from the
/// metrics its runs report; a task with no scorer's metric comes last.
fn kind_position(runs: &[&LoadedRun]) -> usize {
    runs.iter().flat_map(|r| r.result.metrics.keys()).filter_map(|m| loran_metrics::scoring::kind_position(m)).min().unwrap_or(usize::MAX)
}

/// The default baseline row of `table` over `runs`, chosen by identity fields: for `main`,
/// LoRA over an NF4 base (`qlora`), else LoRA; for `ablation`, the identity activation; for
/// `rank`, the largest rank. `None` when no row, or more than one, fits.
pub fn default_baseline(table: &TableData, runs: &[LoadedRun]) -> Option<String> {
    let rows_where = |fits: &dyn Fn(&RunIdentity) -> bool| -> Option<String> {
        let found: Vec<&String> = table.rows.iter().filter(|row| run_of_row(&table.members, runs, row).is_some_and(|run| fits(&run.result.identity))).collect();
        match found.as_slice() {
            [row] => Some(row.to_string()),
            _ => None,
        }
    };
    match table.kind {
        TableKind::Main => [QuantMode::Nf4, QuantMode::Nf4Dq, QuantMode::None].into_iter().find_map(|quant| rows_where(&|i| i.method == "lora" && i.quantization == quant)),
        TableKind::Ablation => rows_where(&|i| i.activation_name() == Some("identity")),
        TableKind::Rank => {
            let largest = table.rows.iter().filter_map(|row| run_of_row(&table.members, runs, row)?.result.identity.rank()).max()?;
            rows_where(&|i| i.rank() == Some(largest))
        }
    }
}

/// Builds the table of `kind` over `runs`; `baseline` only decides the row order.
pub fn build_table(kind: TableKind, runs: &[LoadedRun], baseline: Option<&str>, diverged: DivergedRuns) -> TableData {
    let mut all: BTreeMap<(String, String), Vec<usize>> = BTreeMap::new();
    let mut groups_of: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    let context = LabelContext::of(runs);
    for (i, run) in runs.iter().enumerate() {
        let key = (row_label_in(kind, run, &context), run.result.task.clone());
        groups_of.entry(key.clone()).or_default().insert(run.result.group.clone());
        all.entry(key).or_default().push(i);
    }
    // Two groups on one row would be averaged together: give each its own row instead.
    let clashing: BTreeSet<(String, String)> = groups_of.iter().filter(|(_, g)| g.len() > 1).map(|(k, _)| k.clone()).collect();
    if !clashing.is_empty() {
        let mut split: BTreeMap<(String, String), Vec<usize>> = BTreeMap::new();
        for (key, idx) in all {
            for i in idx {
                let row = if clashing.contains(&key) { format!("{} [{}]", key.0, runs[i].result.group) } else { key.0.clone() };
                split.entry((row, key.1.clone())).or_default().push(i);
            }
        }
        all = split;
    }
    let counted = |i: &usize| match runs[i.to_owned()].result.status {
        RunStatus::Ok => true,
        RunStatus::Diverged => diverged == DivergedRuns::Worst,
        RunStatus::Failed => false,
    };
    let members: BTreeMap<(String, String), Vec<usize>> =
        all.iter().map(|(key, idx)| (key.clone(), idx.iter().copied().filter(counted).collect::<Vec<_>>())).filter(|(_, idx)| !idx.is_empty()).collect();
    let counts: BTreeMap<(String, String), RunCounts> = all
        .iter()
        .map(|(key, idx)| {
            let with = |status: RunStatus| idx.iter().filter(|&&i| runs[i].result.status == status).count();
            (key.clone(), RunCounts { total: idx.len(), diverged: with(RunStatus::Diverged), failed: with(RunStatus::Failed) })
        })
        .collect();
    let ok_runs = |idx: &[usize]| -> Vec<usize> { idx.iter().copied().filter(|&i| runs[i].result.status == RunStatus::Ok).collect() };

    let params = members
        .iter()
        .map(|(key, idx)| {
            let counts = || idx.iter().map(|&i| runs[i].result.train.trainable_params);
            (key.clone(), (counts().min().unwrap_or(0), counts().max().unwrap_or(0)))
        })
        .collect();
    let mut rows: Vec<String> = all.keys().map(|(row, _)| row.clone()).collect::<BTreeSet<_>>().into_iter().collect();
    sort_rows(kind, &mut rows, baseline, |row| run_of_row(&all, runs, row));
    let tasks: BTreeSet<&str> = all.keys().map(|(_, t)| t.as_str()).collect();
    let mut tasks: Vec<&str> = tasks.into_iter().collect();
    let task_runs = |task: &str| -> Vec<&LoadedRun> { all.iter().filter(|((_, t), _)| t == task).flat_map(|(_, idx)| ok_runs(idx).into_iter().map(|i| &runs[i])).collect() };
    tasks.sort_by_key(|t| (kind_position(&task_runs(t)), t.to_string()));
    let order: Vec<&MetricSpec> = metric_specs().into_iter().filter(|m| m.table).collect();
    let mut columns = Vec::new();
    let mut worst = BTreeMap::new();
    for task in &tasks {
        let ok = task_runs(task);
        let present: BTreeSet<&str> = ok.iter().flat_map(|r| r.result.metrics.keys().map(String::as_str)).collect();
        for spec in order.iter().filter(|m| present.contains(m.name)) {
            let highest = ok.iter().filter_map(|r| r.result.metrics.get(spec.name).copied()).filter(|v| v.is_finite()).fold(f64::NAN, f64::max);
            worst.insert((task.to_string(), spec.name.to_string()), if spec.higher_is_better() { 0.0 } else { highest });
            columns.push(TableColumn { task: task.to_string(), metric: spec.name.to_string() });
        }
    }

    let mut cells: Vec<Vec<Option<TableCell>>> = rows
        .iter()
        .map(|row| {
            columns
                .iter()
                .map(|col| {
                    let key = (row.clone(), col.task.clone());
                    let counts = *counts.get(&key)?;
                    let floor = worst.get(&(col.task.clone(), col.metric.clone())).copied().unwrap_or(f64::NAN);
                    let value = |i: usize| match runs[i].result.status {
                        RunStatus::Ok => runs[i].result.metrics.get(&col.metric).copied(),
                        _ => Some(floor),
                    };
                    let values: Vec<f64> = members.get(&key).map(|idx| idx.iter().filter_map(|&i| value(i)).collect()).unwrap_or_default();
                    Some(TableCell { summary: summarize(&values), best: false, counts })
                })
                .collect()
        })
        .collect();
    mark_best(&columns, &mut cells);
    TableData { kind, rows, columns, cells, members, counts, diverged, worst, params }
}

/// Bolds, per column, every finite mean equal to the best at the shown precision.
fn mark_best(columns: &[TableColumn], cells: &mut [Vec<Option<TableCell>>]) {
    for (c, col) in columns.iter().enumerate() {
        let spec = column_spec(&col.metric);
        let shown = |cell: &TableCell| (cell.summary.mean * spec.scale * 10f64.powi(spec.decimals as i32)).round() as i64;
        let values: Vec<i64> = cells.iter().filter_map(|row| row[c].as_ref()).filter(|cell| cell.summary.mean.is_finite()).map(shown).collect();
        let best = if spec.higher_is_better() { values.iter().max() } else { values.iter().min() };
        if let Some(&best) = best {
            for row in cells.iter_mut() {
                if let Some(cell) = row[c].as_mut() {
                    cell.best = cell.summary.mean.is_finite() && shown(cell) == best;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::load_runs;
    use crate::test_support::{identity, result, table_runs, with_identity, write_run};

    #[test]
    fn columns_follow_the_metric_specs_and_tasks_the_scorer_registry() {
        let grid = tempfile::tempdir().unwrap();
        // A classification task whose name sorts first, with a diagnostic and a metric no
        // spec describes; a summarization task without rouge2.
        let mail = [("test_loss", 1.0), ("unparseable", 0.1), ("macro_f1", 0.4), ("bleu", 0.2), ("accuracy", 0.5)];
        let news = [("rougeLsum", 0.3), ("test_loss", 2.0), ("rouge1", 0.4), ("rougeL", 0.3)];
        for (group, task, metrics) in [("mail-lora", "a-mail", &mail[..]), ("news-lora", "b-news", &news[..])] {
            write_run(grid.path(), &result(group, task, 0, metrics), &[]);
        }
        let table = build_table(TableKind::Main, &load_runs(grid.path()).unwrap(), None, DivergedRuns::Worst);
        let columns: Vec<(&str, &str)> = table.columns.iter().map(|c| (c.task.as_str(), c.metric.as_str())).collect();
        let want = [("b-news", "rouge1"), ("b-news", "rougeL"), ("b-news", "rougeLsum"), ("b-news", "test_loss"), ("a-mail", "accuracy"), ("a-mail", "macro_f1"), ("a-mail", "test_loss")];
        assert_eq!(columns, want);
        assert_eq!((column_spec("macro_f1").header, column_spec("test_loss").decimals), ("Macro-F1", 3));
        assert_eq!((column_spec("bleu").header, column_spec("bleu").resample), ("?", Resample::NotResampled));
    }

    #[test]
    fn params_are_the_fewest_and_most_per_row_and_task() {
        let grid = tempfile::tempdir().unwrap();
        let runs = table_runs(grid.path());
        let table = build_table(TableKind::Main, &runs, Some("lora"), DivergedRuns::Worst);
        let key = |row: &str, task: &str| (row.to_string(), task.to_string());
        // Against the runs' own counts, for every (row, task).
        for ((row, task), idx) in &table.members {
            let counts: Vec<u64> = idx.iter().map(|&i| runs[i].result.train.trainable_params).collect();
            let want = (*counts.iter().min().unwrap(), *counts.iter().max().unwrap());
            assert_eq!(table.params[&key(row, task)], want, "{row} {task}");
        }
        assert_eq!(table.params.len(), table.members.len());
        assert_eq!(table.params[&key("dora", "news")], (267_264, 267_300));
        assert_eq!(table.row_params("zero-shot"), Some((0, 0)));
        assert_eq!(table.row_params("lora"), Some((258_048, 258_048)));
        assert_eq!(table.row_params("na-lora-style+nf4 (reconstructed)"), Some((258_048, 262_144)));
        assert_eq!(table.row_params("nolora-style (reconstructed)"), Some((258_624, 258_624)));
        assert_eq!(table.row_params("no such row"), None);
        assert_eq!(table.rows[..2], ["zero-shot", "lora"], "zero-shot, then the baseline");
    }

    #[test]
    fn rows_come_from_the_identity_fields_not_from_the_stored_label() {
        let grid = tempfile::tempdir().unwrap();
        // Each stored label names another row than the run's fields do.
        let runs = [
            ("a", "qlora", identity("loran", QuantMode::Nf4, "tanh"), 8),
            ("b", "loran-identity+nf4", identity("none", QuantMode::Nf4, "sinter"), 64),
            ("c", "zero-shot", identity("loran", QuantMode::Nf4, "identity"), 16),
            ("d", "r=2", identity("loran", QuantMode::Nf4, "sinter"), 32),
        ];
        for (group, label, identity, r) in runs {
            let mut run = with_identity(result(group, "news", 0, &[("rougeL", 0.3)]), identity);
            run.method = label.into();
            run.identity.r = r;
            run.labels.insert("adapter.r".into(), "2".into());
            write_run(grid.path(), &run, &[]);
        }
        let runs = load_runs(grid.path()).unwrap();
        let table = |kind| build_table(kind, &runs, None, DivergedRuns::Worst);
        let main = table(TableKind::Main);
        assert_eq!(main.rows, ["zero-shot+nf4", "loran-identity+nf4", "loran-sinter+nf4", "loran-tanh+nf4"]);
        assert_eq!(default_baseline(&main, &runs), None, "no LoRA row, whatever the labels say");
        // Activations in registry order (identity, tanh, sinter), not by name.
        let ablation = table(TableKind::Ablation);
        assert_eq!(ablation.rows, ["zero-shot+nf4", "identity", "tanh", "sinter"]);
        assert_eq!(default_baseline(&ablation, &runs).as_deref(), Some("identity"));
        // Ranks in numeric order, from the field (every `adapter.r` label says 2); the
        // adapted runs use three methods, so each row names its method too.
        let rank = table(TableKind::Rank);
        assert_eq!(rank.rows, ["zero-shot+nf4", "loran-tanh+nf4 r=8", "loran-identity+nf4 r=16", "loran-sinter+nf4 r=32"]);
        assert_eq!(default_baseline(&rank, &runs).as_deref(), Some("loran-sinter+nf4 r=32"));
    }
}
