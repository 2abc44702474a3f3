//! The integration tests of `loran-metrics`, one binary: each file below was its own
//! test binary, and each of those linked the whole dependency tree again (a cold
//! `cargo test` wrote ~15 GB). Run one file with
//! `cargo test -p loran-metrics --test integration <file>::`.

mod cross_module;
mod rouge_reference;
