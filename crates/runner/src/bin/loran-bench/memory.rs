//! `loran-bench memory`: peak resident memory of LoRA training over an f32 base
//! against QLoRA (the same LoRA over an NF4 base). Each setting runs in its own
//! child process (this binary again), so neither inherits the other's heap.
//! Figures are printed, never asserted.

use crate::train::synthetic;
use loran_runner::cli::ModelArgs;
use anyhow::{bail, Context, Result};
use clap::Args;
use loran_adapters::{AdapterConfig, AdapterSet};
use loran_model::QuantMode;
use loran_train::config::TrainConfig;
use loran_train::env;
use loran_train::train::{train, TrainJob};
use serde::{Deserialize, Serialize};

/// Arguments of `loran-bench memory`.
#[derive(Debug, Args)]
pub struct BenchMemoryArgs {
    #[command(flatten)]
    model: ModelArgs,
    /// Training steps measured per setting.
    #[arg(long, default_value_t = 3)]
    steps: usize,
    /// Examples per step.
    #[arg(long, default_value_t = 4)]
    batch: usize,
    /// Tokens per example.
    #[arg(long, default_value_t = 128)]
    seq: usize,
    /// Adapt only the top N decoder layers (PEFT `layers_to_transform`; default: all).
    #[arg(long)]
    last: Option<usize>,
    /// Recompute block activations in the backward pass (activation checkpointing).
    #[arg(long)]
    checkpointing: bool,
    /// Arithmetic of the frozen matmuls (`f32` or `bf16`; bf16 packs count in the RSS).
    #[arg(long, default_value = "f32", value_parser = parse_compute)]
    compute_dtype: loran_model::ComputeDtype,
    /// Internal: run one setting (`none`, `nf4`, `nf4-dq`) and print its figures as JSON.
    #[arg(long, hide = true)]
    child: Option<String>,
}

/// What one child measured, MiB.
#[derive(Debug, Serialize, Deserialize)]
struct Measured {
    quant: String,
    after_load_rss_mb: f64,
    load_peak_mb: f64,
    train_peak_mb: f64,
    linear_weight_mb: f64,
    bits_per_linear_param: f64,
    embedding_mb: f64,
    embedding_dtype: String,
    peak_reset: bool,
}

fn parse_compute(name: &str) -> Result<loran_model::ComputeDtype> {
    serde_json::from_value(serde_json::Value::String(name.to_string())).with_context(|| format!("--compute-dtype `{name}`: expected f32 or bf16"))
}

fn parse_quant(name: &str) -> Result<QuantMode> {
    serde_json::from_value(serde_json::Value::String(name.to_string()))
        .with_context(|| format!("--child `{name}`: expected none, nf4 or nf4-dq"))
}

fn child(args: &BenchMemoryArgs, quant_name: &str) -> Result<Measured> {
    let quant = parse_quant(quant_name)?;
    let loaded = args.model.load()?;
    let mut model = loaded.model.clone();
    drop(loaded);
    model.quantize_for_qlora(quant)?;
    loran_train::alloc::release_free_memory();
    let bytes = model.linear_storage_bytes();
    let embedding_bytes = model.config().vocab_size * model.config().hidden_size * model.embedding_dtype().size_in_bytes();
    let embedding_dtype = format!("{:?}", model.embedding_dtype()).to_lowercase();
    let params: usize = model.linears().iter().map(|l| l.base().in_features() * l.base().out_features()).sum();
    let after_load_rss_mb = env::rss_mb();
    let load_peak_mb = env::peak_rss_mb();
    let peak_reset = env::reset_peak_rss();
    let adapter = AdapterConfig {
        method: "lora".into(),
        r: 64,
        alpha: 16.0,
        dropout: 0.2,
        layers: args.last.map(|last| loran_adapters::LayerSelection::Last { last }),
        ..AdapterConfig::default()
    };
    let set = AdapterSet::attach(&mut model, &adapter, 0)?;
    let cfg = TrainConfig {
        steps: args.steps,
        batch_size: args.batch,
        max_len: args.seq,
        max_target_tokens: args.seq / 4,
        cache_frozen_prefix: false,
        gradient_checkpointing: args.checkpointing,
        compute_dtype: args.compute_dtype,
        ..TrainConfig::default()
    };
    model.set_compute_dtype(args.compute_dtype);
    let examples = synthetic(cfg.batch_size * cfg.steps, cfg.max_len, model.config().vocab_size as u32);
    train(TrainJob::new(&model, &set, examples, &cfg), &mut |r| {
        eprintln!("  [{quant_name}] step {}: RSS {:.0} MiB, peak {:.0} MiB", r.step, env::rss_mb(), env::peak_rss_mb());
        Ok(())
    })?;
    Ok(Measured {
        quant: quant_name.to_string(),
        after_load_rss_mb,
        load_peak_mb,
        train_peak_mb: env::peak_rss_mb(),
        linear_weight_mb: bytes as f64 / (1024.0 * 1024.0),
        bits_per_linear_param: 8.0 * bytes as f64 / params as f64,
        embedding_mb: embedding_bytes as f64 / (1024.0 * 1024.0),
        embedding_dtype,
        peak_reset,
    })
}

fn spawn(args: &BenchMemoryArgs, quant: &str) -> Result<Measured> {
    let exe = std::env::current_exe().context("finding the loran-bench binary")?;
    let mut cmd = std::process::Command::new(exe);
    cmd.args(["memory", "--child", quant, "--model", args.model.name()]);
    cmd.args(["--steps", &args.steps.to_string(), "--batch", &args.batch.to_string(), "--seq", &args.seq.to_string()]);
    if let Some(last) = args.last {
        cmd.args(["--last", &last.to_string()]);
    }
    if args.checkpointing {
        cmd.arg("--checkpointing");
    }
    cmd.args(["--compute-dtype", args.compute_dtype.name()]);
    if let Some(cache) = &args.model.hub_cache {
        cmd.arg("--hub-cache").arg(cache);
    }
    let out = cmd.stderr(std::process::Stdio::inherit()).output().context("running a memory child")?;
    if !out.status.success() {
        bail!("the `{quant}` child failed ({})", out.status);
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().last().unwrap_or_default();
    serde_json::from_str(line).with_context(|| format!("reading the `{quant}` child's figures from `{line}`"))
}

/// Runs the command.
pub fn run(args: BenchMemoryArgs) -> Result<()> {
    if let Some(quant) = &args.child {
        let measured = child(&args, quant)?;
        println!("{}", serde_json::to_string(&measured)?);
        return Ok(());
    }
    let dense = spawn(&args, "none")?;
    let nf4 = spawn(&args, "nf4")?;
    let nf4_dq = spawn(&args, "nf4-dq")?;
    println!(
        "Peak RSS while training LoRA (q_proj+v_proj, r=64, {}{}) at batch {}x{} for {} steps, {} compute, {} threads:",
        args.last.map(|n| format!("top {n} layers")).unwrap_or_else(|| "every layer".into()),
        if args.checkpointing { ", activation checkpointing" } else { "" },
        args.batch,
        args.seq,
        args.steps,
        args.compute_dtype.name(),
        candle_core::utils::get_num_threads()
    );
    for m in [&dense, &nf4, &nf4_dq] {
        println!(
            "  base {:<7} linear weights {:>6.1} MiB ({:.3} bits/param), embedding {:>5.1} MiB ({}); RSS after load {:>6.0} MiB; peak while training {:>6.0} MiB{}",
            m.quant,
            m.linear_weight_mb,
            m.bits_per_linear_param,
            m.embedding_mb,
            m.embedding_dtype,
            m.after_load_rss_mb,
            m.train_peak_mb,
            if m.peak_reset { "" } else { " (peak counter could not be reset: includes loading)" }
        );
    }
    println!("  QLoRA (nf4) / f32 LoRA peak RSS while training: {:.3} (target <= 0.45)", nf4.train_peak_mb / dense.train_peak_mb);
    println!("  QLoRA (nf4-dq) / f32 LoRA peak RSS while training: {:.3}", nf4_dq.train_peak_mb / dense.train_peak_mb);
    println!(
        "  process peaks including loading: f32 {:.0} MiB, nf4 {:.0} MiB, nf4-dq {:.0} MiB",
        dense.load_peak_mb.max(dense.train_peak_mb),
        nf4.load_peak_mb.max(nf4.train_peak_mb),
        nf4_dq.load_peak_mb.max(nf4_dq.train_peak_mb)
    );
    Ok(())
}
