//! NA-LoRA-style (reconstructed from the paper's abstract; arXiv 2606.31717).

pub mod config;

pub use config::{MaskKind, NaLoraConfig};
