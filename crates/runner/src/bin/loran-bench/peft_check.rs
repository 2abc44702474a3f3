//! `loran-bench peft-export` and `peft-logits`: our side of `just check-peft`, which
//! checks PEFT interop on real files in both directions (`bench/check_peft.py` is PEFT's
//! side).
//!
//! - `peft-export --out DIR` writes the tiny model as an HF folder (`base/`), a LoRA
//!   adapter on it in PEFT's layout (`ours/`, random nonzero B, r ≠ α), the logits our
//!   adapted model gives on fixed token ids (`ours_logits.json`) and the adapter merged
//!   into the base (`merged/`, what `loran merge` writes). Python loads `ours/` with
//!   `PeftModel.from_pretrained` and `merged/` with transformers alone, and compares.
//! - `peft-logits --model DIR --adapter DIR --expect FILE` loads a PEFT adapter that
//!   PEFT wrote, computes the logits on the file's token ids, prints the largest
//!   difference from the file's logits and fails above `--tol`.

use anyhow::{bail, Context, Result};
use candle_core::{Device, Tensor};
use clap::Args;
use loran_adapters::{folder, peft, AdapterConfig, AdapterSet};
use loran_model::load::{load_hf_folder, LoadOptions};
use loran_model::synthetic::uniform;
use loran_model::tiny::{tiny_model, tiny_tokenizer};
use loran_model::Llama;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Token ids both sides score: specials, single bytes and merged tokens of the tiny vocabulary.
pub const IDS: [u32; 12] = [1, 75, 104, 101, 259, 35, 102, 262, 263, 36, 200, 2];

/// Arguments of `loran-bench peft-export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Folder to write `base/`, `ours/`, `merged/` and `ours_logits.json` into.
    #[arg(long)]
    out: PathBuf,
    /// Seed of the tiny model and of the adapter's B.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

/// Arguments of `loran-bench peft-logits`.
#[derive(Debug, Args)]
pub struct LogitsArgs {
    /// The HF model folder the adapter was made on.
    #[arg(long)]
    model: PathBuf,
    /// The PEFT adapter folder.
    #[arg(long)]
    adapter: PathBuf,
    /// Logits JSON (`ids`, `logits`) that PEFT computed.
    #[arg(long)]
    expect: PathBuf,
    /// Largest accepted absolute logit difference.
    #[arg(long, default_value_t = 1e-4)]
    tol: f32,
}

/// Logits of one sequence, as both sides write and read them.
#[derive(Debug, Serialize, Deserialize)]
pub struct Logits {
    /// The token ids scored.
    pub ids: Vec<u32>,
    /// `[len(ids)][vocab]` logits.
    pub logits: Vec<Vec<f32>>,
}

/// Our side's LoRA: q, v and down projections, r = 4, α = 12 (s = 3), no dropout.
fn adapter_config() -> AdapterConfig {
    AdapterConfig {
        method: "lora".into(),
        r: 4,
        alpha: 12.0,
        dropout: 0.0,
        targets: ["q_proj", "v_proj", "down_proj"].map(String::from).to_vec(),
        ..AdapterConfig::default()
    }
}

fn logits(model: &Llama, ids: &[u32]) -> Result<Tensor> {
    let ids = Tensor::new(ids, &Device::Cpu)?.unsqueeze(0)?;
    Ok(model.forward(&ids, 0, None)?.squeeze(0)?)
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> Result<f32> {
    Ok((a - b)?.abs()?.flatten_all()?.max(0)?.to_scalar::<f32>()?)
}

/// Runs `peft-export`.
pub fn export(args: ExportArgs) -> Result<()> {
    let mut model = tiny_model(args.seed)?;
    let tokenizer = tiny_tokenizer();
    model.save_hf_folder(&tokenizer, &args.out.join("base"))?;
    let base = logits(&model, &IDS)?;
    let mut set = AdapterSet::attach(&mut model, &adapter_config(), args.seed)?;
    for (i, (name, var)) in set.named_parameters().into_iter().enumerate() {
        if name.ends_with("lora_B.weight") {
            var.set(&uniform(var.dims(), 0.5, args.seed * 1000 + i as u64))?;
        }
    }
    peft::save(&set, &model, &args.out.join("ours"), Some("base"))?;
    let adapted = logits(&model, &IDS)?;
    write_json(&args.out.join("ours_logits.json"), &Logits { ids: IDS.to_vec(), logits: adapted.to_vec2()? })?;
    set.merge(&mut model)?;
    model.save_hf_folder(&tokenizer, &args.out.join("merged"))?;
    let merged = logits(&model, &IDS)?;
    println!(
        "wrote {}: LoRA r=4 α=12 on q_proj, v_proj, down_proj (moves the logits by up to {:.3e}; merged in our forward: {:.3e} from the adapter's)",
        args.out.display(),
        max_abs_diff(&adapted, &base)?,
        max_abs_diff(&merged, &adapted)?
    );
    Ok(())
}

/// Runs `peft-logits`: prints the largest difference and fails above the tolerance.
pub fn peft_logits(args: LogitsArgs) -> Result<()> {
    let text = std::fs::read_to_string(&args.expect).with_context(|| format!("reading {}", args.expect.display()))?;
    let expected: Logits = serde_json::from_str(&text).with_context(|| format!("{}: not a logits file", args.expect.display()))?;
    let (mut model, _) = load_hf_folder(&args.model, &LoadOptions::default())?;
    let base = logits(&model, &expected.ids)?;
    // Through the layout detection `--adapter` uses, which must find PEFT's layout here.
    let layout = folder::detect(&args.adapter)?;
    anyhow::ensure!(layout == folder::Layout::Peft, "{}: detected as {} layout, not PEFT", args.adapter.display(), layout.name());
    let set = folder::load(&args.adapter, &mut model, 0)?;
    let ours = logits(&model, &expected.ids)?;
    let vocab = expected.logits.first().map_or(0, Vec::len);
    let rows = expected.logits.len();
    let theirs = Tensor::from_vec(expected.logits.concat(), (rows, vocab), &Device::Cpu).context("the expected logits are not a [ids × vocab] table")?;
    let diff = max_abs_diff(&ours, &theirs)?;
    println!(
        "PEFT → loran: max |Δlogit| = {diff:.3e} over {} logits ({} modules, r={}, α={}; the adapter moves the logits by up to {:.3e})",
        theirs.elem_count(),
        set.module_names().len(),
        set.config().r,
        set.config().alpha,
        max_abs_diff(&ours, &base)?
    );
    if diff > args.tol {
        bail!("PEFT → loran: max |Δlogit| = {diff:.3e} is above the tolerance {:e}", args.tol);
    }
    Ok(())
}

fn write_json(path: &Path, value: &impl Serialize) -> Result<()> {
    loran_io::write_atomic(path, serde_json::to_string(value)?.as_bytes()).with_context(|| format!("writing {}", path.display()))
}
