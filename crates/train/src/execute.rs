//! Running one grid cell end to end: load, train, evaluate, record.

use crate::cell::Cell;
use crate::dir::RunDir;
use crate::files::ResultsWriteError;
use crate::config::{EvalSplit, RunConfig};
use crate::env;
use crate::progress::CellProgress;
use crate::resources::{Resources, Split};
use crate::eval::evaluate;
use crate::record::{RunResult, RunStatus, Timings, TrainSummary, RESULT_SCHEMA};
use crate::loss::target_loss_per_example;
use crate::train::{train, TrainJob};
use anyhow::{anyhow, bail, Context, Result};
use loran_adapters::AdapterSet;
use loran_datasets::{batches_in_order, tokenize_for_training, LoadedTask};
use loran_model::{LoadedModel, QuantMode};
use std::collections::HashMap;
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
        let job = TrainJob::new(&model, &set, examples, &cfg.train).seed(cfg.seed).pad_id(eos).prefix(prefix.as_deref());
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
            result.adapter_bytes = Some(dir.save_adapter(&set, &cfg.model)?);
        }
    }
    result.timings.train_s = t_train.elapsed().as_secs_f64();

    let t_eval = Instant::now();
    model.set_compute_dtype(cfg.eval_compute_dtype());
    if cfg.eval.split == EvalSplit::Validation {
        log.stage("validation loss");
        let loss = teacher_forced_loss(&model, &set, &loaded, &task, cfg, eos, resources, Split::Validation)
            .with_context(|| format!("the validation split of task `{}` (keys `data.validation_fraction`, `eval.split`)", cfg.task))?;
        log.line(&format!("  validation loss {:.4}", loss.mean));
        result.metrics.insert(VALIDATION_LOSS.into(), loss.mean);
        result.primary_metric = VALIDATION_LOSS.into();
        result.timings.test_loss_s = t_eval.elapsed().as_secs_f64();
        result.timings.eval_s = result.timings.test_loss_s;
        result.status = RunStatus::Ok;
        return Ok(());
    }
    let teacher_forced = if cfg.eval.test_loss {
        log.stage("test loss");
        let loss = teacher_forced_loss(&model, &set, &loaded, &task, cfg, eos, resources, Split::Test)?;
        log.line(&format!("  test loss {:.4}", loss.mean));
        result.timings.test_loss_s = t_eval.elapsed().as_secs_f64();
        Some(loss)
    } else {
        None
    };
    // Blocks below the lowest adapter stay the frozen base, whether merged or not;
    // without adapters every block is, and the cached prompts of other cells serve.
    let cut = set.lowest_layer().or(resources.base_prompt_cut(cfg)?);
    let mut set = set;
    if !set.is_empty() {
        // Exact for mergeable methods, and generation then runs at base-model speed.
        if let Err(why) = set.merge(&mut model) {
            log.line(&format!("{}: {why}; evaluating unmerged", cell.run_id));
        }
    }
    if cfg.quant != QuantMode::None {
        // Generation re-reads every weight per token: dequantize once. The dense copy
        // holds exactly the values the NF4 layers compute with, so scores are unchanged.
        dequantize_for_eval(&mut model)?;
    }
    let prompt_prefixes = match cut {
        Some(cut) if cut > 0 && cfg.train.cache_frozen_prefix => Some(resources.prompt_prefixes(cfg, cut)?),
        _ => None,
    };
    log.stage("generating");
    let mut on_example = |done: usize, total: usize| {
        log.stage(&format!("generated {done}/{total}"));
    };
    let mut eval = evaluate(&model, &loaded.tokenizer, &task, &cfg.eval, &limits, prompt_prefixes.as_deref(), &mut on_example)?;
    if let Some(loss) = &teacher_forced {
        // Same test examples: each prediction also keeps its share of the test loss.
        for p in &mut eval.predictions {
            if let Some(&(sum, tokens)) = loss.per_example.get(&p.id) {
                p.loss_sum = Some(sum);
                p.loss_tokens = Some(tokens);
            }
        }
    }
    dir.write_predictions(&eval.predictions)?;
    result.prediction_records = Some(eval.predictions.len());
    result.scorer_version = Some(eval.scorer_version);
    result.task_labels = task.kind.labels().map(<[String]>::to_vec);
    result.metrics = eval.metrics;
    if let Some(loss) = teacher_forced {
        result.metrics.insert("test_loss".into(), loss.mean);
    }
    result.primary_metric = eval.primary_metric;
    result.timings.eval_s = t_eval.elapsed().as_secs_f64();
    result.timings.generate_s = result.timings.eval_s - result.timings.test_loss_s;
    result.status = RunStatus::Ok;
    Ok(())
}

/// Replaces every quantized base linear by the dense weight it dequantizes to, and
/// widens a 16-bit embedding back to the compute dtype (exact).
fn dequantize_for_eval(model: &mut loran_model::Llama) -> Result<()> {
    model.set_embedding_dtype(model.dtype())?;
    let names: Vec<String> = model.linears().iter().map(|l| l.name().to_string()).collect();
    for name in names {
        let linear = model.linear_mut(&name).expect("a name of this model");
        if linear.base().is_quantized() {
            let weight = linear.base().weight()?;
            linear.base_mut().set_weight(weight)?;
        }
    }
    Ok(())
}

/// The metric a run evaluated on the validation split records (see [`EvalSplit`]).
pub const VALIDATION_LOSS: &str = "validation_loss";

/// Mean cross-entropy of the reference answers of the first `eval.max_examples` of
/// `task`'s `split` (test or validation) under teacher forcing (dropout off), in the same order as the
/// generation metrics. The frozen blocks below the adapters come from a prefix cache of
/// `split` shared by the cells of a grid.
#[allow(clippy::too_many_arguments)]
fn teacher_forced_loss(
    model: &loran_model::Llama,
    set: &AdapterSet,
    loaded: &LoadedModel,
    task: &LoadedTask,
    cfg: &RunConfig,
    eos: u32,
    resources: &mut Resources,
    split: Split,
) -> Result<TestLoss> {
    let split_examples = if split == Split::Validation { &task.splits.validation } else { &task.splits.test };
    if split_examples.is_empty() {
        bail!("the split has no examples");
    }
    let limits = cfg.train.token_limits();
    let examples = split_examples
        .iter()
        .take(cfg.eval.max_examples)
        .map(|ex| tokenize_for_training(&loaded.tokenizer, &task.template, ex, &limits, eos))
        .collect::<Result<Vec<_>, _>>()?;
    let cut = match set.lowest_layer() {
        Some(cut) => cut,
        None => resources.base_cut(cfg, split, model.config().num_hidden_layers)?,
    };
    let cache = if cut > 0 && cfg.train.cache_frozen_prefix { Some(resources.prefix(cfg, cut, split)?) } else { None };
    set.set_training(false);
    let mut per_example = vec![(0.0f64, 0usize); examples.len()];
    for batch in batches_in_order(&examples, cfg.eval.batch_size, eos) {
        for (i, sum, tokens) in target_loss_per_example(model, &batch, cache.as_deref().map(|c| (c, examples.as_slice())))? {
            per_example[i] = (sum, tokens);
        }
        crate::faults::point("eval-test-loss")?;
    }
    let (sum, count) = per_example.iter().fold((0.0, 0), |(s, n), (es, en)| (s + es, n + en));
    let ids = split_examples.iter().take(examples.len()).map(|ex| ex.id.clone());
    Ok(TestLoss { mean: sum / count.max(1) as f64, per_example: ids.zip(per_example).collect() })
}

/// The teacher-forced test loss and its per-example parts.
struct TestLoss {
    /// Mean cross-entropy per target token over all examples.
    mean: f64,
    /// Example id → (summed cross-entropy, target tokens).
    per_example: HashMap<String, (f64, usize)>,
}
