//! `cargo run --release -p loran-kernels --example bench_matmul [--features gemm] [SECS]`:
//! CPU, flags, per-core peaks and GFLOP/s of every available backend on SmolLM2 shapes,
//! 1 and 2 threads. SECS (default 0.3) is the minimum time per measurement.

use loran_kernels::bench;
use std::time::Duration;

fn main() -> std::io::Result<()> {
    let secs: f64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0.3);
    bench::report(&mut std::io::stdout().lock(), &bench::SHAPES, &[1, 2], Duration::from_secs_f64(secs))
}
