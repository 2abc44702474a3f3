//! Running one grid cell end to end: load, train, evaluate, record.

use crate::cell::Cell;
use crate::dir::RunDir;
use crate::files::ResultsWriteError;
use crate::env;
use crate::progress::CellProgress;
use crate::resources::{Resources, Split};
use crate::score::score;
/// Where it was defined before scoring moved to [`crate::score`].
pub use crate::score::VALIDATION_LOSS;
use crate::record::{RunResult, RunStatus, Timings, TrainSummary, RESULT_SCHEMA};
use crate::train::{train, TrainJob};
use anyhow::{anyhow, Context, Result};
use loran_adapters::AdapterSet;
use loran_datasets::tokenize_for_training;
use std::path::Path;
use std::time::Instant;

/// Where a run reports its progress (the grid runner decides where it goes).
pub type Log<'a> = &'a mut dyn CellProgress;

/// Runs `cell` and records it under `grid_dir`; an error becomes a `failed` result,
/// except a failed write to the results folder ([`ResultsWriteError`]), which is
/// returned: the cell cannot be recorded, and nor could the next ones; and except a stop
/// request ([`crate::stop::Stopped`]), returned with no `result.json`, so the cell is redone.
pub fn run_cell(cell: &Cell, grid_name: &str, grid_dir: &Path, resources: &mut Resources, log: Log) -> Result<RunResult> {
    let dir = RunDir::new(grid_dir, &cell.run_id);
    let start = Instant::now();
    let mut result = RunResult {
        schema: RESULT_SCHEMA,
        status: RunStatus::Failed,
        grid: grid_name.to_string(),
        run_id: cell.run_id.clone(),
        group: cell.group.clone(),
        config_hash: cell.config_hash.clone(),
        seed: cell.config.seed,
        task: cell.config.task.clone(),
        method: cell.config.method_label(),
        identity: cell.config.identity(),
        labels: cell.labels.iter().cloned().collect(),
        metrics: Default::default(),
        primary_metric: String::new(),
        train: TrainSummary { final_loss: f64::NAN, ..TrainSummary::default() },
        timings: Timings::default(),
        peak_rss_mb: 0.0,
        threads: env::threads(),
        versions: env::versions(),
        git: env::git_revision(),
        data_sha256: String::new(),
        error: None,
        finished_at: String::new(),
        warnings: cell.config.adapter.warnings(),
        reused_from: None,
        step_records: None,
        prediction_records: None,
        scorer_version: None,
        task_labels: None,
        adapter_bytes: None,
    };
    if let Err(e) = execute(cell, &dir, resources, &mut result, log) {
        if e.chain().any(|c| c.is::<ResultsWriteError>() || c.is::<crate::stop::Stopped>()) {
            return Err(e);
        }
        result.status = RunStatus::Failed;
        result.error = Some(loran_io::chain_line(&*e));
    }
    result.timings.total_s = start.elapsed().as_secs_f64();
    result.peak_rss_mb = env::peak_rss_mb();
    result.finished_at = env::now_rfc3339();
    dir.write_result(&result)?;
    Ok(result)
}

fn execute(cell: &Cell, dir: &RunDir, resources: &mut Resources, result: &mut RunResult, log: Log) -> Result<()> {
    let cfg = &cell.config;
    let yaml = serde_saphyr::to_string(cfg).map_err(|e| anyhow!("serializing the resolved config: {e}"))?;
    dir.start(&yaml)?;
    result.step_records = Some(0);
    let t_load = Instant::now();
    log.stage("loading the model and data");
    let loaded = resources.model(&cfg.model, cfg.quant)?;
    let task = resources.task(&cfg.task, &cfg.data).with_context(|| format!("task `{}` (keys `task`, `data`)", cfg.task))?;
    result.data_sha256 = task.data_sha256.clone();
    let mut model = loaded.model.clone();
    model.set_compute_dtype(cfg.train.compute_dtype);
    let eos = *model.config().eos_token_ids.first().ok_or_else(|| anyhow!("model `{}` declares no eos token", cfg.model))?;
    let limits = cfg.train.token_limits();
    let base = model.clone();
    let set = AdapterSet::attach(&mut model, &cfg.adapter, cfg.seed)?;
    result.train.trainable_params = set.num_parameters() as u64;
    result.timings.load_s = t_load.elapsed().as_secs_f64();

    let t_train = Instant::now();
    if !set.is_empty() && cfg.train.steps > 0 {
        let examples = task
            .splits
            .train
            .iter()
            .map(|ex| tokenize_for_training(&loaded.tokenizer, &task.template, ex, &limits, eos))
            .collect::<Result<Vec<_>, _>>()?;
        log.line(&format!("{}: training {} steps on {} examples, {} trainable params", cell.run_id, cfg.train.steps, examples.len(), set.num_parameters()));
        let prefix = match set.lowest_layer() {
            Some(cut) if cut > 0 && cfg.train.cache_frozen_prefix => {
                log.stage("frozen prefix of the training examples");
                Some(resources.prefix(cfg, cut, Split::Train)?)
            }
            _ => None,
        };
        let mut logged = 0;
        let mut on_step = |r: &crate::record::StepRecord| -> Result<()> {
            dir.append_step(r)?;
            logged += 1;
            log.step(r, cfg.train.steps);
            Ok(())
        };
        let job = TrainJob::new(&model, &set, examples, &cfg.train).seed(cfg.seed).pad_id(eos).prefix(prefix.as_deref()).base(Some(&base));
        let trained = train(job, &mut on_step);
        result.step_records = Some(logged);
        let outcome = trained?;
        result.train.steps = outcome.steps;
        result.train.final_loss = outcome.final_loss;
        result.train.target_tokens = outcome.target_tokens;
        if let Some(why) = outcome.diverged {
            result.status = RunStatus::Diverged;
            result.error = Some(why);
            result.timings.train_s = t_train.elapsed().as_secs_f64();
            return Ok(());
        }
        if cfg.train.save_adapter {
            // Before evaluation merges it, and before result.json marks the run finished.
            let (bytes, skipped) = dir.save_adapter(&set, &model, &cfg.model, cfg.quant)?;
            result.adapter_bytes = Some(bytes);
            result.warnings.extend(skipped);
        }
    }
    result.timings.train_s = t_train.elapsed().as_secs_f64();

    let t_eval = Instant::now();
    let scores = score(model, set, &loaded, &task, cfg, resources, log, &cell.run_id)?;
    if let Some(predictions) = &scores.predictions {
        dir.write_predictions(predictions)?;
        result.prediction_records = Some(predictions.len());
    }
    result.scorer_version = scores.scorer_version;
    result.task_labels = scores.task_labels;
    result.metrics = scores.metrics;
    result.primary_metric = scores.primary_metric;
    result.timings.test_loss_s = scores.loss_s;
    if scores.predictions.is_some() {
        result.timings.eval_s = t_eval.elapsed().as_secs_f64();
        result.timings.generate_s = result.timings.eval_s - result.timings.test_loss_s;
    } else {
        result.timings.eval_s = scores.total_s;
    }
    result.status = RunStatus::Ok;
    Ok(())
}
