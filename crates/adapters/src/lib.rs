//! loran-adapters: low-rank adapters that wrap the named linears of a
//! `loran-model` network through its [`loran_model::LinearAdapter`] seam.
//!
//! - [`AdapterConfig`]: the `adapter:` section of a run (method, r, α, dropout, targets, layers,
//!   and each method's own parameters, declared in its file: [`params`]);
//! - [`registry`]: methods by name (`none`, `lora`, ...): one file plus one line per method;
//! - [`AdapterSet`]: attach, parameters, train/eval, exact merge and unmerge;
//! - [`StepHook`]: what the adapters do around each optimizer step;
//! - [`fused`]: LoRA's and LoRAN's training nodes (a frozen linear with its update);
//! - [`peft`]: PEFT's file layout;
//! - [`folder`]: the adapter folder a run saves (native + PEFT or MLORA) and the one loader;
//! - [`spectrum`]: rank measures of trained updates (`loran analyze`).

pub mod activations;
pub mod adapter;
pub mod config;
pub mod dora;
pub mod dropout;
pub mod error;
mod files;
pub mod folder;
pub mod fused;
pub mod lora;
pub mod loran;
pub mod mlora;
pub mod na_lora;
pub mod native;
pub mod nolora;
pub mod params;
pub mod peft;
pub mod registry;
pub mod seeding;
pub mod set;
pub mod sine_lora;
pub mod spectrum;
pub mod step;
pub mod targets;
pub mod valid_tokens;

pub use activations::ActivationConfig;
pub use adapter::Adapter;
pub use config::{AdapterConfig, LayerSelection};
pub use error::{AdapterError, Result};
pub use registry::{find_method, METHODS};
pub use set::AdapterSet;
pub use step::StepHook;
pub use valid_tokens::ValidTokens;
