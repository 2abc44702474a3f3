//! `loran merge --model M --adapter DIR --out DIR`: folds a trained adapter into its base
//! model and writes a plain HF folder (config.json, tokenizer.json, model.safetensors),
//! which our `--model DIR` and transformers load without any adapter code.
//!
//! Every method whose update lives in weight space merges exactly (`W0' = W0 + ΔW`, ΔW as
//! the method defines it: [`loran_adapters::Adapter::merged_delta`]); one whose
//! nonlinearity acts on the input (NoLoRA-style) is refused with the reason. A QLoRA
//! adapter was trained over an NF4 base: the merged folder holds that dequantized base
//! plus ΔW in f32, which the command says.

use anyhow::{bail, Context, Result};
use clap::Args;
use loran_adapters::folder;
use loran_model::QuantMode;
use loran_runner::cli::ModelArgs;
use loran_train::dir::{read_config, CONFIG_FILE};
use std::path::{Path, PathBuf};

/// Arguments of `loran merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    #[command(flatten)]
    model: ModelArgs,
    /// The adapter folder (PEFT `adapter_config.json`, loran-lab `loran_adapter.json`, or
    /// the LoRAN fork's MLORA layout, detected by [`folder::detect`]), e.g. a run's `adapter/`.
    #[arg(long)]
    adapter: PathBuf,
    /// The folder to write; it must not exist yet, or be empty.
    #[arg(long)]
    out: PathBuf,
    /// How the base was stored when the adapter was trained: none, nf4 (QLoRA) or nf4-dq.
    /// Default: the quantization the adapter records, else the `quant` of the run's
    /// config.resolved.yaml next to it, else none.
    #[arg(long)]
    quant: Option<QuantMode>,
}

/// Runs the command.
pub fn run(args: MergeArgs) -> Result<()> {
    if std::fs::read_dir(&args.out).is_ok_and(|mut entries| entries.next().is_some()) {
        bail!("{}: the output folder exists and is not empty; choose a new folder", args.out.display());
    }
    let flag = |e: loran_adapters::AdapterError| anyhow::anyhow!("--adapter: {e}");
    let recorded = folder::recorded_base(&args.adapter).map_err(flag)?;
    let quant = match args.quant.or(recorded.quant) {
        Some(q) => q,
        None => run_quant(&args.adapter)?,
    };
    let name = args.model.name_or(recorded.model.as_deref());
    let loaded = args.model.load_named_quietly(&name)?;
    let mut model = loaded.model;
    if quant != QuantMode::None {
        model.quantize_for_qlora(quant).with_context(|| format!("quantizing the base ({quant})"))?;
    }
    // The seed only draws init and dropout, which the stored tensors replace or evaluation skips.
    let mut set = folder::load(&args.adapter, &mut model, 0).map_err(flag)?;
    let method = set.config().method.clone();
    set.merge(&mut model)?;
    model.save_hf_folder(&loaded.tokenizer, &args.out)?;
    println!("merged `{method}` ({} modules) into {}: W0 + ΔW, f32", set.module_names().len(), args.out.display());
    if quant != QuantMode::None {
        println!(
            "note: the adapter was trained over an {quant} base (QLoRA): every linear is written as the dequantized {quant} weight (+ ΔW where adapted), in f32; the original full-precision base is not used"
        );
    }
    Ok(())
}

/// The `quant` of the run whose `adapter/` folder `adapter` is (its parent's
/// `config.resolved.yaml`), or none when the folder is not inside a run.
fn run_quant(adapter: &Path) -> Result<QuantMode> {
    match adapter.parent().filter(|run| run.join(CONFIG_FILE).is_file()) {
        Some(run) => Ok(read_config(run)?.quant),
        None => Ok(QuantMode::None),
    }
}
