//! One adapter folder for every method, and one loader for every layout we read.
//!
//! [`save`] writes (training runs do, as `RUN/adapter/`):
//! - `loran_adapter.json`, always: loran-lab's exact `adapter:` config, the base model and
//!   its quantization ([`crate::native`]);
//! - `adapter_model.safetensors`, always: every tensor under `base_model.model.<module>.<suffix>`.
//!   For LoRA and DoRA these are exactly PEFT's keys (`lora_A.weight`, `lora_B.weight`,
//!   `lora_magnitude_vector`), for LoRAN exactly the MLORA fork's (`mlora_A`, `mlora_B`),
//!   so the one file serves every layout below;
//! - `adapter_config.json`, beside them when a foreign layout can hold the method: PEFT's
//!   (`peft_type: LORA`) for LoRA, QLoRA and DoRA, so PEFT's
//!   `PeftModel.from_pretrained(base, "RUN/adapter")` loads the folder as it is; the fork's
//!   (`peft_type: MLORA`) for LoRAN (the fork's own loader takes square targets only, see
//!   [`crate::mlora`]). A method has at most
//!   one of the two, so the name never collides. NoLoRA-, NA-LoRA-style and Sine-LoRA have
//!   no such layout and get none.
//!
//! [`load`] reads any of them: [`detect`] picks loran-lab's layout when its config is there,
//! else PEFT's or the fork's by `adapter_config.json`'s `peft_type`.

use crate::error::{AdapterError, Result};
use crate::set::AdapterSet;
use crate::{mlora, native, peft};
use loran_model::{Llama, QuantMode};
use std::path::Path;

/// The layouts an adapter folder can be in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// loran-lab's own ([`crate::native`]): every method, exact.
    Native,
    /// PEFT's LoRA layout ([`crate::peft`]): LoRA and DoRA.
    Peft,
    /// The LoRAN fork's MLORA layout ([`crate::mlora`]): LoRAN.
    Mlora,
}

impl Layout {
    /// The name used in messages.
    pub fn name(self) -> &'static str {
        match self {
            Layout::Native => "loran-lab",
            Layout::Peft => "PEFT",
            Layout::Mlora => "MLORA",
        }
    }
}

/// What [`save`] wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct Saved {
    /// The layouts the folder can be read as, native first.
    pub layouts: Vec<Layout>,
    /// Why a layout that usually holds the method was left out (e.g. LoRAN with rsLoRA has
    /// no MLORA form), for the run's warnings.
    pub skipped: Option<String>,
}

/// The base model a folder says its adapter was trained on, as far as it records it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecordedBase {
    /// The model name or path (`base_model` / `base_model_name_or_path`).
    pub model: Option<String>,
    /// The base's quantization (only loran-lab's layout records it).
    pub quant: Option<QuantMode>,
}

/// The foreign layout that can hold `method`, if any.
fn foreign_layout(method: &str) -> Option<Layout> {
    if peft::PEFT_METHODS.contains(&method) {
        Some(Layout::Peft)
    } else if method == "loran" {
        Some(Layout::Mlora)
    } else {
        None
    }
}

/// Writes `set`, trained on `base_model` stored as `quant`, into `dir` (created if needed)
/// in loran-lab's layout plus PEFT's or the fork's config where the method has one.
pub fn save(set: &AdapterSet, model: &Llama, dir: &Path, base_model: &str, quant: QuantMode) -> Result<Saved> {
    native::save(set, dir, Some(base_model), Some(quant))?;
    let mut saved = Saved { layouts: vec![Layout::Native], skipped: None };
    let Some(layout) = foreign_layout(&set.config().method) else {
        return Ok(saved);
    };
    // The shared weights file holds the state too: a foreign layout only fits without any.
    let written = if set.named_state()?.is_empty() {
        match layout {
            Layout::Peft => peft::write_config(set, model, dir, Some(base_model)),
            _ => mlora::write_config(set, model, dir, Some(base_model)),
        }
    } else {
        Err(AdapterError::config("method", "the method keeps state the format has no place for"))
    };
    match written {
        Ok(()) => saved.layouts.push(layout),
        Err(e) => saved.skipped = Some(format!("the adapter has no {} form ({e}); it is saved in loran-lab's layout only", layout.name())),
    }
    Ok(saved)
}

/// The layout of the adapter folder `dir`: loran-lab's when `loran_adapter.json` is there,
/// else PEFT's or the fork's by `adapter_config.json`'s `peft_type`. The error names the
/// folder and what is missing.
pub fn detect(dir: &Path) -> Result<Layout> {
    if !dir.is_dir() {
        return Err(AdapterError::file(dir, "no such adapter folder"));
    }
    if dir.join(native::CONFIG_FILE).is_file() {
        return Ok(Layout::Native);
    }
    let config = dir.join(peft::CONFIG_FILE);
    if !config.is_file() {
        return Err(AdapterError::file(
            dir,
            format!(
                "not an adapter folder: it has neither `{}` (loran-lab) nor `{}` (PEFT or the LoRAN fork); pass a run's `adapter/` folder",
                native::CONFIG_FILE,
                peft::CONFIG_FILE
            ),
        ));
    }
    let text = std::fs::read_to_string(&config).map_err(|e| AdapterError::file(&config, e.to_string()))?;
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| AdapterError::file(&config, format!("not JSON: {e}")))?;
    match value.get("peft_type").and_then(|v| v.as_str()) {
        Some("LORA") => Ok(Layout::Peft),
        Some(mlora::PEFT_TYPE) => Ok(Layout::Mlora),
        other => Err(AdapterError::file(
            &config,
            format!("peft_type {}: only `LORA` (LoRA, DoRA) and `{}` (LoRAN) adapters are read", other.map_or("missing".into(), |t| format!("`{t}`")), mlora::PEFT_TYPE),
        )),
    }
}

/// The base model (and, in loran-lab's layout, its quantization) the folder records, so
/// commands can load the base the adapter was trained on.
pub fn recorded_base(dir: &Path) -> Result<RecordedBase> {
    Ok(match detect(dir)? {
        Layout::Native => {
            let config = native::read_config(dir)?;
            RecordedBase { model: config.base_model, quant: config.base_quant }
        }
        Layout::Peft => RecordedBase { model: peft::read_config(dir)?.base_model_name_or_path, quant: None },
        Layout::Mlora => RecordedBase { model: mlora::read_config(dir)?.base_model_name_or_path, quant: None },
    })
}

/// Loads the adapter folder `dir`, in whichever layout [`detect`] finds, onto `model`
/// (`seed` drives only what the stored tensors do not fix, such as dropout masks).
pub fn load(dir: &Path, model: &mut Llama, seed: u64) -> Result<AdapterSet> {
    match detect(dir)? {
        Layout::Native => native::load(dir, model, seed),
        Layout::Peft => peft::load(dir, model, seed),
        Layout::Mlora => mlora::load(dir, model, seed),
    }
}

#[cfg(test)]
#[path = "folder_tests.rs"]
mod tests;
