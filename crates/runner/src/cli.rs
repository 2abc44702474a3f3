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
        let start = std::time::Instant::now();
        let loaded = self.load_quietly()?;
        eprintln!("loaded {} in {:.1}s", loaded.source, start.elapsed().as_secs_f64());
        Ok(loaded)
    }

    /// Loads the model on CPU in f32 and prints nothing (a command whose refusal must be
    /// its only line on stderr).
    pub fn load_quietly(&self) -> Result<LoadedModel> {
        let opts = LoadOptions { hub_cache: self.hub_cache.clone(), ..LoadOptions::default() };
        load_by_name(&self.model, &opts).with_context(|| format!("loading model `{}`", self.model))
    }
}

/// How an error is printed: one line, or (`--verbose`) that line and then its causes.
#[derive(Debug, Args)]
pub struct ErrorArgs {
    /// On failure, also print the error's causes, one per line, under the `error:` line
    /// (never a backtrace: errors do not capture one, whatever RUST_BACKTRACE says).
    #[arg(long, short = 'v', global = true)]
    pub verbose: bool,
}

/// Process-wide settings both binaries need before any work: no backtraces captured for
/// errors, the default SIGPIPE disposition, a clean stop on SIGTERM, the allocator kept
/// from trimming between training steps, and the element-wise thread default.
pub fn prepare_process() {
    no_error_backtraces();
    restore_sigpipe();
    stop_on_sigterm();
    loran_train::alloc::keep_freed_memory();
    loran_train::env::default_elementwise_threads();
}

/// An error that ends the process with its own exit code rather than 1 (`grid run-cell`
/// exits 3 for a diverged cell, so a scheduler's accounting tells it from a failure).
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ExitWith {
    /// The process's exit code.
    pub code: u8,
    /// The `error:` line's text.
    pub message: String,
}

/// Success, or the error printed and a failure code (1, or an [`ExitWith`]'s): see [`error_text`].
pub fn exit_code(outcome: Result<()>, errors: &ErrorArgs) -> std::process::ExitCode {
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{}", error_text(&e, errors.verbose));
            std::process::ExitCode::from(e.downcast_ref::<ExitWith>().map_or(1, |x| x.code))
        }
    }
}

/// The `error:` line, the cause chain on one line ([`loran_io::chain_line`]); with
/// `verbose`, each cause (following `source()`) on a line of its own below it, each
/// through [`loran_io::one_line`], so a multi-line library message still adds one line.
pub fn error_text(error: &anyhow::Error, verbose: bool) -> String {
    let mut text = format!("error: {}", loran_io::chain_line(&**error));
    if verbose {
        for cause in error.chain().skip(1) {
            let line = loran_io::one_line(&cause.to_string());
            if !line.is_empty() {
                text.push_str(&format!("\n  caused by: {line}"));
            }
        }
    }
    text
}

/// Errors capture no backtrace: anyhow and candle capture one whenever `RUST_BACKTRACE` or
/// `RUST_LIB_BACKTRACE` is set, and candle's message then carries it, frame by frame. The
/// tool prints errors on one line (a bug still panics with a backtrace under
/// `RUST_BACKTRACE`: that variable alone governs panics). It also saves the capture's cost.
fn no_error_backtraces() {
    // Runs first thing in `main`, before any thread exists that could read the environment.
    std::env::set_var("RUST_LIB_BACKTRACE", "0");
}

/// SIGTERM (`scancel`, a Slurm time limit, `kill`) asks training to stop after its
/// current step ([`loran_train::stop`]): the cell then records nothing and is redone
/// later. A second SIGTERM ends the process at once (exit code 143).
fn stop_on_sigterm() {
    use signal_hook::consts::SIGTERM;
    let flag = loran_train::stop::flag();
    // The conditional exit goes first, so the first signal only sets the flag.
    let registered = signal_hook::flag::register_conditional_shutdown(SIGTERM, 143, flag.clone())
        .and_then(|_| signal_hook::flag::register(SIGTERM, flag));
    if let Err(e) = registered {
        eprintln!("warning: cannot handle SIGTERM ({e}); a cancelled run stops without a clean exit");
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
