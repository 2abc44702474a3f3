//! The `adapter:` section of a run config: the keys every low-rank method shares
//! (method, r, α, dropout, targets, layers, rsLoRA) plus each method's own parameters,
//! which the methods declare in their files (see [`crate::params`]).
//!
//! Reading and writing are in `serde_impl.rs`: unknown keys are errors naming the key, a
//! method's keys are typed by its declaration, and the written config lists every
//! parameter of the chosen method with its value (defaults included).

mod serde_impl;

/// The shared keys, for the registry's check that no method key shadows one.
#[cfg(test)]
pub(crate) use serde_impl::SHARED;

use crate::error::{AdapterError, Result};
use crate::params::{self, MethodParams, Range, Value};
use crate::registry::{find_method, METHODS};
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
#[derive(Debug, Clone, PartialEq)]
pub struct AdapterConfig {
    /// Registered method name (`none` = no adapter, `lora`, ...). Default `lora`.
    pub method: String,
    /// Rank r. Default 64.
    pub r: usize,
    /// α: the update is scaled by α/r (α/√r with `rslora`). Default 16.
    pub alpha: f64,
    /// Dropout probability on the adapter input, training only. Default 0.2.
    pub dropout: f64,
    /// Linear layers to adapt: module-name suffixes (`q_proj`, `self_attn.v_proj`) or
    /// glob patterns over full names (`model.layers.2*.mlp.*`). Default `[q_proj, v_proj]`.
    pub targets: Vec<String>,
    /// Only these layers (PEFT `layers_to_transform`). Default: all.
    pub layers: Option<LayerSelection>,
    /// rsLoRA scaling α/√r instead of α/r. Default false.
    pub rslora: bool,
    /// The methods' own parameters (LoRAN's `activation`, Sine-LoRA's `sine`, NA-LoRA's
    /// `na_lora`, …), declared in each method's file; set them with [`AdapterConfig::with`].
    pub params: MethodParams,
}

impl Default for AdapterConfig {
    fn default() -> Self {
        Self {
            method: "lora".into(),
            r: 64,
            alpha: 16.0,
            dropout: 0.2,
            targets: vec!["q_proj".into(), "v_proj".into()],
            layers: None,
            rslora: false,
            params: MethodParams::default(),
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

    /// The config with one method parameter set: a key (`activation`), a dotted key
    /// into a group (`sine.omega`) or a whole group (`na_lora`, keys left out return to
    /// their defaults). Types are checked as when reading YAML; ranges by [`AdapterConfig::validate`].
    pub fn with(mut self, path: &str, value: impl Into<Value>) -> Result<Self> {
        self.params.set(path, value.into())?;
        Ok(self)
    }

    /// Valid ranks: the model-dependent cap, min(d_in, d_out) of every target, is checked
    /// when the adapter is attached.
    pub const R_RANGE: Range = Range::at_least(1.0);
    /// Valid α: a zero α makes the update vanish and a negative one flips it.
    pub const ALPHA_RANGE: Range = Range::above(0.0);
    /// Valid dropout probabilities.
    pub const DROPOUT_RANGE: Range = Range::closed_open(0.0, 1.0);

    /// Checks ranges; errors name the key.
    pub fn validate(&self) -> Result<()> {
        if !Self::R_RANGE.contains(self.r as f64) {
            return Err(AdapterError::config("r", "must be at least 1"));
        }
        if !Self::DROPOUT_RANGE.contains(self.dropout) {
            return Err(AdapterError::config("dropout", format!("{} is not {}", self.dropout, Self::DROPOUT_RANGE)));
        }
        if !Self::ALPHA_RANGE.contains(self.alpha) {
            return Err(AdapterError::config("alpha", format!("{} is not {} (α/r scales the update; e.g. 16)", self.alpha, Self::ALPHA_RANGE)));
        }
        if self.targets.is_empty() {
            return Err(AdapterError::config("targets", "is empty; name at least one linear, e.g. [q_proj, v_proj]"));
        }
        match &self.layers {
            Some(LayerSelection::Indices(v)) if v.is_empty() => {
                return Err(AdapterError::config("layers", "is an empty list, which adapts no layer; list layer indices, e.g. [28, 29], or leave it out for all"));
            }
            Some(LayerSelection::Indices(v)) => {
                if let Some((_, l)) = v.iter().enumerate().find(|(i, l)| v[..*i].contains(l)) {
                    return Err(AdapterError::config("layers", format!("lists layer {l} twice; list each layer once")));
                }
            }
            Some(LayerSelection::Last { last: 0 }) => {
                return Err(AdapterError::config("layers", "`{ last: 0 }` adapts no layer; give at least 1, e.g. `{ last: 8 }`, or leave `layers` out for all"));
            }
            _ => {}
        }
        self.params.check_ranges()?;
        // Every method's checks, whatever the method: a bad value is an error even where it is ignored.
        for method in METHODS {
            if let Some(check) = method.validate {
                check(self)?;
            }
        }
        Ok(())
    }

    /// Human-readable warnings about traps in this config, for the runner to show
    /// when it resolves a run (an empty list when there is nothing to say):
    /// - a parameter of another method given a value other than its default: ignored;
    /// - the method's own traps (its [`crate::registry::Method::warnings`], e.g.
    ///   LoRAN's activations that do not start at the base model or never train).
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (owner, param) in params::declared_keys() {
            let used = find_method(&self.method).is_ok_and(|m| m.params.iter().any(|p| p.name == param.name));
            if used || !self.params.is_changed(param.name) {
                continue;
            }
            let shown = match self.params.get(param.name) {
                Value::Activation(a) => format!(" (`{}`)", a.name),
                _ => String::new(),
            };
            out.push(format!("adapter.{}{shown} is ignored: only method `{}` uses it, and the method is `{}`", param.name, owner.name, self.method));
        }
        if let Some(warnings) = find_method(&self.method).ok().and_then(|m| m.warnings) {
            out.extend(warnings(self));
        }
        out
    }
}

#[cfg(test)]
mod tests;
