//! What the `loran` and `loran-bench` binaries share: process set-up, the exit code
//! with the error on one line, and the model- and adapter-selection flags.

use anyhow::{Context, Result};
use clap::Args;
use loran_adapters::folder;
use loran_model::{load_by_name, LoadOptions, LoadedModel, QuantMode};
use loran_train::score::prepare_for_generation;
use std::path::PathBuf;

/// The base model when none is named.
pub const DEFAULT_MODEL: &str = "smollm2-135m";

/// Which base model to load.
#[derive(Debug, Args)]
pub struct ModelArgs {
    /// Registry key (smollm2-135m, ...), HF folder, .gguf file, or hub id `org/name[@rev]`
    /// (default: smollm2-135m, or with --adapter the base model the adapter records).
    #[arg(long)]
    pub model: Option<String>,
    /// Hub cache folder (default: $HF_HOME/hub or ~/.cache/huggingface/hub).
    #[arg(long)]
    pub hub_cache: Option<PathBuf>,
}

impl ModelArgs {
    /// The model named by `--model`, else [`DEFAULT_MODEL`].
    pub fn name(&self) -> &str {
        self.model.as_deref().unwrap_or(DEFAULT_MODEL)
    }

    /// The model named by `--model`, else the base an adapter records, else [`DEFAULT_MODEL`].
    pub fn name_or(&self, recorded: Option<&str>) -> String {
        self.model.as_deref().or(recorded).unwrap_or(DEFAULT_MODEL).to_string()
    }

    /// Loads the model on CPU in f32, printing how long it took.
    pub fn load(&self) -> Result<LoadedModel> {
        self.load_named(self.name())
    }

    /// Loads the model `name` (with this hub cache) on CPU in f32, printing how long it took.
    pub fn load_named(&self, name: &str) -> Result<LoadedModel> {
        let start = std::time::Instant::now();
        let loaded = self.load_named_quietly(name)?;
        eprintln!("loaded {} in {:.1}s", loaded.source, start.elapsed().as_secs_f64());
        Ok(loaded)
    }

    /// Loads the model `name` on CPU in f32 and prints nothing (a command whose refusal
    /// must be its only line on stderr).
    pub fn load_named_quietly(&self, name: &str) -> Result<LoadedModel> {
        let opts = LoadOptions { hub_cache: self.hub_cache.clone(), ..LoadOptions::default() };
        load_by_name(name, &opts).with_context(|| format!("loading model `{name}`"))
    }
}

/// A saved adapter to put on the base model (`loran generate`, `loran perplexity`).
#[derive(Debug, Args)]
pub struct AdapterArgs {
    /// Adapter folder: a run's `adapter/`, a PEFT LoRA/DoRA folder or the LoRAN fork's
    /// MLORA folder (layout detected; see `loran_adapters::folder`).
    #[arg(long)]
    pub adapter: Option<PathBuf>,
    /// Storage of the base's linears under the adapter: none, nf4 or nf4-dq (default: the
    /// quantization the adapter records, as it was trained; else none).
    #[arg(long, requires = "adapter")]
    pub quant: Option<QuantMode>,
}

impl AdapterArgs {
    /// The base model of `model`, with the adapter (if any) on it: the base named by
    /// `--model`, else the one the adapter records, stored as the adapter was trained
    /// (or `--quant`), the adapter merged where exact and the base dequantized, which
    /// changes no output.
    pub fn load(&self, model: &ModelArgs) -> Result<LoadedModel> {
        let Some(dir) = &self.adapter else {
            return model.load();
        };
        let flag = |e: loran_adapters::AdapterError| anyhow::anyhow!("--adapter: {e}");
        let layout = folder::detect(dir).map_err(flag)?;
        let recorded = folder::recorded_base(dir).map_err(flag)?;
        let name = model.name_or(recorded.model.as_deref());
        if let Some(base) = recorded.model.as_ref().filter(|base| **base != name) {
            eprintln!("note: {} was trained on `{base}`; putting it on --model `{name}`", dir.display());
        }
        let quant = self.quant.or(recorded.quant).unwrap_or_default();
        let mut loaded = model.load_named(&name)?;
        if quant.is_quantized() {
            loaded.model.quantize_for_qlora(quant).with_context(|| format!("quantizing model `{name}` (--quant {quant})"))?;
        }
        let mut set = folder::load(dir, &mut loaded.model, 0).with_context(|| {
            let fix = recorded.model.as_ref().map_or("pass the --model it was trained on".to_string(), |base| format!("it was trained on `{base}`: pass --model {base}"));
            format!("--adapter {} does not fit --model `{name}` ({fix})", dir.display())
        })?;
        if let Some(why) = prepare_for_generation(&mut loaded.model, &mut set)? {
            eprintln!("note: {why}; running it unmerged");
        }
        eprintln!("adapter {} ({} layout, {}, r = {}) on `{name}` (quant {quant})", dir.display(), layout.name(), set.config().method, set.config().r);
        Ok(loaded)
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
