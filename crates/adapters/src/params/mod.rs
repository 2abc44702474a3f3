//! Method parameters: each method declares its own settings in its own file (a `PARAMS`
//! list of [`Param`]s in its [`Method`] entry), as each activation declares its
//! parameters, and [`MethodParams`] holds the values one config gives them.
//!
//! A method's parameters are keys of the `adapter:` section, e.g. LoRAN's
//! `activation: { name: sinter }` or Sine-LoRA's group `sine: { omega: 100 }`.
//! Reading checks types and names the key on error; [`MethodParams::check_ranges`]
//! checks ranges; missing keys take the declared defaults.

pub mod spec;
pub mod value;

pub use spec::{Kind, Param, Range};
pub use value::{ParamSeed, Value};

use crate::activations::ActivationConfig;
use crate::error::{AdapterError, Result};
use crate::registry::{Method, METHODS};
use std::collections::BTreeMap;

/// Every top-level key a registered method declares, with its method, in registry order.
pub fn declared_keys() -> impl Iterator<Item = (&'static Method, &'static Param)> {
    METHODS.iter().flat_map(|m| m.params.iter().map(move |p| (m, p)))
}

/// The method that declares the top-level key `key`, and the declaration.
pub fn find_key(key: &str) -> Option<(&'static Method, &'static Param)> {
    declared_keys().find(|(_, p)| p.name == key)
}

/// The declaration of a dotted key (`sine.omega`) and the method that owns it.
pub fn find_path(path: &str) -> Option<(&'static Method, &'static Param)> {
    let mut parts = path.split('.');
    let (method, mut param) = find_key(parts.next()?)?;
    for part in parts {
        param = param.child(part)?;
    }
    Some((method, param))
}

/// The values a config gives to method parameters: only those that differ from their
/// defaults, by dotted key, so two configs that mean the same compare equal.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MethodParams {
    changed: BTreeMap<String, Value>,
}

impl MethodParams {
    /// Sets `path` (a key, or a dotted key into a group) to `value`, type-checked as YAML
    /// is; ranges are left to [`MethodParams::check_ranges`]. A whole group replaces the
    /// group: keys it leaves out return to their defaults.
    pub fn set(&mut self, path: &str, value: Value) -> Result<()> {
        let (_, param) = find_path(path).ok_or_else(|| unknown(path))?;
        let value = param.accept(path, value)?;
        self.store(path, param, value);
        Ok(())
    }

    /// Stores a value already accepted by `param` (see [`ParamSeed`]).
    pub(crate) fn store(&mut self, path: &str, param: &'static Param, value: Value) {
        let below = format!("{path}.");
        self.changed.retain(|k, _| k != path && !k.starts_with(&below));
        match value {
            Value::Group(entries) => {
                for (key, v) in entries {
                    let child = param.child(key).expect("accepted groups hold declared keys");
                    self.store(&format!("{path}.{key}"), child, v);
                }
            }
            v if v == param.default_value() => {}
            v => {
                self.changed.insert(path.to_string(), v);
            }
        }
    }

    /// The value of `path`: the one given, else the default (a group: every sub-parameter).
    ///
    /// # Panics
    /// If no method declares `path` (a bug in the method that asks).
    pub fn get(&self, path: &str) -> Value {
        let (_, param) = find_path(path).unwrap_or_else(|| panic!("method parameter `{path}` is not declared by any method"));
        self.resolve(path, param)
    }

    fn resolve(&self, path: &str, param: &'static Param) -> Value {
        match param.kind {
            Kind::Group(children) => Value::Group(children.iter().map(|c| (c.name, self.resolve(&format!("{path}.{}", c.name), c))).collect()),
            _ => self.changed.get(path).cloned().unwrap_or_else(|| param.default_value()),
        }
    }

    /// A number parameter's value. Panics if `path` is not one (see [`MethodParams::get`]).
    pub fn number(&self, path: &str) -> f64 {
        match self.get(path) {
            Value::Number(v) => v,
            other => wrong_kind(path, "number", &other),
        }
    }

    /// An integer parameter's value. Panics if `path` is not one.
    pub fn integer(&self, path: &str) -> u64 {
        match self.get(path) {
            Value::Integer(v) => v,
            other => wrong_kind(path, "integer", &other),
        }
    }

    /// A choice parameter's value. Panics if `path` is not one.
    pub fn text(&self, path: &str) -> String {
        match self.get(path) {
            Value::Text(v) => v,
            other => wrong_kind(path, "choice", &other),
        }
    }

    /// An optional number's value (`None` for `null`). Panics if `path` is not one.
    pub fn optional_number(&self, path: &str) -> Option<f64> {
        match self.get(path) {
            Value::Number(v) => Some(v),
            Value::Null => None,
            other => wrong_kind(path, "optional number", &other),
        }
    }

    /// An activation parameter's value, every parameter written out. Panics if `path` is not one.
    pub fn activation(&self, path: &str) -> ActivationConfig {
        match self.get(path) {
            Value::Activation(v) => v,
            other => wrong_kind(path, "activation", &other),
        }
    }

    /// Whether a value at or under the top-level `key` differs from its default.
    pub fn is_changed(&self, key: &str) -> bool {
        self.changed.keys().any(|k| k == key || k.strip_prefix(key).is_some_and(|rest| rest.starts_with('.')))
    }

    /// Checks every given value against its declared range; the error names the key.
    pub fn check_ranges(&self) -> Result<()> {
        for (path, value) in &self.changed {
            let (_, param) = find_path(path).expect("stored keys are declared");
            param.check_range(path, value)?;
        }
        Ok(())
    }
}

fn wrong_kind(path: &str, want: &str, got: &Value) -> ! {
    panic!("method parameter `{path}` is declared as something other than a {want} (its value is {got})")
}

fn unknown(path: &str) -> AdapterError {
    if let Some((group, key)) = path.rsplit_once('.') {
        if let Some((_, param)) = find_path(group).filter(|(_, p)| p.removed.iter().any(|(k, _)| *k == key)) {
            return param.unknown_child(group, key);
        }
    }
    let keys: Vec<&str> = declared_keys().map(|(_, p)| p.name).collect();
    AdapterError::config(path, format!("no method declares this parameter (method parameters: {})", keys.join(", ")))
}
