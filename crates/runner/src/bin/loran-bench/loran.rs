//! `loran-bench loran`: LoRA and LoRAN training steps timed side by side: two
//! trainers in one process take single steps in turn, so slow spells of a shared
//! machine hit both; the median of the per-pair ratios is printed, never asserted.

use crate::train::synthetic;
use loran_runner::cli::ModelArgs;
use anyhow::Result;
use clap::Args;
use loran_adapters::{AdapterConfig, AdapterSet};
use loran_train::config::TrainConfig;
use loran_train::train::{StepOutcome, TrainJob, Trainer};
use std::time::Instant;

/// Arguments of `loran-bench loran`.
#[derive(Debug, Args)]
pub struct BenchLoranArgs {
    #[command(flatten)]
    model: ModelArgs,
    /// Timed step pairs (one LoRA step and one LoRAN step each, order alternating).
    #[arg(long, default_value_t = 12)]
    pairs: usize,
    /// Untimed warm-up steps per method.
    #[arg(long, default_value_t = 2)]
    warmup: usize,
    /// Examples per step.
    #[arg(long, default_value_t = 4)]
    batch: usize,
    /// Tokens per example.
    #[arg(long, default_value_t = 128)]
    seq: usize,
    /// The LoRAN activation.
    #[arg(long, default_value = "sinter")]
    activation: String,
}

/// The median of `v` (sorted copy).
pub fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    match s.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => s[n / 2],
        n => 0.5 * (s[n / 2 - 1] + s[n / 2]),
    }
}

/// Seconds one step takes.
fn timed_step(trainer: &mut Trainer) -> Result<f64> {
    let start = Instant::now();
    if let StepOutcome::Diverged(why) = trainer.step()? {
        anyhow::bail!("the benchmark diverged: {why}");
    }
    Ok(start.elapsed().as_secs_f64())
}

/// Runs the command.
pub fn run(args: BenchLoranArgs) -> Result<()> {
    let loaded = args.model.load()?;
    let lora = AdapterConfig { method: "lora".into(), r: 64, alpha: 16.0, dropout: 0.2, ..AdapterConfig::default() };
    let activation = loran_adapters::ActivationConfig::named(&args.activation)?;
    let loran = AdapterConfig { method: "loran".into(), ..lora.clone() }.with("activation", activation)?;
    let cfg = TrainConfig {
        steps: usize::MAX,
        batch_size: args.batch,
        max_len: args.seq,
        max_target_tokens: args.seq / 4,
        cache_frozen_prefix: false,
        ..TrainConfig::default()
    };
    let vocab = loaded.model.config().vocab_size as u32;
    let steps = args.warmup + args.pairs;
    // Both methods see the same batches, each step a fresh one (no caching effects).
    let examples = synthetic(cfg.batch_size * steps, cfg.max_len, vocab);
    let (mut lora_model, mut loran_model) = (loaded.model.clone(), loaded.model.clone());
    let lora_set = AdapterSet::attach(&mut lora_model, &lora, 0)?;
    let loran_set = AdapterSet::attach(&mut loran_model, &loran, 0)?;
    let mut lora_trainer = Trainer::new(TrainJob::new(&lora_model, &lora_set, examples.clone(), &cfg))?;
    let mut loran_trainer = Trainer::new(TrainJob::new(&loran_model, &loran_set, examples, &cfg))?;
    for _ in 0..args.warmup {
        timed_step(&mut lora_trainer)?;
        timed_step(&mut loran_trainer)?;
    }
    let (mut lora_s, mut loran_s, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for pair in 0..args.pairs {
        // Alternate the order so neither method always runs second.
        let (a, b) = if pair % 2 == 0 {
            let a = timed_step(&mut lora_trainer)?;
            (a, timed_step(&mut loran_trainer)?)
        } else {
            let b = timed_step(&mut loran_trainer)?;
            (timed_step(&mut lora_trainer)?, b)
        };
        eprintln!("pair {:>2}: lora {:>5.0} ms, loran {:>5.0} ms, ratio {:.3}", pair + 1, a * 1e3, b * 1e3, b / a);
        lora_s.push(a);
        loran_s.push(b);
        ratios.push(b / a);
    }
    let name = format!("loran-{}", args.activation);
    println!(
        "LoRA vs LoRAN training step, q_proj+v_proj of every layer, r=64, alpha=16, dropout 0.2, batch {}x{}, f32, {} threads, {} alternating pairs after {} warm-up steps each:",
        args.batch,
        args.seq,
        candle_core::utils::get_num_threads(),
        args.pairs,
        args.warmup
    );
    for (label, s) in [("lora", &lora_s), (name.as_str(), &loran_s)] {
        let min = s.iter().copied().fold(f64::INFINITY, f64::min);
        println!("  {label:<16} median {:>6.0} ms/step, fastest {:>6.0} ms/step", median(s) * 1e3, min * 1e3);
    }
    println!("  step-time ratio {name} / lora: median of the per-pair ratios {:.3} (target <= 1.15)", median(&ratios));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::median;

    #[test]
    fn median_of_odd_and_even_lengths() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert!(median(&[]).is_nan());
    }
}
