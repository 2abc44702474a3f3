//! `loran-bench train`: LoRA training speed (ms/step, tokens/s), printed, never asserted.

use loran_runner::cli::ModelArgs;
use anyhow::{Context, Result};
use clap::Args;
use loran_adapters::{AdapterConfig, AdapterSet, LayerSelection};
use loran_datasets::TokenizedExample;
use loran_runner::grid::read_grid;
use loran_train::config::TrainConfig;
use loran_train::prefix::PrefixCache;
use loran_train::train::{train, TrainJob};
use std::path::PathBuf;

/// Arguments of `loran-bench train`.
#[derive(Debug, Args)]
pub struct BenchTrainArgs {
    #[command(flatten)]
    model: ModelArgs,
    /// Also time the adapter and train settings of this grid's `base`.
    #[arg(long)]
    grid: Vec<PathBuf>,
    /// Timed steps per setting (after 2 warm-up steps).
    #[arg(long, default_value_t = 5)]
    steps: usize,
}

/// Synthetic sequences of `len` tokens whose last quarter is the scored target.
pub fn synthetic(n: usize, len: usize, vocab: u32) -> Vec<TokenizedExample> {
    (0..n)
        .map(|i| {
            let input_ids: Vec<u32> = (0..len).map(|t| ((i * 7919 + t * 104_729 + 13) as u32) % vocab).collect();
            let prompt_len = len - len / 4;
            let mut loss_mask = vec![0u8; prompt_len];
            loss_mask.resize(len, 1);
            TokenizedExample { input_ids, loss_mask, prompt_len }
        })
        .collect()
}

fn time_setting(label: &str, model: &loran_model::Llama, adapter: &AdapterConfig, train_cfg: &TrainConfig, timed: usize) -> Result<()> {
    let mut model = model.clone();
    let set = AdapterSet::attach(&mut model, adapter, 0)?;
    let warmup = 2;
    let cfg = TrainConfig { steps: warmup + timed, ..train_cfg.clone() };
    let vocab = model.config().vocab_size as u32;
    // Fresh examples every step: every block is computed (a first epoch).
    let cold = synthetic(cfg.batch_size * cfg.steps, cfg.max_len, vocab);
    report(&format!("{label}, every block each step"), &model, &set, adapter, &cfg, cold, None, warmup, timed)?;
    if let Some(cut) = set.lowest_layer().filter(|&c| c > 0) {
        // The same examples again: after warm-up the frozen prefix comes from the cache.
        let pool = synthetic(cfg.batch_size * warmup, cfg.max_len, vocab);
        let cache = PrefixCache::new(cut);
        report(&format!("{label}, frozen blocks 0..{cut} cached"), &model, &set, adapter, &cfg, pool, Some(&cache), warmup, timed)?;
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn report(
    label: &str,
    model: &loran_model::Llama,
    set: &AdapterSet,
    adapter: &AdapterConfig,
    cfg: &TrainConfig,
    examples: Vec<TokenizedExample>,
    prefix: Option<&PrefixCache>,
    warmup: usize,
    timed: usize,
) -> Result<()> {
    let mut marks = Vec::new();
    train(TrainJob::new(model, set, examples, cfg).prefix(prefix), &mut |r| {
        marks.push(r.elapsed_s);
        Ok(())
    })?;
    let per_step = (marks[marks.len() - 1] - marks[warmup - 1]) / timed as f64;
    let tokens = (cfg.batch_size * cfg.max_len) as f64;
    println!(
        "{label}: batch {}x{}, r={}, targets [{}], layers {}, {} trainable params -> {:.0} ms/step, {:.0} tokens/s ({} timed steps, {} threads)",
        cfg.batch_size,
        cfg.max_len,
        adapter.r,
        adapter.targets.join(", "),
        match &adapter.layers {
            None => "all".to_string(),
            Some(LayerSelection::Last { last }) => format!("last {last}"),
            Some(LayerSelection::Indices(v)) => format!("{v:?}"),
        },
        set.num_parameters(),
        per_step * 1000.0,
        tokens / per_step,
        timed,
        candle_core::utils::get_num_threads()
    );
    Ok(())
}

/// Runs the command.
pub fn run(args: BenchTrainArgs) -> Result<()> {
    let loaded = args.model.load()?;
    let all_linears = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"];
    let reference = AdapterConfig {
        r: 8,
        alpha: 16.0,
        dropout: 0.0,
        targets: all_linears.iter().map(|s| s.to_string()).collect(),
        ..AdapterConfig::default()
    };
    let reference_train = TrainConfig { batch_size: 8, max_len: 128, max_target_tokens: 32, ..TrainConfig::default() };
    time_setting("reference (LoRA r=8, all linears)", &loaded.model, &reference, &reference_train, args.steps)?;
    for path in &args.grid {
        let grid = read_grid(path).with_context(|| format!("reading {}", path.display()))?;
        let base = &grid.spec.base;
        let adapter = if base.adapter.method == "none" { AdapterConfig { method: "lora".into(), ..base.adapter.clone() } } else { base.adapter.clone() };
        time_setting(&format!("{} base", grid.spec.name), &loaded.model, &adapter, &base.train, args.steps)?;
    }
    Ok(())
}
