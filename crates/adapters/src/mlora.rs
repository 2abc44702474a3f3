//! LoRAN adapter files in the official code's format: a PEFT fork whose
//! `MLoraConfig` has `peft_type: "MLORA"`.
//!
//! The fork keeps per-layer ParameterDicts `mlora_A [r0, r1]` and `mlora_B [out, r0]`
//! (optionally P matrices and b vectors, which the paper configuration does not
//! use). For the paper configuration `r = [r, d_in]`, so `mlora_A` is `[r, d_in]`,
//! and the scale is `mlora_alpha / r[0]`.
//!
//! - `adapter_config.json`: `peft_type`, `r: [r, d_in]`, `mlora_alpha`, `mlora_dropout`,
//!   `mlora_af` (the fork's activation name), `mlora_af_sin_A`, `mlora_af_sin_omega`,
//!   `mlora_use_P: false`, `mlora_use_b: false`, `target_modules`,
//!   `layers_to_transform`, `bias: "none"`, `fan_in_fan_out: false`,
//!   `init_mlora_weights: true`, `task_type: "CAUSAL_LM"`, `base_model_name_or_path`,
//!   plus our own `loran_lab_activation` (name and every parameter), so that
//!   parameters the fork has no field for (swish's β, leaky-relu's slope) round-trip exactly.
//! - `adapter_model.safetensors`: `base_model.model.<module>.mlora_A` and `.mlora_B`
//!   (PEFT strips the adapter name from ParameterDict keys, leaving no `.weight`).
//!
//! Limits of the format: one `r` list for all modules, so every adapted module must
//! have the same input width (q_proj and v_proj do in LLaMA); no rsLoRA. The fork's
//! own loader also insists that `r[1]` equals each module's *output* width when P is
//! off, so the fork itself can only load square targets; our files are still exact.

use crate::activations::ActivationConfig;
use crate::config::{AdapterConfig, LayerSelection};
use crate::error::{AdapterError, Result};
use crate::files::{write_atomic, write_weights};
use crate::loran::A_SUFFIX;
use crate::peft::{TargetModules, CONFIG_FILE, KEY_PREFIX, WEIGHTS_FILE};
use crate::set::AdapterSet;
use candle_core::{Device, Tensor};
use loran_model::Llama;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};
use std::path::Path;

/// The fork's `peft_type`.
pub const PEFT_TYPE: &str = "MLORA";
/// Our extra config key: the exact activation (name and every parameter).
pub const ACTIVATION_KEY: &str = "loran_lab_activation";

/// Our activation names and the fork's `mlora_af` names for the ones it has.
///
/// The fork lacks the others (`swish`, `gaussian`, `cos`, `sigmoid-centered`,
/// `leaky-relu`, `softsign`, ...): for those, `mlora_af` holds our registry name,
/// which the fork rejects ("not supported in MLoRA") but our loader reads.
pub const FORK_ACTIVATIONS: &[(&str, &str)] =
    &[("identity", "Identity"), ("sigmoid", "Sigmoid"), ("tanh", "Tanh"), ("relu", "ReLU"), ("silu", "SiLU"), ("sinter", "Sin")];

/// The fork's name for one of our activations (our name where the fork has none).
pub fn fork_activation_name(name: &str) -> &str {
    FORK_ACTIVATIONS.iter().find(|(ours, _)| *ours == name).map(|(_, fork)| *fork).unwrap_or(name)
}

/// The fork's `layers_to_transform`: one index or a list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum LayersToTransform {
    /// One layer.
    One(usize),
    /// Several layers.
    Many(Vec<usize>),
}

/// The fields of the fork's `adapter_config.json` we read and write.
/// Absent fields take the fork's dataclass defaults; unknown fields are ignored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MloraConfig {
    /// `MLORA`.
    pub peft_type: String,
    /// `[r, d_in]` for the paper configuration.
    pub r: Vec<usize>,
    /// α; the scale is `mlora_alpha / r[0]`.
    pub mlora_alpha: f64,
    /// Dropout on the adapter input.
    #[serde(default)]
    pub mlora_dropout: f64,
    /// The fork's activation name (`Sin`, `Sigmoid`, ...; see [`FORK_ACTIVATIONS`]).
    #[serde(default = "fork_default_af")]
    pub mlora_af: String,
    /// Sinter's A (the fork reads it only for `Sin`).
    #[serde(rename = "mlora_af_sin_A", default = "fork_default_sin_a")]
    pub mlora_af_sin_a: f64,
    /// Sinter's ω (the fork reads it only for `Sin`).
    #[serde(default = "fork_default_sin_omega")]
    pub mlora_af_sin_omega: f64,
    /// P matrices between the layers (unsupported; false in the paper configuration).
    #[serde(rename = "mlora_use_P", default = "yes")]
    pub mlora_use_p: bool,
    /// b vectors (unsupported; false in the paper configuration).
    #[serde(default = "yes")]
    pub mlora_use_b: bool,
    /// Targeted modules.
    pub target_modules: TargetModules,
    /// Layer filter.
    #[serde(default)]
    pub layers_to_transform: Option<LayersToTransform>,
    /// Which biases are trained (`none` for us).
    #[serde(default = "bias_none")]
    pub bias: String,
    /// True when weights are stored `[in, out]`; must be false for us.
    #[serde(default)]
    pub fan_in_fan_out: bool,
    /// The fork's default init (A kaiming-uniform, B zero).
    #[serde(default = "yes")]
    pub init_mlora_weights: bool,
    /// PEFT task type (`CAUSAL_LM`).
    #[serde(default)]
    pub task_type: Option<String>,
    /// The base model the adapter was trained on.
    #[serde(default)]
    pub base_model_name_or_path: Option<String>,
    /// Our exact activation config (absent in the fork's own files).
    #[serde(rename = "loran_lab_activation", default, skip_serializing_if = "Option::is_none")]
    pub loran_lab_activation: Option<ActivationConfig>,
}

fn fork_default_af() -> String {
    "Sigmoid".into()
}
fn fork_default_sin_a() -> f64 {
    0.0005
}
fn fork_default_sin_omega() -> f64 {
    1000.0
}
fn yes() -> bool {
    true
}
fn bias_none() -> String {
    "none".into()
}

impl MloraConfig {
    /// The fork's config for one of our LoRAN configs, whose modules all have input width `d_in`.
    pub fn from_adapter_config(cfg: &AdapterConfig, d_in: usize, layers: Option<Vec<usize>>, base_model: Option<&str>) -> Result<Self> {
        if cfg.method != "loran" {
            return Err(AdapterError::config("method", format!("MLORA files hold LoRAN; `{}` has its own format", cfg.method)));
        }
        if cfg.rslora {
            return Err(AdapterError::config(
                "rslora",
                "the MLORA format has no rsLoRA scaling (its scale is mlora_alpha / r[0]); use rslora: false to write these files",
            ));
        }
        let activation = crate::loran::activation(cfg);
        // Sinter's own values when it is the activation; the paper's (unused by the fork) otherwise.
        let sinter = if activation.name == "sinter" { activation.clone() } else { ActivationConfig::default() };
        Ok(Self {
            peft_type: PEFT_TYPE.into(),
            r: vec![cfg.r, d_in],
            mlora_alpha: cfg.alpha,
            mlora_dropout: cfg.dropout,
            mlora_af: fork_activation_name(&activation.name).into(),
            mlora_af_sin_a: sinter.params["amplitude"],
            mlora_af_sin_omega: sinter.params["omega"],
            mlora_use_p: false,
            mlora_use_b: false,
            target_modules: TargetModules::List(cfg.targets.clone()),
            layers_to_transform: layers.map(LayersToTransform::Many),
            bias: "none".into(),
            fan_in_fan_out: false,
            init_mlora_weights: true,
            task_type: Some("CAUSAL_LM".into()),
            base_model_name_or_path: base_model.map(str::to_string),
            loran_lab_activation: Some(activation),
        })
    }

    /// The activation this file describes: our exact config when present (checked
    /// against `mlora_af`), else read from `mlora_af` (and the Sin fields).
    pub fn activation(&self, file: &Path) -> Result<ActivationConfig> {
        let bad = |detail: String| AdapterError::file(file, detail);
        if let Some(ours) = &self.loran_lab_activation {
            let ours = ours.normalized().map_err(|e| bad(format!("{ACTIVATION_KEY}: {e}")))?;
            if fork_activation_name(&ours.name) != self.mlora_af {
                return Err(bad(format!("mlora_af `{}` disagrees with {ACTIVATION_KEY} `{}`", self.mlora_af, ours.name)));
            }
            if ours.name == "sinter" && (ours.params["amplitude"] != self.mlora_af_sin_a || ours.params["omega"] != self.mlora_af_sin_omega) {
                return Err(bad(format!("mlora_af_sin_A/mlora_af_sin_omega disagree with {ACTIVATION_KEY}")));
            }
            return Ok(ours);
        }
        let name = FORK_ACTIVATIONS
            .iter()
            .find(|(_, fork)| *fork == self.mlora_af)
            .map(|(ours, _)| ours.to_string())
            .or_else(|| crate::activations::find(&self.mlora_af).map(|s| s.name.to_string()))
            .ok_or_else(|| {
                let fork: Vec<&str> = FORK_ACTIVATIONS.iter().map(|(_, f)| *f).collect();
                let ours: Vec<&str> = crate::activations::ACTIVATIONS.iter().map(|s| s.name).collect();
                bad(format!(
                    "mlora_af `{}` is not supported (the fork's names we read: {}; or one of ours: {})",
                    self.mlora_af,
                    fork.join(", "),
                    ours.join(", ")
                ))
            })?;
        let mut cfg = ActivationConfig::named(&name).map_err(|e| bad(e.to_string()))?;
        if name == "sinter" {
            cfg = cfg
                .with("amplitude", self.mlora_af_sin_a)
                .and_then(|c| c.with("omega", self.mlora_af_sin_omega))
                .map_err(|e| bad(format!("mlora_af_sin_A/mlora_af_sin_omega: {e}")))?;
        }
        Ok(cfg)
    }

    /// Our config for this file, or an error naming the unsupported field.
    pub fn to_adapter_config(&self, file: &Path) -> Result<AdapterConfig> {
        let unsupported = |what: String| AdapterError::file(file, format!("{what} is not supported"));
        if self.peft_type != PEFT_TYPE {
            return Err(unsupported(format!("peft_type `{}` (expected `{PEFT_TYPE}`)", self.peft_type)));
        }
        if self.mlora_use_p || self.mlora_use_b {
            return Err(unsupported("mlora_use_P/mlora_use_b (the paper configuration has neither)".into()));
        }
        if self.fan_in_fan_out {
            return Err(unsupported("fan_in_fan_out".into()));
        }
        if self.bias != "none" {
            return Err(unsupported(format!("bias `{}`", self.bias)));
        }
        if self.r.len() != 2 || self.r[0] == 0 {
            return Err(unsupported(format!("r = {:?} (expected [r, d_in] with r ≥ 1)", self.r)));
        }
        let targets = match &self.target_modules {
            TargetModules::List(v) => v.clone(),
            TargetModules::Regex(r) => return Err(unsupported(format!("a regex target_modules (`{r}`); list the module names"))),
        };
        let layers = match &self.layers_to_transform {
            None => None,
            Some(LayersToTransform::One(i)) => Some(LayerSelection::Indices(vec![*i])),
            Some(LayersToTransform::Many(v)) => Some(LayerSelection::Indices(v.clone())),
        };
        AdapterConfig {
            method: "loran".into(),
            r: self.r[0],
            alpha: self.mlora_alpha,
            dropout: self.mlora_dropout,
            targets,
            layers,
            // rslora stays false: the format has no rsLoRA scaling.
            ..AdapterConfig::default()
        }
        .with("activation", self.activation(file)?)
    }
}

/// Reads an MLORA config file.
pub fn read_config(dir: &Path) -> Result<MloraConfig> {
    let path = dir.join(CONFIG_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| AdapterError::file(&path, e.to_string()))?;
    serde_json::from_str(&text).map_err(|e| AdapterError::file(&path, format!("not an MLORA config: {e}")))
}

/// Writes a LoRAN set in the fork's layout into `dir` (created if needed).
///
/// Errors: a method other than `loran`, `adapter.rslora`, or adapted modules with
/// different input widths (the format has one `r = [r, d_in]`).
pub fn save(set: &AdapterSet, model: &Llama, dir: &Path, base_model: Option<&str>) -> Result<()> {
    write_config(set, model, dir, base_model)?;
    write_weights(&dir.join(WEIGHTS_FILE), KEY_PREFIX, set.named_parameters())
}

/// Writes only the fork's `adapter_config.json` for a LoRAN set into `dir` (created if
/// needed), with the errors of [`save`]: [`crate::folder`] pairs it with the native
/// weights file, whose keys are the fork's.
pub fn write_config(set: &AdapterSet, model: &Llama, dir: &Path, base_model: Option<&str>) -> Result<()> {
    let cfg = set.config();
    if cfg.method != "loran" {
        return Err(AdapterError::config("method", format!("MLORA files hold LoRAN; `{}` has its own format", cfg.method)));
    }
    let params = set.named_parameters();
    let widths: BTreeSet<usize> =
        params.iter().filter(|(n, _)| n.ends_with(&format!(".{A_SUFFIX}"))).map(|(_, v)| v.dims()[1]).collect();
    let d_in = match widths.len() {
        1 => *widths.first().expect("one width"),
        0 => return Err(AdapterError::config("targets", "selects no module: nothing to write")),
        _ => {
            return Err(AdapterError::config(
                "targets",
                format!(
                    "the MLORA format holds one r = [r, d_in], but the adapted modules have input widths {}; target modules of one width (e.g. q_proj, v_proj)",
                    widths.iter().map(usize::to_string).collect::<Vec<_>>().join(", ")
                ),
            ))
        }
    };
    let layers = cfg.layers.as_ref().map(|l| l.indices(model.config().num_hidden_layers));
    let config = MloraConfig::from_adapter_config(cfg, d_in, layers, base_model)?;
    std::fs::create_dir_all(dir).map_err(|e| AdapterError::file(dir, e.to_string()))?;
    let text = serde_json::to_string_pretty(&config).expect("config serializes");
    write_atomic(&dir.join(CONFIG_FILE), text.as_bytes())
}

/// Loads an MLORA folder onto `model`: builds the LoRAN set from the config, then
/// overwrites every parameter with the stored tensor. Missing, extra or mis-shaped
/// keys are errors naming the file and the key; on error the model is left without adapters.
pub fn load(dir: &Path, model: &mut Llama, seed: u64) -> Result<AdapterSet> {
    let config_path = dir.join(CONFIG_FILE);
    let mlora = read_config(dir)?;
    let cfg = mlora.to_adapter_config(&config_path)?;
    let weights_path = dir.join(WEIGHTS_FILE);
    if !weights_path.exists() {
        return Err(AdapterError::file(&weights_path, "file not found"));
    }
    let stored = candle_core::safetensors::load(&weights_path, &Device::Cpu)
        .map_err(|e| AdapterError::file(&weights_path, format!("corrupt safetensors: {e}")))?;
    let set = AdapterSet::attach(model, &cfg, seed)?;
    match fill(&set, stored, &weights_path, &config_path, mlora.r[1]) {
        Ok(()) => Ok(set),
        Err(e) => {
            set.detach(model)?;
            Err(e)
        }
    }
}

fn fill(set: &AdapterSet, mut stored: HashMap<String, Tensor>, weights_path: &Path, config_path: &Path, d_in: usize) -> Result<()> {
    for (name, var) in set.named_parameters() {
        if name.ends_with(&format!(".{A_SUFFIX}")) && var.dims()[1] != d_in {
            let module = name.trim_end_matches(&format!(".{A_SUFFIX}"));
            return Err(AdapterError::file(config_path, format!("r[1] = {d_in}, but `{module}` has input width {}", var.dims()[1])));
        }
        let key = format!("{KEY_PREFIX}{name}");
        let tensor = stored.remove(&key).ok_or_else(|| AdapterError::file(weights_path, format!("missing key `{key}`")))?;
        if tensor.dims() != var.dims() {
            return Err(AdapterError::file(weights_path, format!("`{key}` has shape {:?}, the model needs {:?}", tensor.dims(), var.dims())));
        }
        var.set(&tensor.to_dtype(var.dtype())?.to_device(var.device())?)?;
    }
    if let Some(extra) = stored.keys().min() {
        return Err(AdapterError::file(weights_path, format!("key `{extra}` matches no adapted module of this model")));
    }
    Ok(())
}
