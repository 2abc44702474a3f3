//! The integration tests of `loran-model`, one binary: each file below was its own
//! test binary, and each of those linked the whole dependency tree again (a cold
//! `cargo test` wrote ~15 GB). Run one file with
//! `cargo test -p loran-model --test integration <file>::`.

mod bad_input;
mod block_reference;
mod loading;
mod nf4_reference;
mod quantized_model;
mod smollm2_reference;
mod tokenizer;
