//! Peak resident memory of f32 LoRA, QLoRA (the same LoRA over an NF4 base) and
//! LoRAN on the random SmolLM2-135M-shaped model. Each setting trains a few steps in
//! its own child process (this binary again), so none inherits another's heap.

use super::{full_sequence_examples, train_config, Setting};
use anyhow::{bail, Context, Result};
use loran_adapters::AdapterSet;
use loran_model::synthetic::{random_model, smollm2_135m_config};
use loran_model::QuantMode;
use loran_train::env;
use loran_train::train::{train, TrainJob};
use serde::{Deserialize, Serialize};

/// Steps each child trains.
const STEPS: usize = 3;

/// One child's job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Job {
    method: String,
    quant: String,
    batch: usize,
    seq: usize,
    checkpointing: bool,
    dropout: f64,
}

/// What one child measured, MiB.
#[derive(Debug, Serialize, Deserialize)]
struct Measured {
    after_load_mb: f64,
    train_peak_mb: f64,
    peak_reset: bool,
}

impl Job {
    fn setting(&self) -> Setting {
        match self.method.as_str() {
            "loran" => Setting::qv_r64("loran"),
            _ => Setting::lora_all_r8(),
        }
    }
    fn label(&self) -> String {
        let name = match (self.method.as_str(), self.quant.as_str()) {
            ("lora", "none") => "f32 LoRA",
            ("lora", _) => "QLoRA (nf4)",
            _ => "LoRAN (f32)",
        };
        format!("{name:<12} {}", self.setting().label())
    }
}

/// Runs one job in this process and prints its figures as a JSON line.
pub fn child(spec: &str) -> Result<()> {
    let job: Job = serde_json::from_str(spec).with_context(|| format!("--child-memory `{spec}`"))?;
    let quant: QuantMode = serde_json::from_value(serde_json::Value::String(job.quant.clone()))?;
    let cfg = smollm2_135m_config();
    let mut model = random_model(&cfg, 0)?;
    model.quantize_for_qlora(quant)?;
    loran_train::alloc::release_free_memory();
    let after_load_mb = env::rss_mb();
    let peak_reset = env::reset_peak_rss();
    let set = AdapterSet::attach(&mut model, &job.setting().adapter(job.dropout), 0)?;
    let train_cfg = train_config(job.batch, job.seq, job.checkpointing);
    let train_cfg = loran_train::config::TrainConfig { steps: STEPS, ..train_cfg };
    let examples = full_sequence_examples(job.batch * STEPS, job.seq, cfg.vocab_size as u32);
    train(TrainJob::new(&model, &set, examples, &train_cfg), &mut |_| Ok(()))?;
    let measured = Measured { after_load_mb, train_peak_mb: env::peak_rss_mb(), peak_reset };
    println!("{}", serde_json::to_string(&measured)?);
    Ok(())
}

fn spawn(job: &Job) -> Result<Measured> {
    let exe = std::env::current_exe().context("finding the loran-bench binary")?;
    let out = std::process::Command::new(exe)
        .args(["peft", "--child-memory", &serde_json::to_string(job)?])
        .stderr(std::process::Stdio::inherit())
        .output()
        .context("running a peft memory child")?;
    if !out.status.success() {
        bail!("the memory child `{}` failed ({})", job.label(), out.status);
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().last().unwrap_or_default();
    serde_json::from_str(line).with_context(|| format!("reading the memory child's figures from `{line}`"))
}

/// Measures and prints the peaks at the speed bench's shape and at QLoRA's recipe.
pub fn report(dropout: f64) -> Result<()> {
    let shapes = [(8, 128, false, "the speed setting: 8x128, every activation kept"), (1, 128, true, "QLoRA's recipe: 1x128, activation checkpointing")];
    println!("Peak RSS while training {STEPS} steps on the random SmolLM2-135M shape ({} threads), each in its own process:", env::threads());
    for (batch, seq, checkpointing, what) in shapes {
        println!("  {what}:");
        let jobs = [("lora", "none"), ("lora", "nf4"), ("loran", "none")]
            .map(|(m, q)| Job { method: m.into(), quant: q.into(), batch, seq, checkpointing, dropout });
        let mut peaks = Vec::new();
        for job in &jobs {
            let m = spawn(job)?;
            println!(
                "    {:<40} after load {:>6.0} MiB, peak while training {:>6.0} MiB{}",
                job.label(),
                m.after_load_mb,
                m.train_peak_mb,
                if m.peak_reset { "" } else { " (peak counter not reset: includes loading)" }
            );
            peaks.push(m.train_peak_mb);
        }
        println!("    QLoRA / f32 LoRA peak: {:.3} (target <= 0.45); LoRAN / f32 LoRA peak: {:.3}", peaks[1] / peaks[0], peaks[2] / peaks[0]);
    }
    Ok(())
}
