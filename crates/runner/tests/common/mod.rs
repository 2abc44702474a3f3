//! Helpers shared by the runner's integration tests (each test file uses some of them).
#![allow(dead_code)]

pub mod grid_cli;

use loran_datasets::TokenizedExample;

/// Six tokenized examples of growing length (9, 12, …, 24 tokens), the last 4 tokens the target.
pub fn examples() -> Vec<TokenizedExample> {
    (0..6)
        .map(|i| {
            let len = 9 + 3 * i;
            let input_ids: Vec<u32> = (0..len).map(|t| ((i * 31 + t * 17 + 5) % 260) as u32).collect();
            let prompt_len = len - 4;
            let mut loss_mask = vec![0u8; prompt_len];
            loss_mask.resize(len, 1);
            TokenizedExample { input_ids, loss_mask, prompt_len }
        })
        .collect()
}

/// The identity (at the default rank, α and learning rate) whose method label is `label`,
/// found by trying every registered method, quantization and activation: the fixtures
/// name their rows by label, and the report reads the fields.
pub fn identity_labelled(label: &str) -> loran_train::record::RunIdentity {
    use loran_adapters::activations::ACTIVATIONS;
    use loran_adapters::ActivationConfig;
    use loran_model::QuantMode;
    use loran_train::config::RunConfig;
    for method in loran_adapters::METHODS {
        for quant in QuantMode::ALL {
            for activation in ACTIVATIONS {
                let mut cfg = RunConfig { quant, ..RunConfig::default() };
                cfg.adapter.method = method.name.into();
                cfg.adapter = cfg.adapter.with("activation", ActivationConfig::named(activation.name).unwrap()).unwrap();
                if cfg.method_label() == label {
                    return cfg.identity();
                }
            }
        }
    }
    panic!("no method, quantization and activation make the label `{label}`")
}

/// A finished (`ok`) `result.json` of grid `grid` for `task` / `method` (a label, see
/// [`identity_labelled`]) at `seed`, with `metrics`, its `primary` metric and
/// `trainable_params`; ids derive from the group `<task>-<slug>` and `tag`.
#[allow(clippy::too_many_arguments)]
pub fn ok_result(
    grid: &str,
    slug: &str,
    tag: &str,
    task: &str,
    method: &str,
    seed: u64,
    metrics: std::collections::BTreeMap<String, f64>,
    primary: &str,
    trainable_params: u64,
) -> loran_train::record::RunResult {
    use loran_train::record::{RunResult, RunStatus, Timings, TrainSummary, RESULT_SCHEMA};
    let group = format!("{task}-{slug}");
    RunResult {
        schema: RESULT_SCHEMA,
        status: RunStatus::Ok,
        grid: grid.into(),
        run_id: format!("{group}-s{seed}-{tag}"),
        group,
        config_hash: format!("{tag:0>64}"),
        seed,
        task: task.into(),
        method: method.into(),
        identity: identity_labelled(method),
        labels: Default::default(),
        metrics,
        primary_metric: primary.into(),
        train: TrainSummary { steps: 4, final_loss: 1.0, target_tokens: 10, trainable_params },
        timings: Timings { load_s: 0.0, train_s: 1.0, eval_s: 1.0, total_s: 2.0, ..Timings::default() },
        peak_rss_mb: 100.0,
        threads: 2,
        versions: Default::default(),
        git: "abc".into(),
        data_sha256: "d".into(),
        error: None,
        finished_at: "2026-01-01T00:00:00Z".into(),
        warnings: Vec::new(),
        reused_from: None,
        step_records: None,
        prediction_records: None,
        // As today's scorers write them (any version at least theirs).
        scorer_version: Some(u32::MAX),
        task_labels: None,
        adapter_bytes: None,
    }
}
