//! What an activation is: a scalar function with its derivative, plus the
//! registry entry that names it and declares its parameters.

use crate::error::{AdapterError, Result};
use std::collections::BTreeMap;
use std::fmt::{self, Debug};
use std::sync::Arc;

/// An element-wise function f and its derivative f′.
///
/// Both take and return f64. Callers hand in f32 values (exactly representable
/// in f64) and round the result to f32 once, so the f32 answer is as close to
/// the true value as f32 allows. This matters for Sinter, whose ripple
/// `A·x·sin(ωx)` is 5e-5 of x and whose phase ωx reaches 1e4·|x|.
pub trait Activation: Debug + Send + Sync {
    /// f(x).
    fn f(&self, x: f64) -> f64;
    /// f′(x).
    fn df(&self, x: f64) -> f64;
    /// (f(x), f′(x)) together; override when they share costly terms.
    fn f_df(&self, x: f64) -> (f64, f64) {
        (self.f(x), self.df(x))
    }
}

/// One numeric parameter of an activation (e.g. Sinter's `amplitude`).
#[derive(Debug, Clone, Copy)]
pub struct Param {
    /// Key in YAML (`adapter.activation.<name>`).
    pub name: &'static str,
    /// Value when the key is absent.
    pub default: f64,
    /// One line for docs and errors.
    pub doc: &'static str,
}

impl Param {
    /// A finite real parameter with a default.
    pub const fn number(name: &'static str, default: f64, doc: &'static str) -> Self {
        Self { name, default, doc }
    }

    /// The type shown in errors (every parameter is a finite number today).
    pub fn type_name(&self) -> &'static str {
        "number"
    }
}

/// Resolved parameter values, every declared parameter present.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Params(BTreeMap<String, f64>);

impl Params {
    /// The value of `name`.
    ///
    /// # Panics
    /// If the activation did not declare `name` (a bug in that activation's file).
    pub fn get(&self, name: &str) -> f64 {
        *self.0.get(name).unwrap_or_else(|| panic!("activation parameter `{name}` is not declared in its SPEC"))
    }

    /// All values, by name.
    pub fn as_map(&self) -> &BTreeMap<String, f64> {
        &self.0
    }
}

/// Builds the function from resolved parameters.
pub type BuildActivation = fn(&Params) -> Arc<dyn Activation>;

/// A registered activation: its name, formula, parameters and constructor.
#[derive(Clone, Copy)]
pub struct ActivationSpec {
    /// Name in YAML (`activation: sinter`).
    pub name: &'static str,
    /// The formula, for docs and errors.
    pub formula: &'static str,
    /// Declared parameters (empty for most).
    pub params: &'static [Param],
    /// Constructor.
    pub build: BuildActivation,
}

impl Debug for ActivationSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ActivationSpec").field("name", &self.name).field("formula", &self.formula).finish()
    }
}

impl ActivationSpec {
    /// `amplitude: number (default 5e-5), omega: number (default 10000)`, or "no parameters".
    pub fn describe_params(&self) -> String {
        if self.params.is_empty() {
            return "no parameters".into();
        }
        self.params
            .iter()
            .map(|p| format!("{}: {} (default {}; {})", p.name, p.type_name(), p.default, p.doc))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Fills defaults and checks every given value: keys must be declared, values finite.
    pub fn params_from(&self, given: &BTreeMap<String, f64>) -> Result<Params> {
        for (key, value) in given {
            let Some(_) = self.params.iter().find(|p| p.name == key) else {
                return Err(self.param_error(key, format!("`{}` has no parameter `{key}`", self.name)));
            };
            if !value.is_finite() {
                return Err(self.param_error(key, format!("{value} is not a finite number")));
            }
        }
        Ok(Params(self.params.iter().map(|p| (p.name.to_string(), given.get(p.name).copied().unwrap_or(p.default))).collect()))
    }

    /// An error about `adapter.activation.<key>` that lists the valid parameters.
    pub(crate) fn param_error(&self, key: &str, detail: String) -> AdapterError {
        AdapterError::config(&format!("activation.{key}"), format!("{detail} ({} takes {})", self.name, self.describe_params()))
    }
}
