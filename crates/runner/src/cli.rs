//! Model selection flags shared by the model commands.

use anyhow::{Context, Result};
use clap::Args;
use loran_model::{load_by_name, LoadOptions, LoadedModel};
use std::path::PathBuf;

/// Which base model to load.
#[derive(Debug, Args)]
pub struct ModelArgs {
    /// Registry key (smollm2-135m, ...), HF folder, .gguf file, or hub id `org/name[@rev]`.
    #[arg(long, default_value = "smollm2-135m")]
    pub model: String,
    /// Hub cache folder (default: $HF_HOME/hub or ~/.cache/huggingface/hub).
    #[arg(long)]
    pub hub_cache: Option<PathBuf>,
}

impl ModelArgs {
    /// Loads the model on CPU in f32, printing how long it took.
    pub fn load(&self) -> Result<LoadedModel> {
        let opts = LoadOptions { hub_cache: self.hub_cache.clone(), ..LoadOptions::default() };
        let start = std::time::Instant::now();
        let loaded = load_by_name(&self.model, &opts).with_context(|| format!("loading model `{}`", self.model))?;
        eprintln!("loaded {} in {:.1}s", loaded.source, start.elapsed().as_secs_f64());
        Ok(loaded)
    }
}
