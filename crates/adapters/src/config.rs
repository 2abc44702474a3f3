//! The `adapter:` section of a run config.

use crate::activations::ActivationConfig;
use crate::na_lora::NaLoraConfig;
use crate::sine_lora::SineLoraConfig;
use crate::error::{AdapterError, Result};
use serde::{Deserialize, Deserializer, Serialize};

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
    #[serde(default = "default_r", deserialize_with = "deserialize_rank")]
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
    /// LoRAN's element-wise f on the weight update (method `loran` only; ignored, with
    /// a warning, by other methods). A name or `{ name, <params> }`. Default: `sinter`
    /// with the paper's A = 5e-5, ω = 1e4, LoRAN's default in the paper.
    #[serde(default)]
    pub activation: ActivationConfig,
    /// Sine-LoRA's ω and g (method `sine-lora` only). Default: see [`SineLoraConfig`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sine: Option<SineLoraConfig>,
    /// NA-LoRA-style mask and step-scaling knobs (method `na-lora` only).
    /// Default: see [`NaLoraConfig`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub na_lora: Option<NaLoraConfig>,
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

/// `r` as a positive integer, with an error naming the key for `-4`, `2.5` or `"8"`.
fn deserialize_rank<'de, D: Deserializer<'de>>(deserializer: D) -> std::result::Result<usize, D::Error> {
    struct Rank;
    impl serde::de::Visitor<'_> for Rank {
        type Value = usize;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("adapter.r: a positive integer rank, e.g. 64")
        }
        fn visit_u64<E: serde::de::Error>(self, v: u64) -> std::result::Result<usize, E> {
            usize::try_from(v).map_err(|_| E::custom(format!("adapter.r: {v} is too large")))
        }
        fn visit_i64<E: serde::de::Error>(self, v: i64) -> std::result::Result<usize, E> {
            if v < 0 {
                return Err(E::custom(format!("adapter.r: the rank must be a positive integer, got {v}")));
            }
            self.visit_u64(v as u64)
        }
        fn visit_f64<E: serde::de::Error>(self, v: f64) -> std::result::Result<usize, E> {
            Err(E::custom(format!("adapter.r: the rank must be a positive integer, got {v}")))
        }
    }
    deserializer.deserialize_any(Rank)
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
            activation: ActivationConfig::default(),
            sine: None,
            na_lora: None,
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

    /// Sine-LoRA's settings (the defaults when the section is absent).
    pub fn sine_config(&self) -> SineLoraConfig {
        self.sine.clone().unwrap_or_default()
    }

    /// NA-LoRA-style settings (the defaults when the section is absent).
    pub fn na_lora_config(&self) -> NaLoraConfig {
        self.na_lora.clone().unwrap_or_default()
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
        self.activation.resolve()?;
        self.sine_config().validate()?;
        self.na_lora_config().validate()?;
        Ok(())
    }

    /// Human-readable warnings about traps in this config, for the runner to show
    /// when it resolves a run (an empty list when there is nothing to say).
    ///
    /// Derived from the activation itself, so they cover every registered one:
    /// - f(0) ≠ 0 (e.g. `sigmoid`): ΔW = s·f(0) in every entry at init, so the model
    ///   does not start at the base model;
    /// - f′(0) = 0 (e.g. `relu`): with B = 0 at init, A and B never get a gradient;
    /// - f′(0) ∉ {0, 1} (e.g. `cos`, f′(0) = 2): near init the update acts like LoRA
    ///   with scale f′(0)·s;
    /// - an `amplitude` (Sinter's relative ripple) below f32 resolution: f is the identity;
    /// - an activation other than the default given for a method other than `loran`: ignored.
    ///
    /// Precision is not a knob: LoRAN always computes f(B·A) in f32 (evaluated in
    /// f64, rounded once), whatever the base dtype, because Sinter's 5e-5 ripple
    /// vanishes in bf16 (its resolution is 2⁻⁸ ≈ 4e-3).
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (section, used_by, given) in [("sine", "sine-lora", self.sine.is_some()), ("na_lora", "na-lora", self.na_lora.is_some())] {
            if given && self.method != used_by {
                out.push(format!("adapter.{section} is ignored: only method `{used_by}` uses it, and the method is `{}`", self.method));
            }
        }
        if self.method != "loran" {
            if self.activation != ActivationConfig::default() {
                out.push(format!(
                    "adapter.activation (`{}`) is ignored: only method `loran` uses an activation, and the method is `{}`",
                    self.activation.name, self.method
                ));
            }
            return out;
        }
        let Ok(act) = self.activation.resolve() else {
            return out; // validate() reports it
        };
        let name = act.name();
        let (f0, df0) = (act.function().f(0.0), act.function().df(0.0));
        let s = self.scale();
        if f0 != 0.0 {
            let hint = if name == "sigmoid" { "; `sigmoid-centered` (σ(x) − 0.5) starts at zero" } else { "" };
            out.push(format!(
                "adapter.activation: `{name}` has f(0) = {f0}, so at init (B = 0) every entry of the update is s·f(0) = {}: the model does not start at the base model{hint}",
                s * f0
            ));
        }
        if df0 == 0.0 {
            let hint = if name == "relu" { "; `leaky-relu` does train" } else { "" };
            out.push(format!(
                "adapter.activation: `{name}` has f′(0) = 0 and B·A = 0 at init, so A and B never receive a gradient: the adapter will not train{hint}"
            ));
        } else if df0 != 1.0 {
            out.push(format!(
                "adapter.activation: `{name}` has f′(0) = {df0}: near init the update acts like LoRA with scale f′(0)·s = {} instead of s = {s}",
                df0 * s
            ));
        }
        if let Some(&a) = act.params().as_map().get("amplitude") {
            if a != 0.0 && a.abs() < f32::EPSILON as f64 {
                out.push(format!(
                    "adapter.activation.amplitude: {a} is below f32 resolution ({:e}): `{name}` computes as the identity",
                    f32::EPSILON
                ));
            }
        }
        out
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

    #[test]
    fn negative_or_fractional_ranks_name_the_key() {
        let err = serde_json::from_str::<AdapterConfig>(r#"{"r": -4}"#).unwrap_err().to_string();
        assert!(err.starts_with("adapter.r: the rank must be a positive integer, got -4"), "{err}");
        let err = serde_saphyr::from_str::<AdapterConfig>("method: loran\nr: -4\n").unwrap_err().to_string();
        assert!(err.contains("adapter.r: the rank must be a positive integer, got -4") && err.contains("line 2"), "{err}");
        let err = serde_saphyr::from_str::<AdapterConfig>("r: 2.5").unwrap_err().to_string();
        assert!(err.contains("adapter.r") && err.contains("2.5"), "{err}");
        let err = serde_json::from_str::<AdapterConfig>(r#"{"r": "8"}"#).unwrap_err().to_string();
        assert!(err.contains("adapter.r: a positive integer rank"), "{err}");
        let cfg: AdapterConfig = serde_saphyr::from_str("r: 8").unwrap();
        assert_eq!(cfg.r, 8);
        let cfg: AdapterConfig = serde_json::from_value(serde_json::json!({"r": 16})).unwrap();
        assert_eq!(cfg.r, 16);
    }

    #[test]
    fn activation_defaults_to_the_papers_sinter_and_reads_from_yaml() {
        let cfg: AdapterConfig = serde_saphyr::from_str("method: loran").unwrap();
        assert_eq!(cfg.activation, ActivationConfig::named("sinter").unwrap());
        assert_eq!(cfg.activation.params["amplitude"], 5e-5);
        let cfg: AdapterConfig = serde_saphyr::from_str("method: loran\nactivation: { name: swish, beta: 10 }").unwrap();
        assert_eq!(cfg.activation, ActivationConfig::named("swish").unwrap().with("beta", 10.0).unwrap());
        let err = serde_saphyr::from_str::<AdapterConfig>("method: loran\nactivation: { name: sinter, omega: big }").unwrap_err().to_string();
        assert!(err.contains("adapter.activation.omega") && err.contains("omega: number"), "{err}");
        // The resolved config lists the defaults and reads back the same.
        let text = serde_saphyr::to_string(&cfg).unwrap();
        assert!(text.contains("beta"), "{text}");
        assert_eq!(serde_saphyr::from_str::<AdapterConfig>(&text).unwrap(), cfg);
        let bad = AdapterConfig { activation: ActivationConfig { name: "nope".into(), params: Default::default() }, ..AdapterConfig::default() };
        assert!(bad.validate().unwrap_err().to_string().starts_with("adapter.activation: unknown activation `nope`"));
    }

    #[test]
    fn warnings_flag_the_traps() {
        let loran = |name: &str| AdapterConfig { method: "loran".into(), activation: ActivationConfig::named(name).unwrap(), ..AdapterConfig::default() };
        assert!(loran("sinter").warnings().is_empty());
        assert!(loran("identity").warnings().is_empty());
        assert!(loran("tanh").warnings().is_empty());
        let w = loran("sigmoid").warnings();
        assert!(w.iter().any(|m| m.contains("f(0) = 0.5") && m.contains("0.125") && m.contains("sigmoid-centered")), "{w:?}");
        let w = loran("relu").warnings();
        assert!(w.iter().any(|m| m.contains("never receive a gradient") && m.contains("leaky-relu")), "{w:?}");
        let w = loran("cos").warnings();
        assert!(w.len() == 1 && w[0].contains("f′(0) = 2") && w[0].contains("0.5"), "{w:?}");
        assert!(loran("sigmoid-centered").warnings().iter().all(|m| !m.contains("f(0)")));
        let flat = AdapterConfig { activation: ActivationConfig::named("leaky-relu").unwrap().with("slope", 0.0).unwrap(), ..loran("relu") };
        assert!(flat.warnings().iter().any(|m| m.contains("never receive a gradient")));
        let tiny = AdapterConfig { activation: ActivationConfig::default().with("amplitude", 1e-9).unwrap(), ..loran("sinter") };
        assert!(tiny.warnings().iter().any(|m| m.contains("below f32 resolution")), "{:?}", tiny.warnings());
        // Other methods ignore the activation, and say so when one was chosen.
        assert!(AdapterConfig::default().warnings().is_empty());
        let w = AdapterConfig { method: "lora".into(), ..loran("tanh") }.warnings();
        assert!(w.len() == 1 && w[0].contains("ignored") && w[0].contains("`tanh`"), "{w:?}");
    }
}
