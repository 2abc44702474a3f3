//! One module per subcommand.

pub mod analyze;
pub mod assets;
pub mod compare_runs;
pub mod eval;
pub mod generate;
pub mod grid;
pub mod grid_cell;
pub mod grid_progress;
pub mod grid_slurm;
pub mod merge;
pub mod perplexity;
pub mod report;
