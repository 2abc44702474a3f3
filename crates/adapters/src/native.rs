//! loran-lab's own adapter folder, for every method (the PEFT and MLORA layouts hold
//! only LoRA/DoRA and LoRAN): `loran_adapter.json` (our `adapter:` config, the base
//! model and its quantization) and `adapter_model.safetensors` with PEFT-style keys
//! `base_model.model.<module>.<suffix>` for the trainable tensors and, under the same
//! prefix, the methods' state (e.g. NA-LoRA's `na_lora_mask`). For LoRA and DoRA these
//! keys are PEFT's, for LoRAN the MLORA fork's, so [`crate::folder`] shares the file.

use crate::config::AdapterConfig;
use crate::error::{AdapterError, Result};
use crate::files::{write_atomic, write_tensors};
use crate::peft::{KEY_PREFIX, WEIGHTS_FILE};
use crate::set::AdapterSet;
use candle_core::Device;
use loran_model::{Llama, QuantMode};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The config file's name.
pub const CONFIG_FILE: &str = "loran_adapter.json";
/// The `format` field's value.
pub const FORMAT: &str = "loran-lab-adapter";

/// The contents of `loran_adapter.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NativeConfig {
    /// Always [`FORMAT`].
    pub format: String,
    /// Format version (1).
    pub version: u32,
    /// The adapter settings the set was built with.
    pub adapter: AdapterConfig,
    /// The adapted modules, in model order (a check on load).
    pub modules: Vec<String>,
    /// The base model the adapter was trained on, if known.
    #[serde(default)]
    pub base_model: Option<String>,
    /// How the base's linears were stored in training (`none`, `nf4`, `nf4-dq`), so a
    /// reload adapts the same base; absent in folders written before it was recorded.
    #[serde(default)]
    pub base_quant: Option<QuantMode>,
}

/// Writes `set` (weights and state) into `dir`, created if needed, recording the base
/// model and its quantization when known.
pub fn save(set: &AdapterSet, dir: &Path, base_model: Option<&str>, base_quant: Option<QuantMode>) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| AdapterError::file(dir, e.to_string()))?;
    let mut tensors: Vec<_> = set.named_parameters().into_iter().map(|(n, v)| (n, v.as_tensor().clone())).collect();
    tensors.extend(set.named_state()?);
    write_tensors(&dir.join(WEIGHTS_FILE), KEY_PREFIX, tensors)?;
    let config = NativeConfig {
        format: FORMAT.into(),
        version: 1,
        adapter: set.config().clone(),
        modules: set.module_names().into_iter().map(str::to_string).collect(),
        base_model: base_model.map(str::to_string),
        base_quant,
    };
    let text = serde_json::to_string_pretty(&config).expect("config serializes");
    write_atomic(&dir.join(CONFIG_FILE), text.as_bytes())
}

/// Reads and checks `loran_adapter.json` in `dir`.
pub fn read_config(dir: &Path) -> Result<NativeConfig> {
    let config_path = dir.join(CONFIG_FILE);
    let text = std::fs::read_to_string(&config_path).map_err(|e| AdapterError::file(&config_path, e.to_string()))?;
    let config: NativeConfig =
        serde_json::from_str(&text).map_err(|e| AdapterError::file(&config_path, format!("not a loran-lab adapter config: {e}")))?;
    if config.format != FORMAT || config.version != 1 {
        return Err(AdapterError::file(&config_path, format!("format `{}` v{} is not `{FORMAT}` v1", config.format, config.version)));
    }
    Ok(config)
}

/// Loads a folder written by [`save`] onto `model`: builds the set from the stored
/// config, then restores every parameter and state tensor. Missing, extra or
/// mis-shaped keys are errors naming the file and the key.
pub fn load(dir: &Path, model: &mut Llama, seed: u64) -> Result<AdapterSet> {
    let config_path = dir.join(CONFIG_FILE);
    let config = read_config(dir)?;
    let weights_path = dir.join(WEIGHTS_FILE);
    let mut stored = candle_core::safetensors::load(&weights_path, &Device::Cpu)
        .map_err(|e| AdapterError::file(&weights_path, format!("unreadable or corrupt safetensors: {e}")))?;
    let set = AdapterSet::attach(model, &config.adapter, seed)?;
    let modules: Vec<&str> = set.module_names();
    if modules != config.modules.iter().map(String::as_str).collect::<Vec<_>>() {
        return Err(AdapterError::file(&config_path, "the adapted modules differ from this model's (was it saved from another base model?)"));
    }
    let mut take = |name: &str| {
        let key = format!("{KEY_PREFIX}{name}");
        stored.remove(&key).ok_or_else(|| AdapterError::file(&weights_path, format!("missing key `{key}`")))
    };
    for (name, var) in set.named_parameters() {
        let tensor = take(&name)?;
        if tensor.dims() != var.dims() {
            return Err(AdapterError::file(&weights_path, format!("`{name}` has shape {:?}, the model needs {:?}", tensor.dims(), var.dims())));
        }
        var.set(&tensor.to_dtype(var.dtype())?.to_device(var.device())?)?;
    }
    for (name, _) in set.named_state()? {
        let tensor = take(&name)?;
        set.set_state(&name, &tensor).map_err(|e| AdapterError::file(&weights_path, format!("`{name}`: {e}")))?;
    }
    if let Some(extra) = stored.keys().min() {
        return Err(AdapterError::file(&weights_path, format!("key `{extra}` matches no adapted module of this model")));
    }
    Ok(set)
}
