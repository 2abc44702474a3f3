//! One module per subcommand.

pub mod assets;
pub mod bench;
pub mod bench_compare;
pub mod bench_matmul;
pub mod bench_memory;
pub mod bench_peft;
pub mod bench_rouge;
pub mod bench_train;
pub mod compare_runs;
pub mod generate;
pub mod grid;
pub mod grid_progress;
pub mod model_args;
pub mod perplexity;
pub mod report;
