//! Who a run is, as fields: the method, the base's quantization, the activation of a
//! method that has one, the rank and the other adapter and training settings a reader
//! compares runs by. `result.json` records them (schema 2) and every report label is made
//! from them ([`RunIdentity::method_label`]), so reports group and sort runs by fields
//! and never read a label back into its parts.

use crate::config::RunConfig;
use loran_adapters::params::Kind;
use loran_adapters::LayerSelection;
/// The type of [`RunIdentity::quantization`], for readers of the identity.
pub use loran_model::QuantMode;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The activation f of a method that has one (LoRAN): its registry name and the value of
/// every one of its parameters, defaults included, so two runs with the same name but
/// another ripple (Sinter's `amplitude`, `omega`) are told apart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActivationIdentity {
    /// Registry name (`sinter`, `tanh`, ...).
    pub name: String,
    /// Parameter name → value (empty for activations without parameters).
    pub params: BTreeMap<String, f64>,
}

/// A run's identity as separate fields, copied from its resolved config. The seed is
/// not part of it: runs that differ only in their seed are one table row (`RunResult.seed`
/// holds it). The identity is not hashed into the run id; the config it comes from is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunIdentity {
    /// Registered method name (`adapter.method`): `none` for the zero-shot base, `lora`,
    /// `loran`, `nolora`, ...
    pub method: String,
    /// Storage of the frozen base linears (`quant`): `none`, `nf4` or `nf4-dq`.
    pub quantization: QuantMode,
    /// The method's activation (`adapter.activation` for LoRAN); `None` for methods
    /// without one.
    pub activation: Option<ActivationIdentity>,
    /// Rank r (`adapter.r`). As configured, also for `none`, which attaches nothing:
    /// [`RunIdentity::rank`] says whether the run has one.
    pub r: usize,
    /// α (`adapter.alpha`).
    pub alpha: f64,
    /// The adapted linears (`adapter.targets`).
    pub targets: Vec<String>,
    /// The adapted layers (`adapter.layers`; `None`: all).
    pub layers: Option<LayerSelection>,
    /// Peak learning rate (`train.lr`).
    pub lr: f64,
}

impl RunIdentity {
    /// Whether the run is the frozen base model without an adapter (method `none`).
    pub fn is_zero_shot(&self) -> bool {
        self.method == "none"
    }

    /// The adapter's rank, `None` for a zero-shot run (no adapter).
    pub fn rank(&self) -> Option<usize> {
        (!self.is_zero_shot()).then_some(self.r)
    }

    /// The name of the activation, when the method has one.
    pub fn activation_name(&self) -> Option<&str> {
        self.activation.as_ref().map(|a| a.name.as_str())
    }

    /// The label reports show for the method: `zero-shot` without an adapter, `qlora` for
    /// LoRA over an NF4 base (`qlora-dq` with double quantization), `<method>-<activation>`
    /// for a method with an activation (`loran-sinter`), `<method>-style (reconstructed)`
    /// for a method the registry marks reconstructed from its paper's abstract (`nolora`,
    /// `na-lora`), else the method name; a quantized base other than plain QLoRA's adds
    /// `+nf4` / `+nf4-dq` (before the parenthesis: `nolora-style+nf4 (reconstructed)`).
    pub fn method_label(&self) -> String {
        let quant = self.quant_suffix();
        let reconstructed = loran_adapters::find_method(&self.method).is_ok_and(|m| m.reconstructed);
        match (self.method.as_str(), self.quantization, &self.activation) {
            ("lora", QuantMode::Nf4, _) => "qlora".into(),
            ("lora", QuantMode::Nf4Dq, _) => "qlora-dq".into(),
            ("none", _, _) => format!("zero-shot{quant}"),
            (method, _, Some(activation)) => format!("{method}-{}{quant}", activation.name),
            (method, _, None) if reconstructed => format!("{method}-style{quant} (reconstructed)"),
            (method, _, None) => format!("{method}{quant}"),
        }
    }

    /// The registry name with the quantization suffix (`nolora`, `na-lora+nf4`, `lora+nf4`):
    /// what a grid's `report.baseline` may name instead of the label.
    pub fn registry_label(&self) -> String {
        format!("{}{}", self.method, self.quant_suffix())
    }

    fn quant_suffix(&self) -> &'static str {
        match self.quantization {
            QuantMode::None => "",
            QuantMode::Nf4 => "+nf4",
            QuantMode::Nf4Dq => "+nf4-dq",
        }
    }
}

impl RunConfig {
    /// The run's identity ([`RunIdentity`]): the method, quantization, the activation of a
    /// method that declares one (read through the registry's parameter declarations), the
    /// adapter's rank, α, targets and layers, and the learning rate.
    pub fn identity(&self) -> RunIdentity {
        let declared = loran_adapters::find_method(&self.adapter.method).map(|m| m.params).unwrap_or(&[]);
        let activation = declared.iter().find(|p| matches!(p.kind, Kind::Activation { .. })).map(|p| {
            let config = self.adapter.params.activation(p.name);
            ActivationIdentity { name: config.name, params: config.params }
        });
        RunIdentity {
            method: self.adapter.method.clone(),
            quantization: self.quant,
            activation,
            r: self.adapter.r,
            alpha: self.adapter.alpha,
            targets: self.adapter.targets.clone(),
            layers: self.adapter.layers.clone(),
            lr: self.train.lr,
        }
    }

    /// The method label reports use, made from the run's fields
    /// ([`RunIdentity::method_label`]).
    pub fn method_label(&self) -> String {
        self.identity().method_label()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(method: &str, quant: QuantMode, activation: &str) -> RunConfig {
        let mut cfg = RunConfig { quant, ..RunConfig::default() };
        cfg.adapter.method = method.into();
        cfg.adapter = cfg.adapter.with("activation", loran_adapters::ActivationConfig::named(activation).unwrap()).unwrap();
        cfg
    }

    #[test]
    fn method_labels_name_qlora_and_the_loran_activation() {
        assert_eq!(with("none", QuantMode::None, "sinter").method_label(), "zero-shot");
        assert_eq!(with("none", QuantMode::Nf4, "sinter").method_label(), "zero-shot+nf4");
        assert_eq!(with("lora", QuantMode::None, "sinter").method_label(), "lora");
        assert_eq!(with("lora", QuantMode::Nf4, "sinter").method_label(), "qlora");
        assert_eq!(with("lora", QuantMode::Nf4Dq, "sinter").method_label(), "qlora-dq");
        assert_eq!(with("loran", QuantMode::Nf4, "sinter").method_label(), "loran-sinter+nf4");
        assert_eq!(with("loran", QuantMode::None, "tanh").method_label(), "loran-tanh");
        assert_eq!(with("dora", QuantMode::Nf4, "sinter").method_label(), "dora+nf4");
        assert_eq!(with("dora", QuantMode::None, "sinter").method_label(), "dora");
        assert_eq!(with("sine-lora", QuantMode::None, "sinter").method_label(), "sine-lora");
        assert_eq!(with("sine-lora", QuantMode::Nf4Dq, "sinter").method_label(), "sine-lora+nf4-dq");
    }

    #[test]
    fn reconstructed_methods_say_so_in_their_labels() {
        assert_eq!(with("nolora", QuantMode::None, "sinter").method_label(), "nolora-style (reconstructed)");
        assert_eq!(with("nolora", QuantMode::Nf4, "sinter").method_label(), "nolora-style+nf4 (reconstructed)");
        assert_eq!(with("nolora", QuantMode::Nf4Dq, "sinter").method_label(), "nolora-style+nf4-dq (reconstructed)");
        assert_eq!(with("na-lora", QuantMode::None, "sinter").method_label(), "na-lora-style (reconstructed)");
        assert_eq!(with("na-lora", QuantMode::Nf4, "sinter").method_label(), "na-lora-style+nf4 (reconstructed)");
        assert_eq!(with("na-lora", QuantMode::Nf4Dq, "sinter").method_label(), "na-lora-style+nf4-dq (reconstructed)");
        assert_eq!(with("na-lora", QuantMode::Nf4, "sinter").identity().registry_label(), "na-lora+nf4");
    }

    #[test]
    fn only_a_method_that_declares_an_activation_records_one_with_every_parameter() {
        let loran = with("loran", QuantMode::Nf4, "sinter").identity();
        let activation = loran.activation.as_ref().unwrap();
        assert_eq!(activation.name, "sinter");
        assert_eq!(activation.params, BTreeMap::from([("amplitude".to_string(), 5e-5), ("omega".to_string(), 1e4)]));
        assert_eq!((loran.quantization, loran.rank(), loran.alpha, loran.lr), (QuantMode::Nf4, Some(64), 16.0, 2e-4));
        assert_eq!(with("lora", QuantMode::None, "tanh").identity().activation, None, "LoRA ignores the activation key");
        let zero_shot = with("none", QuantMode::Nf4, "sinter").identity();
        assert!(zero_shot.is_zero_shot() && zero_shot.rank().is_none() && zero_shot.activation.is_none());
    }

    #[test]
    fn the_identity_reads_back_from_json_and_refuses_unknown_fields() {
        let identity = with("loran", QuantMode::Nf4Dq, "tanh").identity();
        let text = serde_json::to_string(&identity).unwrap();
        assert!(text.contains(r#""quantization":"nf4-dq""#) && text.contains(r#""activation":{"name":"tanh","params":{}}"#), "{text}");
        assert_eq!(serde_json::from_str::<RunIdentity>(&text).unwrap(), identity);
        let extra = text.replacen('{', r#"{"rank":8,"#, 1);
        assert!(serde_json::from_str::<RunIdentity>(&extra).unwrap_err().to_string().contains("unknown field `rank`"));
    }
}
