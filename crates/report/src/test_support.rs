//! Fixtures for the report's unit tests: synthetic run records and run folders.

use loran_train::identity::QuantMode;
use loran_train::config::RunConfig;
use loran_train::record::{RunIdentity, RunResult, RunStatus, StepRecord, Timings, TrainSummary, RESULT_SCHEMA};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The identity of a run of `method` (registry name) over a `quant` base, with LoRAN's
/// `activation` (ignored by other methods), at the default rank, α and learning rate.
pub fn identity(method: &str, quant: QuantMode, activation: &str) -> RunIdentity {
    let mut cfg = RunConfig { quant, ..RunConfig::default() };
    cfg.adapter.method = method.into();
    cfg.adapter = cfg.adapter.with("activation", loran_adapters::ActivationConfig::named(activation).unwrap()).unwrap();
    cfg.identity()
}

/// `run` with `identity` and the label it makes.
pub fn with_identity(mut run: RunResult, identity: RunIdentity) -> RunResult {
    run.method = identity.method_label();
    run.identity = identity;
    run
}

/// A `result.json` of a LoRA run (the default config) for `group` / `seed` with the given
/// metrics; [`with_identity`] makes it another method's.
pub fn result(group: &str, task: &str, seed: u64, metrics: &[(&str, f64)]) -> RunResult {
    RunResult {
        schema: RESULT_SCHEMA,
        status: RunStatus::Ok,
        grid: "unit".into(),
        run_id: format!("{group}-s{seed}-0000abcd"),
        group: group.into(),
        config_hash: "c0ffee".into(),
        seed,
        task: task.into(),
        method: "lora".into(),
        identity: RunConfig::default().identity(),
        labels: BTreeMap::new(),
        metrics: metrics.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
        primary_metric: metrics.first().map(|m| m.0).unwrap_or("accuracy").into(),
        train: TrainSummary {
            steps: 4,
            final_loss: 1.25,
            target_tokens: 100,
            trainable_params: 4096,
        },
        timings: Timings {
            load_s: 0.5,
            train_s: 10.0,
            eval_s: 2.0,
            total_s: 12.5,
            ..Timings::default()
        },
        peak_rss_mb: 512.0,
        threads: 2,
        versions: BTreeMap::new(),
        git: "abc123".into(),
        data_sha256: "d474".into(),
        error: None,
        finished_at: "2025-01-01T00:00:00Z".into(),
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

/// Four decreasing loss steps.
pub fn steps() -> Vec<StepRecord> {
    (1..=4)
        .map(|step| StepRecord {
            step,
            loss: 3.0 - 0.5 * step as f64,
            lr: 1e-4,
            grad_norm: 1.0,
            tokens: 25,
            elapsed_s: step as f64,
            base_loss: Some(3.0),
        })
        .collect()
}

/// Writes `runs/<run_id>/result.json` and `metrics.jsonl` under `grid`; returns the folder.
pub fn write_run(grid: &Path, result: &RunResult, steps: &[StepRecord]) -> PathBuf {
    let dir = grid.join("runs").join(&result.run_id);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("result.json"),
        serde_json::to_string_pretty(result).unwrap(),
    )
    .unwrap();
    let lines: Vec<String> = steps
        .iter()
        .map(|s| serde_json::to_string(s).unwrap())
        .collect();
    std::fs::write(dir.join("metrics.jsonl"), lines.join("\n") + "\n").unwrap();
    dir
}

/// An `ok` run of `identity` (a main table's row) on `task` at `seed` that trained
/// `params` parameters, with one metric: `rougeL` for `news`, else `accuracy`.
pub fn method_run(identity: &RunIdentity, task: &str, seed: u64, params: u64, score: f64) -> RunResult {
    let slug: String = identity.method_label().chars().map(|c| if c.is_ascii_alphanumeric() || c == '+' { c } else { '-' }).collect();
    let metric = if task == "news" { "rougeL" } else { "accuracy" };
    let mut run = with_identity(result(&format!("{task}-{slug}"), task, seed, &[(metric, score)]), identity.clone());
    run.train.trainable_params = params;
    run
}

/// Runs of a small main table: zero-shot (0 parameters), `lora` (the baseline),
/// `nolora-style (reconstructed)`, `na-lora-style+nf4 (reconstructed)` (fewer parameters on
/// `news` than on `mail`) and `dora` (whose seeds disagree), on `news` and `mail`.
pub fn table_runs(grid: &Path) -> Vec<crate::LoadedRun> {
    let rows: [(&str, QuantMode, [u64; 2], [u64; 2]); 5] = [
        ("none", QuantMode::None, [0, 0], [0, 0]),
        ("lora", QuantMode::None, [258_048, 258_048], [258_048, 258_048]),
        ("nolora", QuantMode::None, [258_624, 258_624], [258_624, 258_624]),
        ("na-lora", QuantMode::Nf4, [258_048, 258_048], [262_144, 262_144]),
        ("dora", QuantMode::None, [267_264, 267_300], [267_264, 267_300]),
    ];
    for (i, (method, quant, news, mail)) in rows.iter().enumerate() {
        let identity = identity(method, *quant, "sinter");
        for seed in 0..2 {
            let score = 0.1 * i as f64 + 0.01 * seed as f64;
            write_run(grid, &method_run(&identity, "news", seed, news[seed as usize], score), &[]);
            write_run(grid, &method_run(&identity, "mail", seed, mail[seed as usize], score), &[]);
        }
    }
    crate::load_runs(grid).unwrap()
}

/// Writes a run of `identity` on `news` at `seed` with per-example ROUGE-L `values` (ids
/// `ex-00`, …), named by `group`; a `diverged` run has no metrics and no predictions.
pub fn write_scored_run(grid: &Path, identity: &RunIdentity, group: &str, seed: u64, values: &[f64], diverged: bool) {
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    let mut r = with_identity(result(group, "news", seed, &[("rougeL", mean)]), identity.clone());
    if diverged {
        r.status = RunStatus::Diverged;
        r.metrics.clear();
        write_run(grid, &r, &[]);
        return;
    }
    let dir = write_run(grid, &r, &[]);
    let lines: String = values
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let scores = BTreeMap::from([("rougeL".to_string(), v)]);
            let record = loran_train::record::PredictionRecord { id: format!("ex-{i:02}"), target: "t".into(), prediction: "p".into(), score: v, scores, label: None, loss_sum: None, loss_tokens: None };
            serde_json::to_string(&record).unwrap() + "\n"
        })
        .collect();
    std::fs::write(dir.join("predictions.jsonl"), lines).unwrap();
}
