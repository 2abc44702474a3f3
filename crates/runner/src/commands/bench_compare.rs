//! `loran bench-loran`: LoRA and LoRAN training steps timed side by side, alternating
//! in one process so both see the same machine state; medians and their ratio are
//! printed, never asserted.

use super::bench_train::synthetic;
use super::model_args::ModelArgs;
use anyhow::Result;
use clap::Args;
use loran_adapters::{AdapterConfig, AdapterSet};
use loran_model::Llama;
use loran_runner::run::config::TrainConfig;
use loran_runner::run::train::train;

/// Arguments of `loran bench-loran`.
#[derive(Debug, Args)]
pub struct BenchLoranArgs {
    #[command(flatten)]
    model: ModelArgs,
    /// Rounds; each round runs every method for `--steps-per-round` steps.
    #[arg(long, default_value_t = 4)]
    rounds: usize,
    /// Steps per method per round (the first of each is a warm-up and is not timed).
    #[arg(long, default_value_t = 3)]
    steps_per_round: usize,
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

/// One method's timed steps.
struct Timed {
    label: String,
    adapter: AdapterConfig,
    seconds: Vec<f64>,
}

fn step_times(model: &Llama, adapter: &AdapterConfig, cfg: &TrainConfig, round: usize) -> Result<Vec<f64>> {
    let mut model = model.clone();
    let set = AdapterSet::attach(&mut model, adapter, 0)?;
    let vocab = model.config().vocab_size as u32;
    // Fresh sequences each round; both methods of a round see the same ones.
    let examples = synthetic(cfg.batch_size * cfg.steps, cfg.max_len, vocab)
        .into_iter()
        .map(|mut e| {
            e.input_ids.iter_mut().for_each(|t| *t = (*t + round as u32 * 31) % vocab);
            e
        })
        .collect();
    let mut marks = vec![0.0];
    train(&model, &set, examples, cfg, 0, 0, None, &mut |r| {
        marks.push(r.elapsed_s);
        Ok(())
    })?;
    Ok(marks.windows(2).skip(1).map(|w| w[1] - w[0]).collect())
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

/// Runs the command.
pub fn run(args: BenchLoranArgs) -> Result<()> {
    let loaded = args.model.load()?;
    let lora = AdapterConfig { method: "lora".into(), r: 64, alpha: 16.0, dropout: 0.2, ..AdapterConfig::default() };
    let activation = loran_adapters::ActivationConfig::named(&args.activation)?;
    let loran = AdapterConfig { method: "loran".into(), activation, ..lora.clone() };
    let cfg = TrainConfig {
        steps: args.steps_per_round.max(2),
        batch_size: args.batch,
        max_len: args.seq,
        max_target_tokens: args.seq / 4,
        cache_frozen_prefix: false,
        ..TrainConfig::default()
    };
    let mut methods = vec![
        Timed { label: "lora".into(), adapter: lora, seconds: Vec::new() },
        Timed { label: format!("loran-{}", args.activation), adapter: loran, seconds: Vec::new() },
    ];
    for round in 0..args.rounds {
        // Alternate which method goes first, so neither always follows the other.
        let order: Vec<usize> = if round % 2 == 0 { vec![0, 1] } else { vec![1, 0] };
        for i in order {
            let t = step_times(&loaded.model, &methods[i].adapter, &cfg, round)?;
            eprintln!("round {}: {} {:?} ms", round + 1, methods[i].label, t.iter().map(|s| (s * 1000.0).round()).collect::<Vec<_>>());
            methods[i].seconds.extend(t);
        }
    }
    println!(
        "LoRA vs LoRAN training step, q_proj+v_proj of every layer, r=64, alpha=16, dropout 0.2, batch {}x{}, f32, {} threads:",
        args.batch,
        args.seq,
        candle_core::utils::get_num_threads()
    );
    for m in &methods {
        println!("  {:<16} median {:>7.0} ms/step over {} timed steps", m.label, median(&m.seconds) * 1000.0, m.seconds.len());
    }
    let ratio = median(&methods[1].seconds) / median(&methods[0].seconds);
    println!("  step-time ratio {} / lora = {ratio:.3} (target <= 1.15)", methods[1].label);
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
