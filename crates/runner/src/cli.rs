//! What the `loran` and `loran-bench` binaries share: process set-up, the exit code
//! with the error on one line, and the model-selection flags.

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

/// Process-wide settings both binaries need before any work: the default SIGPIPE
/// disposition, the allocator kept from trimming between training steps, and the
/// element-wise thread default.
pub fn prepare_process() {
    restore_sigpipe();
    loran_train::alloc::keep_freed_memory();
    loran_train::env::default_elementwise_threads();
}

/// Success, or the error's cause chain printed on one line ([`loran_io::chain_line`]: no
/// backtrace, whatever `RUST_BACKTRACE` says) and a failure code.
pub fn exit_code(outcome: Result<()>) -> std::process::ExitCode {
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", loran_io::chain_line(&*e));
            std::process::ExitCode::FAILURE
        }
    }
}

/// Ends the process quietly when its output pipe closes (`loran grid plan … | head`), as
/// other command-line tools do: Rust ignores SIGPIPE, so `println!` would panic on EPIPE.
fn restore_sigpipe() {
    #[cfg(unix)]
    // SAFETY: called first thing in `main`; restores the default disposition of one signal.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
