//! `loran-bench matmul`: the frozen-weight bf16 kernels on this CPU (printed, never
//! asserted): CPU model and flags, each backend's per-core peak, and GFLOP/s with the
//! share of that peak on SmolLM2-135M's shapes, on 1 and 2 threads.

use anyhow::Result;
use clap::Args;
use loran_kernels::bench;
use std::time::Duration;

/// Arguments of `loran-bench matmul`.
#[derive(Debug, Args)]
pub struct BenchMatmulArgs {
    /// Minimum seconds per measurement.
    #[arg(long, default_value_t = 0.5)]
    secs: f64,
    /// Thread counts to time (comma-separated).
    #[arg(long, default_value = "1,2", value_delimiter = ',')]
    threads: Vec<usize>,
}

/// Runs the command.
pub fn run(args: BenchMatmulArgs) -> Result<()> {
    bench::report(&mut std::io::stdout().lock(), &bench::SHAPES, &args.threads, Duration::from_secs_f64(args.secs))?;
    Ok(())
}
