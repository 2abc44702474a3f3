//! The integration tests of `loran-runner`, one binary: each file below was its own
//! test binary, and each of those linked the whole dependency tree again (a cold
//! `cargo test` wrote ~15 GB). Run one file with
//! `cargo test -p loran-runner --test integration <file>::`.

mod common;
mod adapter_roundtrip;
mod analyze;
mod bad_grids;
mod bad_inputs;
mod cli;
mod concurrency;
mod crash_points;
mod dependency_rule;
mod error_output;
mod experiment_grids;
mod determinism;
mod fuzz_grids;
mod kill_resume;
mod lr_sweep;
mod merge;
mod na_lora_training;
mod notebook;
mod numeric_ranges;
mod prefix_cache;
mod repo_paths;
mod run_cell;
mod slurm;
mod report_reconstructed;
mod stale_runs;
mod tables;
mod train_fixture;
