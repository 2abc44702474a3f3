//! `loran-bench model`: forward throughput at fixed batch shapes, printed, never asserted.

use loran_runner::cli::ModelArgs;
use anyhow::{bail, Result};
use candle_core::{Device, Tensor};
use clap::Args;
use loran_model::Kernels;

/// Arguments of `loran-bench model`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    #[command(flatten)]
    model: ModelArgs,
    /// Shapes as BATCHxSEQ.
    #[arg(long, value_delimiter = ',', default_value = "1x128,8x128")]
    shapes: Vec<String>,
    /// Timed repetitions per shape (after one warm-up).
    #[arg(long, default_value_t = 3)]
    reps: usize,
}

fn parse_shape(s: &str) -> Result<(usize, usize)> {
    let Some((b, t)) = s.split_once('x') else { bail!("shape `{s}` must look like 8x128") };
    Ok((b.trim().parse()?, t.trim().parse()?))
}

/// Runs the command.
pub fn run(args: BenchArgs) -> Result<()> {
    let loaded = args.model.load()?;
    let threads = candle_core::utils::get_num_threads();
    println!("model: {}  threads: {threads} (RAYON_NUM_THREADS={})", loaded.source, std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| "unset".into()));
    for kernels in [Kernels::Fused, Kernels::Differentiable] {
        let mut model = loaded.model.clone();
        model.set_kernels(kernels);
        for shape in &args.shapes {
            let (b, t) = parse_shape(shape)?;
            let vocab = model.config().vocab_size as u32;
            let ids: Vec<u32> = (0..b * t).map(|i| (i as u32 * 7919 + 13) % vocab).collect();
            let ids = Tensor::from_vec(ids, (b, t), &Device::Cpu)?;
            model.forward(&ids, 0, None)?;
            let mut times = Vec::with_capacity(args.reps);
            for _ in 0..args.reps {
                let start = std::time::Instant::now();
                model.forward(&ids, 0, None)?;
                times.push(start.elapsed().as_secs_f64());
            }
            times.sort_by(f64::total_cmp);
            let median = times[times.len() / 2];
            println!(
                "forward {kernels:?} {b}x{t}: median {median:.3}s over {} reps -> {:.0} tokens/s",
                args.reps,
                (b * t) as f64 / median
            );
        }
    }
    Ok(())
}
