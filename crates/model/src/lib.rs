//! loran-model: LLaMA-family base networks for LoRA experiments.
//!
//! - [`Llama`]: a decoder (RMSNorm, RoPE, GQA, SwiGLU, tied embeddings, KV cache)
//!   whose every linear is an [`AdaptableLinear`] reachable by its HF name;
//! - loaders for HF folders, the hub cache and GGUF files ([`load`]);
//! - NF4 storage of the frozen linears, bit-exact with bitsandbytes ([`quant`]);
//! - tokenizers from `tokenizer.json` or GGUF metadata;
//! - greedy/sampled generation, ChatML prompts and perplexity.

pub mod attention;
pub mod bf16_compute;
pub mod block;
pub mod chat;
pub mod checkpoint;
pub mod config;
pub mod cpu_op;
pub mod decode_attention;
pub mod error;
#[cfg(any(test, feature = "test-support"))]
pub mod fixtures;
pub mod frozen_matmul;
pub mod generate;
pub mod head_loss;
pub mod kernels;
pub mod linear;
pub mod llama;
pub mod load;
pub mod mlp;
pub mod norm;
pub mod quant;
pub mod registry;
pub mod rope;
pub mod save;
pub mod synthetic;
pub mod tiny;
pub mod splitmix;
pub mod tokenizer;
pub mod train_ops;

pub use bf16_compute::ComputeDtype;
pub use config::LlamaConfig;
pub use error::{ModelError, Result};
pub use kernels::Kernels;
pub use linear::{AdaptableLinear, FrozenCompute, FrozenLinear, GateActivation, LinearAdapter, LinearWeight};
pub use llama::{BlockPrefix, Cache, Llama};
pub use quant::{Nf4Weight, QuantMode};
pub use load::{load, load_by_name, resolve, LoadOptions, LoadedModel, ModelSource};
