//! Scoring a trained adapter set as a run records it: the teacher-forced loss, then greedy
//! generation and the task's metrics. Training runs and `loran eval` (a saved adapter,
//! through [`score_saved`]) share it, so both give the same numbers.

use crate::config::{EvalSplit, RunConfig};
use crate::eval::evaluate;
use crate::execute::Log;
use crate::loss::target_loss_per_example;
use crate::record::PredictionRecord;
use crate::resources::{Resources, Split};
use anyhow::{anyhow, bail, Context, Result};
use loran_adapters::AdapterSet;
use loran_datasets::{batches_in_order, tokenize_for_training, LoadedTask};
use loran_model::LoadedModel;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::Instant;

/// The metric a run evaluated on the validation split records (see [`EvalSplit`]).
pub const VALIDATION_LOSS: &str = "validation_loss";

/// What scoring adds to a run's record.
#[derive(Debug, Clone)]
pub struct Scores {
    /// Metric name → value (`test_loss` and the task's metrics, or `validation_loss`).
    pub metrics: BTreeMap<String, f64>,
    /// The metric to show first.
    pub primary_metric: String,
    /// One record per scored test example, in test order (`None` on the validation split).
    pub predictions: Option<Vec<PredictionRecord>>,
    /// The version of the scorer (`None` on the validation split).
    pub scorer_version: Option<u32>,
    /// The task's labels, for classification tasks on the test split.
    pub task_labels: Option<Vec<String>>,
    /// Seconds until the teacher-forced loss was done.
    pub loss_s: f64,
    /// Seconds in all.
    pub total_s: f64,
}

/// A saved adapter scored: its [`Scores`] and the hash of the data they come from.
#[derive(Debug, Clone)]
pub struct SavedScores {
    /// The scores.
    pub scores: Scores,
    /// SHA-256 of the task data (as a run's `data_sha256`).
    pub data_sha256: String,
}

/// Loads `cfg.model` stored as `cfg.quant`, puts the adapter folder `adapter` on it
/// ([`loran_adapters::folder::load`]) and scores it on `cfg.task` with `cfg`'s data, token
/// and evaluation settings, exactly as a run with that config scores its trained set.
pub fn score_saved(cfg: &RunConfig, adapter: &Path, resources: &mut Resources, log: Log) -> Result<SavedScores> {
    let loaded = resources.model(&cfg.model, cfg.quant)?;
    let task = resources.task(&cfg.task, &cfg.data).with_context(|| format!("task `{}`", cfg.task))?;
    let mut model = loaded.model.clone();
    model.set_compute_dtype(cfg.train.compute_dtype);
    let set = loran_adapters::folder::load(adapter, &mut model, cfg.seed)
        .with_context(|| format!("loading adapter {} onto model `{}` (quant {})", adapter.display(), cfg.model, cfg.quant))?;
    let label = adapter.display().to_string();
    let scores = score(model, set, &loaded, &task, cfg, resources, log, &label)?;
    Ok(SavedScores { scores, data_sha256: task.data_sha256.clone() })
}

/// Scores `set` (attached to `model`, a clone of `loaded`'s) on `task` as `cfg` says:
/// the validation loss alone for `eval.split: validation`; else the test loss (when
/// `eval.test_loss`), then the generation metrics, with the set merged where it can be
/// and a quantized base dequantized (both exact). `label` names the set in log lines.
#[allow(clippy::too_many_arguments)]
pub fn score(
    mut model: loran_model::Llama,
    set: AdapterSet,
    loaded: &LoadedModel,
    task: &LoadedTask,
    cfg: &RunConfig,
    resources: &mut Resources,
    log: Log,
    label: &str,
) -> Result<Scores> {
    let t_eval = Instant::now();
    let eos = *model.config().eos_token_ids.first().ok_or_else(|| anyhow!("model `{}` declares no eos token", cfg.model))?;
    model.set_compute_dtype(cfg.eval_compute_dtype());
    if cfg.eval.split == EvalSplit::Validation {
        log.stage("validation loss");
        let loss = teacher_forced_loss(&model, &set, loaded, task, cfg, eos, resources, Split::Validation)
            .with_context(|| format!("the validation split of task `{}` (keys `data.validation_fraction`, `eval.split`)", cfg.task))?;
        log.line(&format!("  validation loss {:.4}", loss.mean));
        let loss_s = t_eval.elapsed().as_secs_f64();
        return Ok(Scores {
            metrics: BTreeMap::from([(VALIDATION_LOSS.to_string(), loss.mean)]),
            primary_metric: VALIDATION_LOSS.into(),
            predictions: None,
            scorer_version: None,
            task_labels: None,
            loss_s,
            total_s: loss_s,
        });
    }
    let mut loss_s = 0.0;
    let teacher_forced = if cfg.eval.test_loss {
        log.stage("test loss");
        let loss = teacher_forced_loss(&model, &set, loaded, task, cfg, eos, resources, Split::Test)?;
        log.line(&format!("  test loss {:.4}", loss.mean));
        loss_s = t_eval.elapsed().as_secs_f64();
        Some(loss)
    } else {
        None
    };
    // Blocks below the lowest adapter stay the frozen base, whether merged or not;
    // without adapters every block is, and the cached prompts of other cells serve.
    let cut = set.lowest_layer().or(resources.base_prompt_cut(cfg)?);
    let mut set = set;
    if let Some(why) = prepare_for_generation(&mut model, &mut set)? {
        log.line(&format!("{label}: {why}; evaluating unmerged"));
    }
    let prompt_prefixes = match cut {
        Some(cut) if cut > 0 && cfg.train.cache_frozen_prefix => Some(resources.prompt_prefixes(cfg, cut)?),
        _ => None,
    };
    log.stage("generating");
    let mut on_example = |done: usize, total: usize| {
        log.stage(&format!("generated {done}/{total}"));
    };
    let limits = cfg.train.token_limits();
    let mut eval = evaluate(&model, &loaded.tokenizer, task, &cfg.eval, &limits, prompt_prefixes.as_deref(), &mut on_example)?;
    let mut metrics = eval.metrics;
    if let Some(loss) = &teacher_forced {
        // Same test examples: each prediction also keeps its share of the test loss.
        for p in &mut eval.predictions {
            if let Some(&(sum, tokens)) = loss.per_example.get(&p.id) {
                p.loss_sum = Some(sum);
                p.loss_tokens = Some(tokens);
            }
        }
        metrics.insert("test_loss".into(), loss.mean);
    }
    Ok(Scores {
        metrics,
        primary_metric: eval.primary_metric,
        predictions: Some(eval.predictions),
        scorer_version: Some(eval.scorer_version),
        task_labels: task.kind.labels().map(<[String]>::to_vec),
        loss_s,
        total_s: t_eval.elapsed().as_secs_f64(),
    })
}

/// Makes `model`, carrying `set`, fast to generate with and leaves its outputs as they are:
/// merges the set where that is exact (generation then runs at base-model speed) and
/// dequantizes a quantized base once (generation re-reads every weight per token; the
/// dense copy holds exactly the values the NF4 layers compute with). Returns why the set
/// stays unmerged, if it does.
pub fn prepare_for_generation(model: &mut loran_model::Llama, set: &mut AdapterSet) -> Result<Option<String>> {
    let quantized = model.linears().iter().any(|l| l.base().is_quantized());
    let unmerged = if set.is_empty() { None } else { set.merge(model).err().map(|why| why.to_string()) };
    if quantized {
        dequantize_for_eval(model)?;
    }
    Ok(unmerged)
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
