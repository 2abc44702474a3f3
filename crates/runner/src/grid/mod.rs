//! Experiment grids: the YAML schema, its expansion into runs, and running them.

pub mod clean;
pub mod expand;
pub mod file;
pub mod include;
pub mod lock;
pub mod merge;
pub mod naming;
pub mod one_cell;
pub mod owner;
pub mod progress;
pub mod parse_error;
pub mod reuse;
pub mod runner;
pub mod select;
pub mod slurm;
pub mod spec;
pub mod status;
pub mod submit_plan;
pub mod sweep;
pub mod validate;
pub mod yaml_path;

pub use expand::expand;
pub use loran_train::cell::Cell;
pub use runner::{run_grid, GridOptions, GridOutcome};
pub use spec::{read_grid, GridFile, GridSpec, TableKind};
