//! `loran-bench peft`: our training step against Hugging Face PEFT on PyTorch, on the
//! same CPU, the same model shape and the same settings, measured side by side.
//!
//! Both sides build a randomly initialised LLaMA of SmolLM2-135M's shape, f32, and
//! train with AdamW on a causal-LM loss over every token of a fresh batch each step.
//! The PEFT side runs in a child Python process (`bench/peft_step.py --serve`) that
//! steps only when told to, so the two never run at once and take their steps in
//! turn (the order rotates every round). Medians and ratios are printed, never asserted.
//!
//! Both precisions are timed: f32, and bf16 as each side does it (PEFT under
//! `torch.autocast("cpu", dtype=torch.bfloat16)`, ours with `compute_dtype: bf16`,
//! bf16 inputs to the frozen matmuls only).

mod memory;
mod peer;

use crate::loran::median;
use anyhow::{bail, Context, Result};
use clap::Args;
use loran_adapters::{AdapterConfig, AdapterSet};
use loran_datasets::TokenizedExample;
use loran_model::synthetic::{random_model, smollm2_135m_config};
use loran_model::ComputeDtype;
use loran_train::config::{Schedule, TrainConfig};
use loran_train::train::{StepOutcome, TrainJob, Trainer};
use peer::PeftPeer;
use std::path::PathBuf;
use std::time::Instant;

/// Every linear of a LLaMA block, PEFT's names.
pub const ALL_LINEARS: [&str; 7] = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"];

/// Arguments of `loran-bench peft`.
#[derive(Debug, Args)]
pub struct BenchPeftArgs {
    /// The venv's python with torch, transformers and peft (`bench/setup_venv.sh` prints it).
    #[arg(long)]
    python: Option<PathBuf>,
    /// The PEFT side's script.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../../bench/peft_step.py"))]
    script: PathBuf,
    /// Untimed warm-up steps per participant.
    #[arg(long, default_value_t = 3)]
    warmup: usize,
    /// Timed steps per participant.
    #[arg(long, default_value_t = 20)]
    steps: usize,
    /// Examples per step.
    #[arg(long, default_value_t = 8)]
    batch: usize,
    /// Tokens per example (every one is scored).
    #[arg(long, default_value_t = 128)]
    seq: usize,
    /// LoRA dropout on both sides.
    #[arg(long, default_value_t = 0.05)]
    dropout: f64,
    /// Skip the LoRAN part (q,v at r=64 against LoRA and PEFT at the same setting).
    #[arg(long)]
    no_loran: bool,
    /// Skip the peak-memory children.
    #[arg(long)]
    no_memory: bool,
    /// Skip the speed part (memory only; needs no Python).
    #[arg(long)]
    no_speed: bool,
    /// Skip the bf16 pair (ours with bf16 frozen matmuls, PEFT under bf16 autocast).
    #[arg(long)]
    no_bf16: bool,
    /// Internal: measure one memory setting in this process and print it as JSON.
    #[arg(long, hide = true)]
    child_memory: Option<String>,
}

/// One adapter setting both sides train.
#[derive(Debug, Clone)]
pub struct Setting {
    /// Adapter method (`lora` or `loran`).
    pub method: &'static str,
    /// Rank.
    pub r: usize,
    /// Adapted linears.
    pub targets: Vec<&'static str>,
    /// Arithmetic of the frozen matmuls (PEFT: bf16 autocast).
    pub compute: ComputeDtype,
}

impl Setting {
    /// The issue's reference: LoRA r=8 on every linear.
    pub fn lora_all_r8() -> Self {
        Self { method: "lora", r: 8, targets: ALL_LINEARS.to_vec(), compute: ComputeDtype::F32 }
    }
    /// The same in bf16.
    pub fn lora_all_r8_bf16() -> Self {
        Self { compute: ComputeDtype::Bf16, ..Self::lora_all_r8() }
    }
    /// The LoRAN paper's placement: q,v at r=64.
    pub fn qv_r64(method: &'static str) -> Self {
        Self { method, r: 64, targets: vec!["q_proj", "v_proj"], compute: ComputeDtype::F32 }
    }
    /// Our adapter config (α=16, the given dropout; LoRAN with Sinter's paper defaults).
    pub fn adapter(&self, dropout: f64) -> AdapterConfig {
        AdapterConfig {
            method: self.method.into(),
            r: self.r,
            alpha: 16.0,
            dropout,
            targets: self.targets.iter().map(|t| t.to_string()).collect(),
            ..AdapterConfig::default()
        }
    }
    /// A short label.
    pub fn label(&self) -> String {
        let targets = if self.targets.len() == ALL_LINEARS.len() { "all linears".to_string() } else { self.targets.join("+") };
        let precision = if self.compute == ComputeDtype::Bf16 { " bf16" } else { "" };
        format!("{} r={} {targets}{precision}", self.method, self.r)
    }
}

/// `n` sequences of `len` tokens scored at every position after the first (a plain
/// causal-LM loss, as `labels=input_ids` in transformers).
pub fn full_sequence_examples(n: usize, len: usize, vocab: u32) -> Vec<TokenizedExample> {
    (0..n)
        .map(|i| {
            let input_ids = (0..len).map(|t| ((i * 7919 + t * 104_729 + 13) as u32) % vocab).collect();
            let mut loss_mask = vec![1u8; len];
            loss_mask[0] = 0;
            TokenizedExample { input_ids, loss_mask, prompt_len: 1 }
        })
        .collect()
}

/// The optimisation settings of both sides: constant lr 2e-4, AdamW without weight decay,
/// gradient norm clipped at 1, no prefix cache, no checkpointing unless asked.
pub fn train_config(batch: usize, seq: usize, checkpointing: bool) -> TrainConfig {
    TrainConfig {
        steps: usize::MAX,
        lr: 2e-4,
        batch_size: batch,
        max_len: seq,
        max_target_tokens: seq - 1,
        warmup_ratio: 0.0,
        schedule: Schedule::Constant,
        max_grad_norm: 1.0,
        weight_decay: 0.0,
        cache_frozen_prefix: false,
        gradient_checkpointing: checkpointing,
        ..TrainConfig::default()
    }
}

/// Who takes a step in a round.
enum Side<'a> {
    Ours(Box<Trainer<'a>>),
    Peft(PeftPeer),
}

struct Participant<'a> {
    label: String,
    side: Side<'a>,
    times: Vec<f64>,
}

impl Participant<'_> {
    fn step(&mut self) -> Result<f64> {
        match &mut self.side {
            Side::Ours(trainer) => {
                let start = Instant::now();
                if let StepOutcome::Diverged(why) = trainer.step()? {
                    bail!("{}: the benchmark diverged: {why}", self.label);
                }
                Ok(start.elapsed().as_secs_f64())
            }
            Side::Peft(peer) => Ok(peer.step()?.0),
        }
    }
}

fn peer_args(args: &BenchPeftArgs, setting: &Setting) -> Vec<String> {
    let threads = candle_core::utils::get_num_threads();
    [
        ("--batch", args.batch.to_string()),
        ("--seq", args.seq.to_string()),
        ("--threads", threads.to_string()),
        ("--r", setting.r.to_string()),
        ("--alpha", "16".into()),
        ("--dropout", args.dropout.to_string()),
        ("--targets", setting.targets.join(",")),
    ]
    .into_iter()
    .flat_map(|(k, v)| [k.to_string(), v])
    .chain((setting.compute == ComputeDtype::Bf16).then(|| "--bf16".to_string()))
    .collect()
}

fn speed(args: &BenchPeftArgs) -> Result<()> {
    let python = args.python.clone();
    if python.is_none() {
        eprintln!("no --python: timing our side only (bench/setup_venv.sh prints the venv's python)");
    }
    let cfg = smollm2_135m_config();
    eprintln!("building a random SmolLM2-135M-shaped model...");
    let base = random_model(&cfg, 0)?;
    let train_cfg = train_config(args.batch, args.seq, false);
    let rounds = args.warmup + args.steps;
    let examples = full_sequence_examples(args.batch * rounds, args.seq, cfg.vocab_size as u32);
    let mut settings = vec![("ours", Setting::lora_all_r8()), ("peft", Setting::lora_all_r8())];
    if !args.no_bf16 {
        settings.extend([("ours", Setting::lora_all_r8_bf16()), ("peft", Setting::lora_all_r8_bf16())]);
    }
    if !args.no_loran {
        settings.extend([("ours", Setting::qv_r64("lora")), ("ours", Setting::qv_r64("loran")), ("peft", Setting::qv_r64("lora"))]);
    }
    if python.is_none() {
        settings.retain(|(side, _)| *side == "ours");
    }
    let mut models = Vec::new();
    let mut sets = Vec::new();
    for (side, setting) in &settings {
        if *side == "ours" {
            let mut model = base.clone();
            model.set_compute_dtype(setting.compute);
            let set = AdapterSet::attach(&mut model, &setting.adapter(args.dropout), 0)?;
            models.push(model);
            sets.push(set);
        }
    }
    let mut participants = Vec::new();
    let mut ours = models.iter().zip(&sets);
    for (side, setting) in &settings {
        let label = format!("{side} {}", setting.label());
        let side = if *side == "ours" {
            let (model, set) = ours.next().context("one model per setting of ours")?;
            eprintln!("{label}: {} trainable parameters", set.num_parameters());
            Side::Ours(Box::new(Trainer::new(TrainJob::new(model, set, examples.clone(), &train_cfg))?))
        } else {
            let python = python.as_deref().context("a PEFT setting without --python")?;
            let peer = PeftPeer::start(&label, python, &args.script, &peer_args(args, setting))?;
            eprintln!("{label}: {}", peer.info);
            Side::Peft(peer)
        };
        participants.push(Participant { label, side, times: Vec::new() });
    }
    let n = participants.len();
    for round in 0..rounds {
        let mut line = format!("round {:>2}{}:", round + 1, if round < args.warmup { " (warm-up)" } else { "" });
        for k in 0..n {
            let p = &mut participants[(round + k) % n];
            let s = p.step()?;
            if round >= args.warmup {
                p.times.push(s);
            }
            line.push_str(&format!("  [{}] {:.0} ms", p.label, s * 1e3));
        }
        eprintln!("{line}  (our RSS {:.0} MiB)", loran_train::env::rss_mb());
    }
    println!(
        "Training step, random SmolLM2-135M shape, f32 weights, batch {}x{} (every token scored), AdamW lr 2e-4, alpha 16, dropout {}, {} threads, {} timed steps each after {} warm-up, taken in turn:",
        args.batch,
        args.seq,
        args.dropout,
        candle_core::utils::get_num_threads(),
        args.steps,
        args.warmup
    );
    for p in &participants {
        let fastest = p.times.iter().copied().fold(f64::INFINITY, f64::min);
        println!("  {:<32} median {:>6.0} ms/step, fastest {:>6.0} ms", p.label, median(&p.times) * 1e3, fastest * 1e3);
    }
    let times = |label: &str| participants.iter().find(|p| p.label == label).map(|p| p.times.clone());
    let ratio = |a: &str, b: &str| Some(median(&times(a)?) / median(&times(b)?));
    let (ours_all, peft_all) = (format!("ours {}", Setting::lora_all_r8().label()), format!("peft {}", Setting::lora_all_r8().label()));
    let (ours_qv, loran_qv, peft_qv) =
        (format!("ours {}", Setting::qv_r64("lora").label()), format!("ours {}", Setting::qv_r64("loran").label()), format!("peft {}", Setting::qv_r64("lora").label()));
    if let Some(r) = ratio(&ours_all, &peft_all) {
        println!("  ours / PEFT, LoRA r=8 on every linear, f32: {r:.3} (target <= 0.65)");
    }
    let (ours_bf16, peft_bf16) = (format!("ours {}", Setting::lora_all_r8_bf16().label()), format!("peft {}", Setting::lora_all_r8_bf16().label()));
    if let Some(r) = ratio(&ours_bf16, &peft_bf16) {
        println!("  ours bf16 / PEFT bf16 autocast, LoRA r=8 on every linear: {r:.3} (target <= 0.5)");
    }
    if let Some(r) = ratio(&ours_bf16, &peft_all) {
        println!("  ours bf16 / PEFT f32: {r:.3} (target <= 0.35)");
    }
    if let Some(r) = ratio(&peft_bf16, &peft_all) {
        println!("  PEFT bf16 autocast / PEFT f32: {r:.3}");
    }
    if let Some(r) = ratio(&ours_bf16, &ours_all) {
        println!("  ours bf16 / ours f32: {r:.3} (matmul backend: {})", loran_kernels::Backend::selected().map(|b| b.name()).unwrap_or("unavailable"));
    }
    if let (Some(r), Some(a), Some(b)) = (ratio(&loran_qv, &ours_qv), times(&loran_qv), times(&ours_qv)) {
        let per_round: Vec<f64> = a.iter().zip(&b).map(|(a, b)| a / b).collect();
        println!("  ours LoRAN / ours LoRA, q,v r=64: {r:.3} (median of per-round ratios {:.3}; target <= 1.15)", median(&per_round));
    }
    for (a, b, what) in [(&ours_qv, &peft_qv, "ours LoRA / PEFT LoRA, q,v r=64"), (&loran_qv, &peft_qv, "ours LoRAN / PEFT LoRA, q,v r=64")] {
        if let Some(r) = ratio(a, b) {
            println!("  {what}: {r:.3}");
        }
    }
    for p in &mut participants {
        if let Side::Peft(peer) = &mut p.side {
            println!("  {} peak RSS (process, model + steps): {:.0} MiB", p.label, peer.peak_rss_mb()?);
        }
    }
    Ok(())
}

/// Runs the command.
pub fn run(args: BenchPeftArgs) -> Result<()> {
    if let Some(setting) = &args.child_memory {
        return memory::child(setting);
    }
    if !args.no_speed {
        speed(&args)?;
    }
    if !args.no_memory {
        memory::report(args.dropout)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_sequence_examples_score_every_token_but_the_first() {
        let ex = full_sequence_examples(3, 16, 100);
        assert_eq!(ex.len(), 3);
        for e in &ex {
            assert_eq!(e.input_ids.len(), 16);
            assert_eq!(e.loss_mask.iter().map(|&m| m as usize).sum::<usize>(), 15);
            assert_eq!(e.loss_mask[0], 0);
            assert!(e.input_ids.iter().all(|&t| t < 100));
        }
        assert_ne!(ex[0].input_ids, ex[1].input_ids);
    }

    #[test]
    fn settings_match_the_peft_side() {
        let all = Setting::lora_all_r8().adapter(0.05);
        assert_eq!(all.targets.len(), 7);
        assert_eq!((all.r, all.alpha, all.dropout), (8, 16.0, 0.05));
        let loran = Setting::qv_r64("loran").adapter(0.0);
        assert_eq!(loran.targets, vec!["q_proj".to_string(), "v_proj".to_string()]);
        assert_eq!(loran_adapters::loran::activation(&loran).name, "sinter");
    }
}
