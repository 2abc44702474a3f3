//! Task kinds own their scoring: one scorer per kind, found by the kind's name, and a
//! [`MetricSpec`] for every metric it reports.
//!
//! A scorer turns the generated answers, the references and (for classification) the
//! label set into named metric values on their natural scale, per-example values for the
//! bootstrap, and the parsed labels. Its registry entry ([`TaskScorer`]) names the kind,
//! the primary metric and the specs, in table column order. Reports take column order,
//! headers, display scale, decimals, direction and resampling from the specs
//! ([`metric_specs`], [`metric_spec`]), so a kind's metrics need no code there.
//!
//! The seam: this crate knows nothing of `loran-datasets`, where `TaskKind` lives. The
//! kind's name (`TaskKind::name`) is the key here, and the runner joins the two:
//! `scorer(task.kind.name())`. An unknown name is [`MetricsError::UnknownTaskKind`],
//! naming this registry.
//!
//! Adding a task kind:
//!
//! 1. write `scoring/<kind>.rs` with a `SCORER` (copy `summarization.rs`: the specs, a
//!    `score` function, tests against hand-computed values);
//! 2. add its module name to the `registry!` list below;
//! 3. in `loran-datasets`, add the `TaskKind` variant and its name in `TaskKind::name`.
//!
//! [`RUN_METRICS`] (`test_loss`) are computed by the runner, not by a scorer; their specs
//! live here so that every spec is in one place.

mod spec;

pub use spec::{Direction, MetricSpec, Resample, RUN_METRICS, TEST_LOSS};

use crate::error::MetricsError;
use std::collections::BTreeMap;

/// Settings a scorer may read; each documents which kind uses it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScoreOptions {
    /// Summarization: Porter-stem words before ROUGE (rouge-score's `use_stemmer`).
    pub rouge_stemmer: bool,
}

/// What a scorer scores: the references and the generated answers, paired by position.
#[derive(Debug, Clone, Copy)]
pub struct ScoreInput<'a> {
    /// The reference answers (a summary, a gold label name).
    pub references: &'a [&'a str],
    /// The generated answers, trimmed.
    pub predictions: &'a [&'a str],
    /// The task's label set, for kinds that parse answers into labels (`None` otherwise).
    pub labels: Option<&'a [String]>,
    /// Scorer settings.
    pub options: ScoreOptions,
}

/// What a scorer returns.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskScores {
    /// Metric name → value over all examples, one per spec of the scorer.
    pub metrics: BTreeMap<String, f64>,
    /// Per example, the values of the metrics resampled as [`Resample::ExampleMean`].
    pub per_example: Vec<BTreeMap<String, f64>>,
    /// Per example, the label the answer parsed to (`None` when it parsed to none, and
    /// always for kinds without labels); [`Resample::MacroF1`] resamples these.
    pub labels: Vec<Option<String>>,
}

/// A registry entry: one task kind's scorer and the metrics it reports.
#[derive(Debug, Clone, Copy)]
pub struct TaskScorer {
    /// The kind's name, as `TaskKind::name` in `loran-datasets` spells it.
    pub kind: &'static str,
    /// The metric tables, figures and per-example records show first.
    pub primary: &'static str,
    /// Every metric [`TaskScorer::score`] reports, in table column order.
    pub metrics: &'static [MetricSpec],
    /// Which scoring this is: bump it whenever a change moves a number the scorer reports.
    /// Runs record it; finished runs scored by an older version are run again and kept
    /// out of tables, so no table mixes two scorings. Runs from before versions existed
    /// count as version 1.
    pub version: u32,
    /// Scores the answers.
    pub score: fn(&ScoreInput) -> Result<TaskScores, MetricsError>,
}

/// Declares each scorer module and lists its `SCORER` in [`SCORERS`].
macro_rules! registry {
    ($($module:ident),* $(,)?) => {
        $(pub mod $module;)*
        /// Every registered task kind's scorer; this order is the tables' task and column order.
        pub const SCORERS: &[TaskScorer] = &[$($module::SCORER),*];
    };
}

registry! {
    summarization,
    classification,
}

/// The scorer of task kind `kind`.
///
/// # Errors
///
/// [`MetricsError::UnknownTaskKind`] listing the registered kinds and where to add one.
pub fn scorer(kind: &str) -> Result<&'static TaskScorer, MetricsError> {
    SCORERS
        .iter()
        .find(|s| s.kind == kind)
        .ok_or_else(|| MetricsError::UnknownTaskKind {
            kind: kind.to_string(),
            known: SCORERS
                .iter()
                .map(|s| s.kind)
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// Every metric spec once, in report column order: each scorer's in registry order, then
/// [`RUN_METRICS`]. A name two kinds share keeps its first position.
pub fn metric_specs() -> Vec<&'static MetricSpec> {
    let mut out: Vec<&'static MetricSpec> = Vec::new();
    for spec in SCORERS.iter().flat_map(|s| s.metrics).chain(RUN_METRICS) {
        if !out.iter().any(|seen| seen.name == spec.name) {
            out.push(spec);
        }
    }
    out
}

/// The spec of metric `name`, or `None` for a name no scorer or the runner reports.
pub fn metric_spec(name: &str) -> Option<&'static MetricSpec> {
    SCORERS
        .iter()
        .flat_map(|s| s.metrics)
        .chain(RUN_METRICS)
        .find(|m| m.name == name)
}

/// The registry position of the first kind that reports metric `name` (`None` for
/// [`RUN_METRICS`] and unknown names): reports order tasks by it, summarization first.
pub fn kind_position(name: &str) -> Option<usize> {
    SCORERS
        .iter()
        .position(|s| s.metrics.iter().any(|m| m.name == name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn score_every_kind() -> Vec<(&'static TaskScorer, TaskScores)> {
        let labels = ["a".to_string(), "b".to_string()];
        let input = ScoreInput {
            references: &["a", "b", "b"],
            predictions: &["a", "a", "c"],
            labels: Some(&labels),
            options: ScoreOptions::default(),
        };
        SCORERS
            .iter()
            .map(|s| {
                (
                    s,
                    (s.score)(&input).unwrap_or_else(|e| panic!("{}: {e}", s.kind)),
                )
            })
            .collect()
    }

    #[test]
    fn every_scorer_reports_exactly_its_specs() {
        for (scorer, out) in score_every_kind() {
            let kind = scorer.kind;
            let declared: BTreeSet<&str> = scorer.metrics.iter().map(|m| m.name).collect();
            let reported: BTreeSet<&str> = out.metrics.keys().map(String::as_str).collect();
            assert_eq!(declared, reported, "{kind}");
            let resampled: BTreeSet<&str> = scorer
                .metrics
                .iter()
                .filter(|m| m.resample == Resample::ExampleMean)
                .map(|m| m.name)
                .collect();
            for example in &out.per_example {
                assert_eq!(
                    example.keys().map(String::as_str).collect::<BTreeSet<_>>(),
                    resampled,
                    "{kind}"
                );
            }
            assert_eq!((out.per_example.len(), out.labels.len()), (3, 3), "{kind}");
            let primary = metric_spec(scorer.primary)
                .unwrap_or_else(|| panic!("{kind}: primary has no spec"));
            assert!(
                declared.contains(primary.name) && primary.table,
                "{kind}: the primary metric is its own and tabled"
            );
            assert!(
                !scorer
                    .metrics
                    .iter()
                    .any(|m| m.resample == Resample::TokenWeighted),
                "{kind}: scorers record no token losses"
            );
        }
    }

    #[test]
    fn a_shared_metric_name_means_one_spec() {
        let all = SCORERS.iter().flat_map(|s| s.metrics).chain(RUN_METRICS);
        for spec in all {
            assert_eq!(
                metric_spec(spec.name),
                Some(spec),
                "{} is described twice, differently",
                spec.name
            );
            assert!(
                !spec.header.is_empty() && !spec.doc.is_empty() && spec.scale > 0.0,
                "{}",
                spec.name
            );
        }
        let kinds: BTreeSet<&str> = SCORERS.iter().map(|s| s.kind).collect();
        assert_eq!(kinds.len(), SCORERS.len(), "kinds are unique");
    }

    #[test]
    fn the_column_order_is_the_registry_order_then_test_loss() {
        let tabled: Vec<&str> = metric_specs()
            .into_iter()
            .filter(|m| m.table)
            .map(|m| m.name)
            .collect();
        assert_eq!(
            tabled,
            [
                "rouge1",
                "rouge2",
                "rougeL",
                "rougeLsum",
                "accuracy",
                "macro_f1",
                "test_loss"
            ]
        );
        assert_eq!(
            metric_specs().len(),
            8,
            "unparseable is described but not tabled"
        );
    }

    #[test]
    fn specs_say_how_each_metric_reads() {
        let rouge = metric_spec("rougeL").unwrap();
        assert_eq!(
            (rouge.header, rouge.scale, rouge.decimals, rouge.direction),
            ("R-L", 100.0, 2, Direction::Higher)
        );
        let loss = metric_spec("test_loss").unwrap();
        assert_eq!(
            (loss.header, loss.scale, loss.decimals),
            ("Test loss", 1.0, 3)
        );
        assert!(!loss.higher_is_better() && loss.resample == Resample::TokenWeighted);
        assert_eq!(metric_spec("macro_f1").unwrap().resample, Resample::MacroF1);
        assert_eq!(
            metric_spec("accuracy").unwrap().resample,
            Resample::ExampleMean
        );
        assert!(!metric_spec("unparseable").unwrap().table);
        assert_eq!(metric_spec("bleu"), None);
        assert_eq!(
            (kind_position("rouge2"), kind_position("macro_f1")),
            (Some(0), Some(1))
        );
        assert_eq!(
            (kind_position("test_loss"), kind_position("bleu")),
            (None, None)
        );
    }

    #[test]
    fn kinds_resolve_by_name_and_an_unknown_one_names_the_fix() {
        assert_eq!(scorer("summarization").unwrap().primary, "rougeL");
        assert_eq!(scorer("classification").unwrap().primary, "accuracy");
        let err = scorer("translation").unwrap_err();
        assert_eq!(
            err,
            MetricsError::UnknownTaskKind {
                kind: "translation".into(),
                known: "summarization, classification".into()
            }
        );
        let message = err.to_string();
        assert!(
            message.contains("`translation`")
                && message.contains("crates/metrics/src/scoring/mod.rs"),
            "{message}"
        );
        assert!(!message.contains('\n'));
    }
}
