//! The training and evaluation setup of a table, read from its runs' own configs.
//!
//! Grid notes are written by hand and drift when a profile changes; these lines cannot,
//! because they come from `config.resolved.yaml` of the very runs the table counts. A
//! setting that differs between rows (a rank sweep's r, a tuned learning rate) is listed
//! with all its values.

use crate::LoadedRun;
use loran_train::config::RunConfig;
use std::collections::BTreeMap;

/// One line per task: model, steps, learning rate, batch, sequence length, adapted
/// modules, rank and α, test examples and seeds. Zero-shot runs count only for the model
/// and the test set; runs without a readable config are left out (none: no line).
pub fn setup_lines(runs: &[LoadedRun]) -> Vec<String> {
    let mut per_task: BTreeMap<&str, Vec<&LoadedRun>> = BTreeMap::new();
    for run in runs.iter().filter(|r| r.config.is_some()) {
        per_task.entry(run.result.task.as_str()).or_default().push(run);
    }
    per_task.into_iter().map(|(task, runs)| task_line(task, &runs)).collect()
}

fn task_line(task: &str, runs: &[&LoadedRun]) -> String {
    let config = |r: &&LoadedRun| -> RunConfig { r.config.clone().expect("filtered") };
    let all: Vec<RunConfig> = runs.iter().map(config).collect();
    let trained: Vec<RunConfig> = runs.iter().filter(|r| r.result.identity.method != "none").map(config).collect();
    let mut parts = vec![values(&all, |c| c.model.clone())];
    if !trained.is_empty() {
        parts.push(format!(
            "{} steps at lr {} (batch {}, ≤ {} tokens)",
            values(&trained, |c| c.train.steps.to_string()),
            values(&trained, |c| format!("{}", c.train.lr)),
            values(&trained, |c| c.train.batch_size.to_string()),
            values(&trained, |c| c.train.max_len.to_string()),
        ));
        parts.push(format!(
            "adapters on {} of {}, r {}, α {}",
            values(&trained, |c| c.adapter.targets.join("/")),
            values(&trained, |c| match &c.adapter.layers {
                Some(loran_adapters::config::LayerSelection::Last { last }) => format!("the last {last} layers"),
                Some(loran_adapters::config::LayerSelection::Indices(i)) => format!("layers {i:?}"),
                None => "every layer".to_string(),
            }),
            values(&trained, |c| c.adapter.r.to_string()),
            values(&trained, |c| format!("{}", c.adapter.alpha)),
        ));
    }
    let examples = values_of(runs.iter().map(|r| r.result.prediction_records.unwrap_or(r.config.as_ref().expect("filtered").eval.max_examples).to_string()));
    let mut seeds: Vec<u64> = runs.iter().map(|r| r.result.seed).collect();
    seeds.sort_unstable();
    seeds.dedup();
    parts.push(format!("{examples} test examples, seeds {seeds:?}"));
    format!("{task}: {}.", parts.join("; "))
}

/// The distinct values of `field`, in first-seen order: one value as is, several as `{a, b}`.
fn values(configs: &[RunConfig], field: impl Fn(&RunConfig) -> String) -> String {
    values_of(configs.iter().map(field))
}

fn values_of(items: impl Iterator<Item = String>) -> String {
    let mut seen: Vec<String> = Vec::new();
    for item in items {
        if !seen.contains(&item) {
            seen.push(item);
        }
    }
    match seen.as_slice() {
        [one] => one.clone(),
        many => format!("{{{}}}", many.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{result, with_identity};

    fn run(task: &str, method: &str, seed: u64, edit: impl Fn(&mut RunConfig)) -> LoadedRun {
        let mut config = RunConfig { task: task.into(), seed, ..RunConfig::default() };
        config.adapter.method = method.into();
        edit(&mut config);
        let mut result = with_identity(result("g", task, seed, &[("rougeL", 0.1)]), config.identity());
        result.prediction_records = Some(40);
        LoadedRun { dir: "x".into(), result, steps: Vec::new(), predictions: None, config: Some(config) }
    }

    #[test]
    fn one_line_per_task_with_every_value_that_differs_between_rows() {
        let runs = vec![
            run("news-standfirst", "none", 0, |_| {}),
            run("news-standfirst", "lora", 0, |c| (c.train.steps, c.train.lr, c.adapter.r) = (40, 0.01, 4)),
            run("news-standfirst", "lora", 1, |c| (c.train.steps, c.train.lr, c.adapter.r) = (40, 0.01, 64)),
            run("mailing-list-topics", "lora", 2, |c| (c.train.steps, c.train.lr) = (90, 0.03)),
        ];
        let lines = setup_lines(&runs);
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(lines[0].starts_with("mailing-list-topics: ") && lines[0].contains("90 steps at lr 0.03"), "{lines:?}");
        assert!(lines[0].ends_with("40 test examples, seeds [2]."), "{lines:?}");
        // The zero-shot run's default steps and lr are not training settings of this table.
        let news = &lines[1];
        assert!(news.contains("40 steps at lr 0.01") && news.contains(", r {4, 64},"), "{news}");
        assert!(news.contains("seeds [0, 1]"), "{news}");
        // A run without a readable config is left out rather than guessed.
        let mut blind = run("news-standfirst", "lora", 5, |_| {});
        blind.config = None;
        assert_eq!(setup_lines(&[blind]), Vec::<String>::new());
    }
}
