//! PEFT's on-disk layout: `adapter_config.json` + `adapter_model.safetensors`,
//! keys `base_model.model.<module>.lora_A.weight` / `lora_B.weight`.
//!
//! DoRA is PEFT's LoRA with `use_dora: true` and one more tensor per module,
//! `base_model.model.<module>.lora_magnitude_vector` (`[out]`, PEFT ≥ 0.12 naming).

use crate::config::{AdapterConfig, LayerSelection};
use crate::error::{AdapterError, Result};
use crate::files::{write_atomic, write_weights};
use crate::set::AdapterSet;
use candle_core::Device;
use loran_model::Llama;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// PEFT's config file name.
pub const CONFIG_FILE: &str = "adapter_config.json";
/// PEFT's weights file name.
pub const WEIGHTS_FILE: &str = "adapter_model.safetensors";
/// Prefix PEFT puts before module paths in weight keys.
pub const KEY_PREFIX: &str = "base_model.model.";

/// PEFT `target_modules`: a list of suffixes, or one regex string.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum TargetModules {
    /// Module-name suffixes.
    List(Vec<String>),
    /// A regular expression matched against full module names.
    Regex(String),
}

/// The fields of PEFT's `adapter_config.json` we read and write.
/// This is PEFT's format, not ours, so unknown fields are ignored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeftConfig {
    /// `LORA` for the methods we read.
    pub peft_type: String,
    /// Rank.
    pub r: usize,
    /// α.
    pub lora_alpha: f64,
    /// Dropout on the adapter input.
    #[serde(default)]
    pub lora_dropout: f64,
    /// Targeted modules.
    pub target_modules: TargetModules,
    /// rsLoRA scaling.
    #[serde(default)]
    pub use_rslora: bool,
    /// DoRA.
    #[serde(default)]
    pub use_dora: bool,
    /// Layer filter.
    #[serde(default)]
    pub layers_to_transform: Option<Vec<usize>>,
    /// Which biases are trained (`none` for us).
    #[serde(default = "default_bias")]
    pub bias: String,
    /// The base model the adapter was trained on.
    #[serde(default)]
    pub base_model_name_or_path: Option<String>,
    /// PEFT task type (`CAUSAL_LM`).
    #[serde(default)]
    pub task_type: Option<String>,
    /// True when weights are stored `[in, out]` (GPT-2 Conv1D); must be false for us.
    #[serde(default)]
    pub fan_in_fan_out: bool,
    /// Per-module rank overrides (unsupported when non-empty).
    #[serde(default)]
    pub rank_pattern: BTreeMap<String, serde_json::Value>,
    /// Per-module α overrides (unsupported when non-empty).
    #[serde(default)]
    pub alpha_pattern: BTreeMap<String, serde_json::Value>,
}

fn default_bias() -> String {
    "none".into()
}

/// A PEFT adapter as stored: its config and the shape of every tensor, by key.
#[derive(Debug, Clone)]
pub struct PeftFiles {
    /// The parsed config.
    pub config: PeftConfig,
    /// Weight key → shape.
    pub shapes: BTreeMap<String, Vec<usize>>,
}

impl PeftFiles {
    /// Module paths that carry a LoRA pair (keys without prefix and suffix).
    pub fn modules(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .shapes
            .keys()
            .filter_map(|k| k.strip_prefix(KEY_PREFIX)?.strip_suffix(".lora_A.weight").map(str::to_string))
            .collect();
        out.sort();
        out
    }
}

/// Reads a PEFT config file.
pub fn read_config(dir: &Path) -> Result<PeftConfig> {
    let path = dir.join(CONFIG_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| AdapterError::file(&path, e.to_string()))?;
    serde_json::from_str(&text).map_err(|e| AdapterError::file(&path, format!("not a PEFT config: {e}")))
}

/// Reads the config and the tensor table of any PEFT adapter folder (any base model).
pub fn inspect(dir: &Path) -> Result<PeftFiles> {
    let config = read_config(dir)?;
    let path = dir.join(WEIGHTS_FILE);
    let bytes = std::fs::read(&path).map_err(|e| AdapterError::file(&path, e.to_string()))?;
    let st = safetensors::SafeTensors::deserialize(&bytes)
        .map_err(|e| AdapterError::file(&path, format!("corrupt safetensors: {e}")))?;
    let shapes = st.tensors().into_iter().map(|(k, v)| (k, v.shape().to_vec())).collect();
    Ok(PeftFiles { config, shapes })
}

impl PeftConfig {
    /// The PEFT config equivalent of one of our LoRA or DoRA configs.
    pub fn from_adapter_config(cfg: &AdapterConfig, layers: Option<Vec<usize>>, base_model: Option<&str>) -> Self {
        Self {
            peft_type: "LORA".into(),
            r: cfg.r,
            lora_alpha: cfg.alpha,
            lora_dropout: cfg.dropout,
            target_modules: TargetModules::List(cfg.targets.clone()),
            use_rslora: cfg.rslora,
            use_dora: cfg.method == "dora",
            layers_to_transform: layers,
            bias: "none".into(),
            base_model_name_or_path: base_model.map(str::to_string),
            task_type: Some("CAUSAL_LM".into()),
            fan_in_fan_out: false,
            rank_pattern: BTreeMap::new(),
            alpha_pattern: BTreeMap::new(),
        }
    }

    /// Our config for this PEFT file (method `dora` when `use_dora` is set, else `lora`),
    /// or an error naming the unsupported field.
    pub fn to_adapter_config(&self, file: &Path) -> Result<AdapterConfig> {
        let unsupported = |what: &str| AdapterError::file(file, format!("{what} is not supported"));
        if self.peft_type != "LORA" {
            return Err(unsupported(&format!("peft_type `{}`", self.peft_type)));
        }
        if self.fan_in_fan_out {
            return Err(unsupported("fan_in_fan_out"));
        }
        if self.bias != "none" {
            return Err(unsupported(&format!("bias `{}`", self.bias)));
        }
        if !self.rank_pattern.is_empty() || !self.alpha_pattern.is_empty() {
            return Err(unsupported("rank_pattern/alpha_pattern"));
        }
        let targets = match &self.target_modules {
            TargetModules::List(v) => v.clone(),
            TargetModules::Regex(r) => return Err(unsupported(&format!("a regex target_modules (`{r}`); list the module names"))),
        };
        Ok(AdapterConfig {
            method: if self.use_dora { "dora" } else { "lora" }.into(),
            r: self.r,
            alpha: self.lora_alpha,
            dropout: self.lora_dropout,
            targets,
            layers: self.layers_to_transform.clone().map(LayerSelection::Indices),
            rslora: self.use_rslora,
            ..AdapterConfig::default()
        })
    }
}

/// Methods PEFT's LoRA layout can hold.
pub const PEFT_METHODS: [&str; 2] = ["lora", "dora"];

/// Writes a LoRA or DoRA set in PEFT's layout into `dir` (created if needed).
pub fn save(set: &AdapterSet, model: &Llama, dir: &Path, base_model: Option<&str>) -> Result<()> {
    write_config(set, model, dir, base_model)?;
    write_weights(&dir.join(WEIGHTS_FILE), KEY_PREFIX, set.named_parameters())
}

/// Writes only PEFT's `adapter_config.json` for a LoRA or DoRA set into `dir` (created if
/// needed): [`crate::folder`] pairs it with the native weights file, whose keys are PEFT's.
pub fn write_config(set: &AdapterSet, model: &Llama, dir: &Path, base_model: Option<&str>) -> Result<()> {
    if !PEFT_METHODS.contains(&set.config().method.as_str()) {
        return Err(AdapterError::config("method", format!("PEFT files hold LoRA and DoRA; `{}` has its own format", set.config().method)));
    }
    std::fs::create_dir_all(dir).map_err(|e| AdapterError::file(dir, e.to_string()))?;
    let layers = set.config().layers.as_ref().map(|l| l.indices(model.config().num_hidden_layers));
    let config = PeftConfig::from_adapter_config(set.config(), layers, base_model);
    let text = serde_json::to_string_pretty(&config).expect("config serializes");
    write_atomic(&dir.join(CONFIG_FILE), text.as_bytes())
}

/// Loads a PEFT LoRA or DoRA folder onto `model`: builds the set from the config, then
/// overwrites every parameter with the stored tensor. Missing, extra or
/// mis-shaped keys are errors naming the key.
pub fn load(dir: &Path, model: &mut Llama, seed: u64) -> Result<AdapterSet> {
    let config_path = dir.join(CONFIG_FILE);
    let cfg = read_config(dir)?.to_adapter_config(&config_path)?;
    let weights_path = dir.join(WEIGHTS_FILE);
    if !weights_path.exists() {
        return Err(AdapterError::file(&weights_path, "file not found"));
    }
    let mut stored = candle_core::safetensors::load(&weights_path, &Device::Cpu)
        .map_err(|e| AdapterError::file(&weights_path, format!("corrupt safetensors: {e}")))?;
    let set = AdapterSet::attach(model, &cfg, seed)?;
    for (name, var) in set.named_parameters() {
        let key = format!("{KEY_PREFIX}{name}");
        let tensor = stored.remove(&key).ok_or_else(|| AdapterError::file(&weights_path, format!("missing key `{key}`")))?;
        if tensor.dims() != var.dims() {
            return Err(AdapterError::file(&weights_path, format!("`{key}` has shape {:?}, the model needs {:?}", tensor.dims(), var.dims())));
        }
        var.set(&tensor.to_dtype(var.dtype())?.to_device(var.device())?)?;
    }
    if let Some(extra) = stored.keys().min() {
        return Err(AdapterError::file(&weights_path, format!("key `{extra}` matches no adapted module of this model")));
    }
    Ok(set)
}
