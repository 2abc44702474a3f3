//! The integration tests of `loran-kernels`, one binary (see crates/model/tests/main.rs
//! for why). Run one file with `cargo test -p loran-kernels --test integration <file>::`.

mod accuracy;
mod common;
mod dispatch;
mod threads;
