//! The `adapter:` section of a run config.

use crate::error::{AdapterError, Result};
use serde::{Deserialize, Serialize};

/// Which decoder layers get adapters (PEFT's `layers_to_transform`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum LayerSelection {
    /// Explicit layer indices, e.g. `[26, 27, 28, 29]`.
    Indices(Vec<usize>),
    /// The last `n` layers, written `{ last: 8 }`.
    Last {
        /// How many of the top layers.
        last: usize,
    },
}

impl LayerSelection {
    /// The selected indices for a model with `num_layers` layers.
    pub fn indices(&self, num_layers: usize) -> Vec<usize> {
        match self {
            LayerSelection::Indices(v) => v.clone(),
            LayerSelection::Last { last } => (num_layers.saturating_sub(*last)..num_layers).collect(),
        }
    }
}

/// Low-rank adapter settings. Defaults are the LoRAN paper's: r=64, α=16, dropout 0.2, q/v targets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdapterConfig {
    /// Registered method name (`none` = no adapter, `lora`, ...). Default `lora`.
    #[serde(default = "default_method")]
    pub method: String,
    /// Rank r. Default 64.
    #[serde(default = "default_r")]
    pub r: usize,
    /// α: the update is scaled by α/r (α/√r with `rslora`). Default 16.
    #[serde(default = "default_alpha")]
    pub alpha: f64,
    /// Dropout probability on the adapter input, training only. Default 0.2.
    #[serde(default = "default_dropout")]
    pub dropout: f64,
    /// Linear layers to adapt: module-name suffixes (`q_proj`, `self_attn.v_proj`) or
    /// glob patterns over full names (`model.layers.2*.mlp.*`). Default `[q_proj, v_proj]`.
    #[serde(default = "default_targets")]
    pub targets: Vec<String>,
    /// Only these layers (PEFT `layers_to_transform`). Default: all.
    #[serde(default)]
    pub layers: Option<LayerSelection>,
    /// rsLoRA scaling α/√r instead of α/r. Default false.
    #[serde(default)]
    pub rslora: bool,
}

fn default_method() -> String {
    "lora".into()
}
fn default_r() -> usize {
    64
}
fn default_alpha() -> f64 {
    16.0
}
fn default_dropout() -> f64 {
    0.2
}
fn default_targets() -> Vec<String> {
    vec!["q_proj".into(), "v_proj".into()]
}

impl Default for AdapterConfig {
    fn default() -> Self {
        Self {
            method: default_method(),
            r: default_r(),
            alpha: default_alpha(),
            dropout: default_dropout(),
            targets: default_targets(),
            layers: None,
            rslora: false,
        }
    }
}

impl AdapterConfig {
    /// The factor applied to the low-rank update: α/r, or α/√r with rsLoRA.
    pub fn scale(&self) -> f64 {
        if self.rslora {
            self.alpha / (self.r as f64).sqrt()
        } else {
            self.alpha / self.r as f64
        }
    }

    /// Checks ranges; errors name the key.
    pub fn validate(&self) -> Result<()> {
        if self.r == 0 {
            return Err(AdapterError::config("r", "must be at least 1"));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(AdapterError::config("dropout", format!("{} is not in [0, 1)", self.dropout)));
        }
        if !self.alpha.is_finite() {
            return Err(AdapterError::config("alpha", "must be finite"));
        }
        if self.targets.is_empty() {
            return Err(AdapterError::config("targets", "is empty; name at least one linear, e.g. [q_proj, v_proj]"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_papers_and_scale_follows_peft() {
        let cfg: AdapterConfig = serde_json::from_str("{}").unwrap();
        assert_eq!(cfg, AdapterConfig::default());
        assert_eq!((cfg.r, cfg.alpha, cfg.dropout), (64, 16.0, 0.2));
        assert_eq!(cfg.scale(), 0.25);
        let rs = AdapterConfig { rslora: true, ..cfg };
        assert_eq!(rs.scale(), 2.0);
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let err = serde_json::from_str::<AdapterConfig>(r#"{"rank": 8}"#).unwrap_err().to_string();
        assert!(err.contains("rank"), "{err}");
    }

    #[test]
    fn layer_selection_forms() {
        let cfg: AdapterConfig = serde_json::from_str(r#"{"layers": {"last": 3}}"#).unwrap();
        assert_eq!(cfg.layers.unwrap().indices(30), vec![27, 28, 29]);
        let cfg: AdapterConfig = serde_json::from_str(r#"{"layers": [0, 5]}"#).unwrap();
        assert_eq!(cfg.layers.unwrap().indices(30), vec![0, 5]);
    }

    #[test]
    fn validation_names_the_key() {
        let bad = AdapterConfig { dropout: 1.5, ..AdapterConfig::default() };
        assert!(bad.validate().unwrap_err().to_string().starts_with("adapter.dropout"));
        let bad = AdapterConfig { r: 0, ..AdapterConfig::default() };
        assert!(bad.validate().unwrap_err().to_string().starts_with("adapter.r"));
    }
}
