//! The integration tests of `loran-adapters`, one binary: each file below was its own
//! test binary, and each of those linked the whole dependency tree again (a cold
//! `cargo test` wrote ~15 GB). Run one file with
//! `cargo test -p loran-adapters --test integration <file>::`.

mod baselines;
mod checkpointing;
mod dora;
mod lora_model;
mod lora_reference;
mod loran;
mod mlora_files;
mod na_lora;
mod na_lora_rules;
mod peft_files;
mod qlora_reference;
