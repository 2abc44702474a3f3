//! `loran eval --adapter DIR`: scores a saved adapter on a task's test split as its run
//! did ([`loran_train::score::score_saved`], the code a run scores with), so a run's
//! `adapter/` gives back its `result.json` metrics and its predictions.
//!
//! When DIR sits in a run folder (`DIR/../config.resolved.yaml`), the run's config gives
//! the task, model, quantization, data, token and evaluation settings; otherwise `--task`
//! names the task, run with its default settings, on the base model the adapter records.

use anyhow::{anyhow, bail, Context, Result};
use clap::Args;
use loran_adapters::folder;
use loran_model::QuantMode;
use loran_train::config::RunConfig;
use loran_train::dir::{read_config, RunDir, CONFIG_FILE};
use loran_train::record::PredictionRecord;
use loran_train::resources::Resources;
use loran_train::score::{score_saved, SavedScores};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Arguments of `loran eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Adapter folder: a run's `adapter/`, a PEFT LoRA/DoRA folder or the LoRAN fork's MLORA folder.
    #[arg(long)]
    adapter: PathBuf,
    /// Task registry key (default: the run's task; required outside a run folder).
    #[arg(long)]
    task: Option<String>,
    /// Base model (default: the run's, else the one the adapter records).
    #[arg(long)]
    model: Option<String>,
    /// Storage of the base's linears: none, nf4 or nf4-dq (default: the run's, else the
    /// adapter's record, else none). Another value than the run's gives other numbers.
    #[arg(long)]
    quant: Option<QuantMode>,
    /// Also write the metrics and predictions to this JSON file.
    #[arg(long)]
    out: Option<PathBuf>,
}

/// What `--out` holds.
#[derive(Debug, Serialize)]
pub struct EvalReport {
    /// The adapter folder.
    pub adapter: String,
    /// Its layout (`loran-lab`, `PEFT`, `MLORA`).
    pub layout: String,
    /// Base model.
    pub model: String,
    /// Storage of the base's linears.
    pub quant: QuantMode,
    /// Task.
    pub task: String,
    /// SHA-256 of the task data (as a run's `data_sha256`).
    pub data_sha256: String,
    /// The metric shown first.
    pub primary_metric: String,
    /// Metric name → value (as `result.json`'s `metrics`).
    pub metrics: BTreeMap<String, f64>,
    /// One record per scored example (as the run's `predictions.jsonl`).
    pub predictions: Vec<PredictionRecord>,
}

/// Runs the command.
pub fn run(args: EvalArgs) -> Result<()> {
    let layout = folder::detect(&args.adapter).map_err(|e| anyhow!("--adapter: {e}"))?;
    let run_dir = args.adapter.parent().filter(|p| p.join(CONFIG_FILE).is_file());
    let cfg = match run_dir {
        Some(run) => run_settings(&args, run)?,
        None => default_settings(&args)?,
    };
    let mut resources = Resources::new(loran_assets::Store::from_env());
    let mut log = |line: &str| eprintln!("{line}");
    let SavedScores { scores, data_sha256 } = score_saved(&cfg, &args.adapter, &mut resources, &mut log)?;
    for (name, value) in &scores.metrics {
        println!("{name}: {value}");
    }
    if let Some(run) = run_dir {
        compare_with_run(run, &scores.metrics);
    }
    if let Some(out) = &args.out {
        let report = EvalReport {
            adapter: args.adapter.display().to_string(),
            layout: layout.name().into(),
            model: cfg.model.clone(),
            quant: cfg.quant,
            task: cfg.task.clone(),
            data_sha256,
            primary_metric: scores.primary_metric,
            metrics: scores.metrics,
            predictions: scores.predictions.unwrap_or_default(),
        };
        let text = serde_json::to_string_pretty(&report)?;
        loran_io::write_atomic(out, text.as_bytes()).with_context(|| format!("--out {}: cannot write", out.display()))?;
        eprintln!("wrote {}", out.display());
    }
    Ok(())
}

/// The run's config, checked against the flags: a run is scored on its own task and model.
fn run_settings(args: &EvalArgs, run: &Path) -> Result<RunConfig> {
    let mut cfg = read_config(run)?;
    let path = run.join(CONFIG_FILE);
    if let Some(task) = args.task.as_ref().filter(|t| **t != cfg.task) {
        bail!("--task {task}: the run in {} was trained and scored on task `{}` ({}); drop --task or pass --task {}", run.display(), cfg.task, path.display(), cfg.task);
    }
    if let Some(model) = args.model.as_ref().filter(|m| **m != cfg.model) {
        bail!("--model {model}: the adapter in {} was trained on `{}` ({}); drop --model or pass --model {}", run.display(), cfg.model, path.display(), cfg.model);
    }
    if let Some(quant) = args.quant.filter(|q| *q != cfg.quant) {
        eprintln!("note: --quant {quant} replaces the run's quant {}: the numbers will differ from its result.json", cfg.quant);
        cfg.quant = quant;
    }
    eprintln!("settings from {}: task `{}`, model `{}`, quant {}, its data and eval settings", path.display(), cfg.task, cfg.model, cfg.quant);
    Ok(cfg)
}

/// Outside a run folder: `--task` with its default settings, on the recorded base.
fn default_settings(args: &EvalArgs) -> Result<RunConfig> {
    let dir = args.adapter.display();
    let Some(task) = args.task.clone() else {
        bail!("--task is required: {dir} is not a run's adapter (no ../{CONFIG_FILE} beside it)");
    };
    let recorded = folder::recorded_base(&args.adapter).map_err(|e| anyhow!("--adapter: {e}"))?;
    let Some(model) = args.model.clone().or(recorded.model) else {
        bail!("--model is required: {dir} records no base model");
    };
    let quant = args.quant.or(recorded.quant).unwrap_or_default();
    eprintln!("{dir} is not in a run folder: task `{task}` with its default data and eval settings, model `{model}`, quant {quant}");
    Ok(RunConfig { task, model, quant, ..RunConfig::default() })
}

/// Says on stderr whether the metrics equal those the run recorded in `result.json`.
fn compare_with_run(run: &Path, metrics: &BTreeMap<String, f64>) {
    let dir = RunDir::at(run);
    let path = dir.result_path();
    let Some(recorded) = dir.read_result() else {
        return;
    };
    if recorded.metrics == *metrics {
        eprintln!("every metric equals {}", path.display());
    } else {
        eprintln!("note: the metrics differ from {}: {:?}", path.display(), recorded.metrics);
    }
}
