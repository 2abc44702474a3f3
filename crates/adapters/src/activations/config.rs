//! `adapter.activation` in YAML: a bare name or a mapping with the parameters.
//!
//! ```yaml
//! activation: sinter
//! activation: { name: sinter, amplitude: 5.0e-5, omega: 1.0e4 }
//! ```
//!
//! Reading fills in every default, so a config always carries the full set of
//! parameters: it serializes back as `{ name: sinter, amplitude: 5.0e-5, omega: 10000.0 }`
//! and the run's config hash and `config.resolved.yaml` state the exact values.
//! A bare `sinter` and the spelled-out defaults therefore read as the same config.

use super::spec::{Activation, ActivationSpec, Params};
use super::{find, ACTIVATIONS};
use crate::error::{AdapterError, Result};
use candle_core::Tensor;
use serde::de::{self, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

/// The activation f of LoRAN, by registry name, with its parameters.
///
/// The default is Sinter with the paper's values (A = 5e-5, ω = 1e4), LoRAN's
/// default in the paper. Build one with [`ActivationConfig::named`] and
/// [`ActivationConfig::with`], or read it from YAML/JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivationConfig {
    /// Registry name (`sinter`, `tanh`, ...).
    pub name: String,
    /// Parameter values by key. Reading fills in every default; a config built by
    /// hand may leave keys out, and [`ActivationConfig::resolve`] fills them then.
    pub params: BTreeMap<String, f64>,
}

impl Default for ActivationConfig {
    fn default() -> Self {
        Self::named("sinter").expect("sinter is registered")
    }
}

impl ActivationConfig {
    /// The activation `name` with its default parameters; unknown names are an error listing the known ones.
    pub fn named(name: &str) -> Result<Self> {
        let spec = lookup(name)?;
        let params = spec.params_from(&BTreeMap::new())?;
        Ok(Self { name: name.into(), params: params.as_map().clone() })
    }

    /// Sets one parameter; unknown keys and non-finite values are errors.
    pub fn with(mut self, key: &str, value: f64) -> Result<Self> {
        self.params.insert(key.into(), value);
        lookup(&self.name)?.params_from(&self.params)?;
        Ok(self)
    }

    /// The registry entry.
    pub fn spec(&self) -> Result<&'static ActivationSpec> {
        lookup(&self.name)
    }

    /// Checks the name and parameters and builds the function.
    pub fn resolve(&self) -> Result<ResolvedActivation> {
        let spec = lookup(&self.name)?;
        let params = spec.params_from(&self.params)?;
        Ok(ResolvedActivation { function: (spec.build)(&params), spec, params })
    }

    /// The same config with every default written out (what reading produces).
    pub fn normalized(&self) -> Result<Self> {
        let resolved = self.resolve()?;
        Ok(Self { name: self.name.clone(), params: resolved.params.as_map().clone() })
    }

    /// A mapping read from a file: `name` plus loosely typed parameters.
    fn from_entries(name: String, entries: Vec<(String, serde_json::Value)>) -> Result<Self> {
        let spec = lookup(&name)?;
        let mut params = BTreeMap::new();
        for (key, value) in entries {
            if !spec.params.iter().any(|p| p.name == key) {
                return Err(spec.param_error(&key, format!("`{name}` has no parameter `{key}`")));
            }
            let number = value.as_f64().ok_or_else(|| spec.param_error(&key, format!("expected a number, got {}", describe(&value))))?;
            params.insert(key, number);
        }
        let params = spec.params_from(&params)?;
        Ok(Self { name, params: params.as_map().clone() })
    }
}

fn lookup(name: &str) -> Result<&'static ActivationSpec> {
    find(name).ok_or_else(|| {
        AdapterError::config(
            "activation",
            format!("unknown activation `{name}` (known: {})", ACTIVATIONS.iter().map(|s| s.name).collect::<Vec<_>>().join(", ")),
        )
    })
}

fn describe(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Null => "null".into(),
        serde_json::Value::Bool(b) => format!("the boolean {b}"),
        serde_json::Value::String(s) => format!("the string {s:?}"),
        serde_json::Value::Array(_) => "a list".into(),
        serde_json::Value::Object(_) => "a mapping".into(),
        serde_json::Value::Number(n) => format!("the number {n}"),
    }
}

impl Serialize for ActivationConfig {
    /// Always a mapping, `name` first, then the parameters (defaults included when read from a file).
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(1 + self.params.len()))?;
        map.serialize_entry("name", &self.name)?;
        for (key, value) in &self.params {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for ActivationConfig {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        deserializer.deserialize_any(ConfigVisitor)
    }
}

struct ConfigVisitor;

impl<'de> Visitor<'de> for ConfigVisitor {
    type Value = ActivationConfig;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an activation name (e.g. `sinter`) or a mapping `{ name: sinter, amplitude: 5.0e-5, omega: 1.0e4 }`")
    }

    fn visit_str<E: de::Error>(self, name: &str) -> std::result::Result<Self::Value, E> {
        ActivationConfig::from_entries(name.to_string(), Vec::new()).map_err(E::custom)
    }

    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> std::result::Result<Self::Value, M::Error> {
        let mut name = None;
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            if key == "name" {
                if name.is_some() {
                    return Err(de::Error::custom("adapter.activation.name: given twice"));
                }
                let value: serde_json::Value = map.next_value()?;
                match value {
                    serde_json::Value::String(s) => name = Some(s),
                    other => {
                        return Err(de::Error::custom(format!("adapter.activation.name: expected a string, got {}", describe(&other))))
                    }
                }
            } else {
                if entries.iter().any(|(k, _)| *k == key) {
                    return Err(de::Error::custom(format!("adapter.activation.{key}: given twice")));
                }
                entries.push((key, map.next_value::<serde_json::Value>()?));
            }
        }
        let name = name.ok_or_else(|| {
            de::Error::custom("adapter.activation: the mapping needs a `name` (e.g. `{ name: sinter, omega: 1.0e4 }`)")
        })?;
        ActivationConfig::from_entries(name, entries).map_err(de::Error::custom)
    }
}

/// A checked activation, ready to evaluate: the function, its registry entry and its parameter values.
#[derive(Debug, Clone)]
pub struct ResolvedActivation {
    function: Arc<dyn Activation>,
    spec: &'static ActivationSpec,
    params: Params,
}

impl ResolvedActivation {
    /// Registry name.
    pub fn name(&self) -> &'static str {
        self.spec.name
    }

    /// The registry entry.
    pub fn spec(&self) -> &'static ActivationSpec {
        self.spec
    }

    /// The parameter values in use (defaults included).
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// The scalar function.
    pub fn function(&self) -> &Arc<dyn Activation> {
        &self.function
    }

    /// f(x) on f32: computed in f64, rounded once.
    pub fn f(&self, x: f32) -> f32 {
        self.function.f(x as f64) as f32
    }

    /// f′(x) on f32: computed in f64, rounded once.
    pub fn df(&self, x: f32) -> f32 {
        self.function.df(x as f64) as f32
    }

    /// f applied element-wise to an f32 tensor, differentiable (backward multiplies by f′).
    pub fn apply(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        super::op::apply(self.function.clone(), x)
    }

    /// s·f applied element-wise in one pass, differentiable (backward multiplies by s·f′).
    pub fn apply_scaled(&self, x: &Tensor, scale: f64) -> candle_core::Result<Tensor> {
        super::op::apply_scaled(self.function.clone(), scale, x)
    }

    /// The config this was resolved from, with every parameter written out.
    pub fn config(&self) -> ActivationConfig {
        ActivationConfig { name: self.spec.name.into(), params: self.params.as_map().clone() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml(text: &str) -> std::result::Result<ActivationConfig, String> {
        serde_saphyr::from_str::<ActivationConfig>(text).map_err(|e| e.to_string())
    }

    #[test]
    fn bare_name_and_mapping_read_the_same() {
        let bare = yaml("sinter").unwrap();
        let full = yaml("{ name: sinter, amplitude: 5.0e-5, omega: 1.0e4 }").unwrap();
        assert_eq!(bare, full);
        assert_eq!(bare, ActivationConfig::default());
        assert_eq!(bare.params["amplitude"], 5e-5);
        assert_eq!(bare.params["omega"], 1e4);
        let json = serde_json::from_str::<ActivationConfig>(r#"{"name": "sinter", "omega": 10000}"#).unwrap();
        assert_eq!(json, bare);
        let tanh = yaml("tanh").unwrap();
        assert!(tanh.params.is_empty());
    }

    #[test]
    fn parameters_override_defaults_and_serialize_explicitly() {
        let cfg = yaml("{ name: sinter, omega: 100 }").unwrap();
        assert_eq!((cfg.params["amplitude"], cfg.params["omega"]), (5e-5, 100.0));
        let json = serde_json::to_string(&cfg).unwrap();
        assert_eq!(json, r#"{"name":"sinter","amplitude":0.00005,"omega":100.0}"#);
        let back: ActivationConfig = serde_json::from_str(&json).unwrap();
        assert_eq!(back, cfg);
        // Round trip through YAML as the runner writes config.resolved.yaml.
        let text = serde_saphyr::to_string(&cfg).unwrap();
        assert_eq!(yaml(&text).unwrap(), cfg, "{text}");
        // The default is written out in full too.
        let text = serde_json::to_string(&ActivationConfig::default()).unwrap();
        assert_eq!(text, r#"{"name":"sinter","amplitude":0.00005,"omega":10000.0}"#);
    }

    #[test]
    fn unknown_names_list_the_registry() {
        let err = yaml("sinus").unwrap_err();
        assert!(err.contains("adapter.activation") && err.contains("unknown activation `sinus`"), "{err}");
        for spec in ACTIVATIONS {
            assert!(err.contains(spec.name), "{err} lacks {}", spec.name);
        }
        let err = yaml("{ name: relux }").unwrap_err();
        assert!(err.contains("`relux`") && err.contains("leaky-relu"), "{err}");
        let err = ActivationConfig::named("relux").unwrap_err().to_string();
        assert!(err.starts_with("adapter.activation: unknown activation `relux`"), "{err}");
    }

    #[test]
    fn unknown_and_mistyped_parameters_name_the_key_and_list_the_valid_ones() {
        let err = yaml("{ name: sinter, omega: big }").unwrap_err();
        assert!(err.contains("adapter.activation.omega") && err.contains("expected a number") && err.contains("\"big\""), "{err}");
        assert!(err.contains("amplitude: number") && err.contains("omega: number"), "{err}");
        let err = yaml("{ name: sinter, beta: 2 }").unwrap_err();
        assert!(err.contains("adapter.activation.beta") && err.contains("no parameter `beta`") && err.contains("amplitude: number"), "{err}");
        let err = yaml("{ name: tanh, omega: 2 }").unwrap_err();
        assert!(err.contains("adapter.activation.omega") && err.contains("tanh takes no parameters"), "{err}");
        let err = yaml("{ name: leaky-relu, slope: [1] }").unwrap_err();
        assert!(err.contains("adapter.activation.slope") && err.contains("a list") && err.contains("slope: number"), "{err}");
        let err = yaml("{ omega: 2 }").unwrap_err();
        assert!(err.contains("needs a `name`"), "{err}");
        let err = yaml("{ name: 3 }").unwrap_err();
        assert!(err.contains("adapter.activation.name: expected a string"), "{err}");
        let err = ActivationConfig::named("sinter").unwrap().with("omega", f64::NAN).unwrap_err().to_string();
        assert!(err.starts_with("adapter.activation.omega: NaN is not a finite number"), "{err}");
        let err = ActivationConfig { name: "swish".into(), params: [("beta2".to_string(), 1.0)].into() }.resolve().unwrap_err().to_string();
        assert!(err.contains("adapter.activation.beta2") && err.contains("beta: number"), "{err}");
    }

    #[test]
    fn hand_built_configs_resolve_with_defaults() {
        let cfg = ActivationConfig { name: "sinter".into(), params: BTreeMap::new() };
        let resolved = cfg.resolve().unwrap();
        assert_eq!(resolved.params().get("omega"), 1e4);
        assert_eq!(cfg.normalized().unwrap(), ActivationConfig::default());
        assert_eq!(resolved.config(), ActivationConfig::default());
    }
}
