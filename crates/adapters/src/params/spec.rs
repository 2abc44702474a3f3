//! What a method declares about one of its settings: a name, a type with a default,
//! a valid range and a doc line. Reading, checking, resolving and writing follow from
//! the declaration, so a method's file is the only place its settings are described.

use super::value::{describe, Value};
use crate::activations::ActivationConfig;
use crate::error::{AdapterError, Result};
use std::fmt;

/// One end of a [`Range`].
#[derive(Debug, Clone, Copy, PartialEq)]
enum Bound {
    Unbounded,
    Open(f64),
    Closed(f64),
}

/// The finite reals a number parameter accepts, e.g. `[0, 1)` or `(0, ∞)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Range {
    lo: Bound,
    hi: Bound,
}

impl Range {
    /// Every finite number.
    pub const ANY: Range = Range { lo: Bound::Unbounded, hi: Bound::Unbounded };

    /// `(lo, ∞)`.
    pub const fn above(lo: f64) -> Self {
        Range { lo: Bound::Open(lo), hi: Bound::Unbounded }
    }

    /// `[lo, ∞)`.
    pub const fn at_least(lo: f64) -> Self {
        Range { lo: Bound::Closed(lo), hi: Bound::Unbounded }
    }

    /// `[lo, hi)`.
    pub const fn closed_open(lo: f64, hi: f64) -> Self {
        Range { lo: Bound::Closed(lo), hi: Bound::Open(hi) }
    }

    /// `[lo, hi]`.
    pub const fn closed(lo: f64, hi: f64) -> Self {
        Range { lo: Bound::Closed(lo), hi: Bound::Closed(hi) }
    }

    /// `(lo, hi]`.
    pub const fn open_closed(lo: f64, hi: f64) -> Self {
        Range { lo: Bound::Open(lo), hi: Bound::Closed(hi) }
    }

    /// `(lo, hi)`.
    pub const fn open(lo: f64, hi: f64) -> Self {
        Range { lo: Bound::Open(lo), hi: Bound::Open(hi) }
    }

    /// The lower end and whether it is included (`None`: unbounded below).
    pub fn lower(&self) -> Option<(f64, bool)> {
        match self.lo {
            Bound::Unbounded => None,
            Bound::Open(b) => Some((b, false)),
            Bound::Closed(b) => Some((b, true)),
        }
    }

    /// The upper end and whether it is included (`None`: unbounded above).
    pub fn upper(&self) -> Option<(f64, bool)> {
        match self.hi {
            Bound::Unbounded => None,
            Bound::Open(b) => Some((b, false)),
            Bound::Closed(b) => Some((b, true)),
        }
    }

    /// Whether `v` is finite and inside.
    pub fn contains(&self, v: f64) -> bool {
        let lo = match self.lo {
            Bound::Unbounded => true,
            Bound::Open(b) => v > b,
            Bound::Closed(b) => v >= b,
        };
        let hi = match self.hi {
            Bound::Unbounded => true,
            Bound::Open(b) => v < b,
            Bound::Closed(b) => v <= b,
        };
        v.is_finite() && lo && hi
    }
}

impl fmt::Display for Range {
    /// `in [0, 1)`, `in (0, ∞)`, or `finite`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lo = match self.lo {
            Bound::Unbounded => "(−∞".to_string(),
            Bound::Open(b) => format!("({b}"),
            Bound::Closed(b) => format!("[{b}"),
        };
        let hi = match self.hi {
            Bound::Unbounded => "∞)".to_string(),
            Bound::Open(b) => format!("{b})"),
            Bound::Closed(b) => format!("{b}]"),
        };
        if *self == Range::ANY {
            f.write_str("finite")
        } else {
            write!(f, "in {lo}, {hi}")
        }
    }
}

/// The type of a parameter, with its default.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// A finite real in a range.
    Number {
        /// Value when the key is absent.
        default: f64,
        /// Valid values.
        range: Range,
    },
    /// A non-negative integer, at least `min` (a step count).
    Integer {
        /// Value when the key is absent.
        default: u64,
        /// Smallest valid value.
        min: u64,
    },
    /// One of a few words (e.g. `hard` or `soft`).
    Choice {
        /// Value when the key is absent.
        default: &'static str,
        /// Every valid word.
        options: &'static [&'static str],
    },
    /// A finite real in a range, or `null` (the default) for a value derived from the
    /// rest of the config.
    OptionalNumber {
        /// Valid values besides `null`.
        range: Range,
        /// What `null` stands for, for docs and errors (`ω/s`).
        null_means: &'static str,
    },
    /// An activation: a registry name or `{ name, <params> }` (see [`ActivationConfig`]).
    Activation {
        /// Registry name of the default, with that activation's default parameters.
        default: &'static str,
    },
    /// A mapping of sub-parameters written under this key, e.g. `sine: { omega, gain }`.
    Group(&'static [Param]),
}

/// One named, typed, documented setting of a method, read from a key of `adapter:`
/// (or of a group under it).
#[derive(Debug, Clone, Copy)]
pub struct Param {
    /// Key in YAML.
    pub name: &'static str,
    /// Type and default.
    pub kind: Kind,
    /// One line for docs and errors.
    pub doc: &'static str,
    /// Written into every run's resolved config, whatever the method. Only LoRAN's
    /// `activation` sets it: it was written so before methods declared their parameters,
    /// and dropping it would change the config hash of every earlier run.
    pub listed_for_every_method: bool,
    /// A group's keys that earlier versions took, each with why it went and what
    /// replaces it: configs that still use one fail with that message instead of a
    /// bare "unknown key", as a key whose meaning changed must not be read silently.
    pub removed: &'static [(&'static str, &'static str)],
}

impl Param {
    const fn new(name: &'static str, kind: Kind, doc: &'static str) -> Self {
        Self { name, kind, doc, listed_for_every_method: false, removed: &[] }
    }

    /// A finite real in `range`, `default` when absent.
    pub const fn number(name: &'static str, default: f64, range: Range, doc: &'static str) -> Self {
        Self::new(name, Kind::Number { default, range }, doc)
    }

    /// An integer ≥ `min`, `default` when absent.
    pub const fn integer(name: &'static str, default: u64, min: u64, doc: &'static str) -> Self {
        Self::new(name, Kind::Integer { default, min }, doc)
    }

    /// One of `options`, `default` when absent.
    pub const fn choice(name: &'static str, default: &'static str, options: &'static [&'static str], doc: &'static str) -> Self {
        Self::new(name, Kind::Choice { default, options }, doc)
    }

    /// A finite real in `range`, or `null` (the default), which means `null_means`.
    pub const fn optional_number(name: &'static str, range: Range, null_means: &'static str, doc: &'static str) -> Self {
        Self::new(name, Kind::OptionalNumber { range, null_means }, doc)
    }

    /// An activation, the registered `default` when absent.
    pub const fn activation(name: &'static str, default: &'static str, doc: &'static str) -> Self {
        Self::new(name, Kind::Activation { default }, doc)
    }

    /// A mapping of sub-parameters under `name`.
    pub const fn group(name: &'static str, params: &'static [Param], doc: &'static str) -> Self {
        Self::new(name, Kind::Group(params), doc)
    }

    /// The same parameter, written into every run's resolved config (see the field).
    pub const fn listed_for_every_method(mut self) -> Self {
        self.listed_for_every_method = true;
        self
    }

    /// The sub-parameters of a group (empty for the other kinds).
    pub fn children(&self) -> &'static [Param] {
        match self.kind {
            Kind::Group(params) => params,
            _ => &[],
        }
    }

    /// The sub-parameter `name` of a group.
    pub fn child(&self, name: &str) -> Option<&'static Param> {
        self.children().iter().find(|p| p.name == name)
    }

    /// The type as errors and docs show it: `a number in [0, 1)`, `an integer ≥ 1`, ….
    pub fn type_name(&self) -> String {
        match self.kind {
            Kind::Number { range, .. } => format!("a number {range}"),
            Kind::Integer { min, .. } => format!("an integer ≥ {min}"),
            Kind::Choice { options, .. } => format!("one of {}", options.join(", ")),
            Kind::OptionalNumber { range, null_means } => format!("a number {range}, or null for {null_means}"),
            Kind::Activation { .. } => "an activation name or `{ name, <params> }`".into(),
            Kind::Group(params) => format!("a mapping of {}", params.iter().map(|p| p.name).collect::<Vec<_>>().join(", ")),
        }
    }

    /// The value when the key is absent (a group: every sub-parameter's default).
    pub fn default_value(&self) -> Value {
        match self.kind {
            Kind::Number { default, .. } => Value::Number(default),
            Kind::Integer { default, .. } => Value::Integer(default),
            Kind::Choice { default, .. } => Value::Text(default.into()),
            Kind::OptionalNumber { .. } => Value::Null,
            Kind::Activation { default } => Value::Activation(ActivationConfig::named(default).expect("a method's default activation is registered")),
            Kind::Group(params) => Value::Group(params.iter().map(|p| (p.name, p.default_value())).collect()),
        }
    }

    /// `omega: a number in (0, ∞) (default 100; frequency ω …)`, for errors and docs.
    pub fn describe(&self) -> String {
        format!("{}: {} (default {}; {})", self.name, self.type_name(), self.default_value(), self.doc)
    }

    /// `value` as this parameter's type, or an error naming `adapter.<path>`, what it
    /// takes and what it got. Integers count as numbers; the range is [`Param::check_range`]'s.
    pub fn accept(&self, path: &str, value: Value) -> Result<Value> {
        let wrong = |value: &Value| {
            let default = match self.kind {
                Kind::Group(_) => String::new(),
                _ => format!("; e.g. {} (the default)", self.default_value()),
            };
            AdapterError::config(path, format!("expected {}, got {}{default}", self.type_name(), describe(value)))
        };
        match (self.kind, value) {
            (Kind::Number { .. }, Value::Integer(i)) => Ok(Value::Number(i as f64)),
            (Kind::Number { .. }, v @ Value::Number(_)) => Ok(v),
            (Kind::Integer { .. }, v @ Value::Integer(_)) => Ok(v),
            (Kind::Choice { options, .. }, Value::Text(t)) if options.contains(&t.as_str()) => Ok(Value::Text(t)),
            (Kind::OptionalNumber { .. }, Value::Integer(i)) => Ok(Value::Number(i as f64)),
            (Kind::OptionalNumber { .. }, v @ (Value::Number(_) | Value::Null)) => Ok(v),
            (Kind::Activation { .. }, Value::Activation(a)) => Ok(Value::Activation(a.normalized()?)),
            (Kind::Group(params), Value::Group(entries)) => {
                let mut out = Vec::with_capacity(entries.len());
                for (key, v) in entries {
                    let child = params.iter().find(|p| p.name == key).ok_or_else(|| self.unknown_child(path, key))?;
                    out.push((child.name, child.accept(&format!("{path}.{key}"), v)?));
                }
                Ok(Value::Group(out))
            }
            (Kind::Group(_), Value::Null) => Ok(Value::Group(Vec::new())),
            (_, v) => Err(wrong(&v)),
        }
    }

    /// A group whose earlier keys `removed` are refused with their message.
    pub const fn with_removed(mut self, removed: &'static [(&'static str, &'static str)]) -> Self {
        self.removed = removed;
        self
    }

    /// The error for a key this group does not declare: a removed key's own message,
    /// else the list of the keys it does declare.
    pub(crate) fn unknown_child(&self, path: &str, key: &str) -> AdapterError {
        if let Some((_, why)) = self.removed.iter().find(|(k, _)| *k == key) {
            return AdapterError::config(&format!("{path}.{key}"), format!("removed: {why}"));
        }
        let known: Vec<String> = self.children().iter().map(Param::describe).collect();
        AdapterError::config(&format!("{path}.{key}"), format!("`{}` has no parameter `{key}` (it takes {})", self.name, known.join("; ")))
    }

    /// Checks an accepted value against the range; the error names `adapter.<path>`
    /// and gives the default as a valid example.
    pub fn check_range(&self, path: &str, value: &Value) -> Result<()> {
        let ok = match (self.kind, value) {
            (Kind::Number { range, .. }, Value::Number(v)) => range.contains(*v),
            (Kind::Integer { min, .. }, Value::Integer(v)) => *v >= min,
            (Kind::OptionalNumber { range, .. }, Value::Number(v)) => range.contains(*v),
            _ => true,
        };
        if ok {
            return Ok(());
        }
        Err(AdapterError::config(path, format!("{value} is not {}; e.g. {} (the default)", self.type_name(), self.default_value())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_contain_what_they_say_and_read_as_intervals() {
        let unit = Range::closed_open(0.0, 1.0);
        assert!(unit.contains(0.0) && unit.contains(0.999) && !unit.contains(1.0) && !unit.contains(-1e-9));
        assert_eq!(unit.to_string(), "in [0, 1)");
        let positive = Range::above(0.0);
        assert!(!positive.contains(0.0) && positive.contains(1e-300) && !positive.contains(f64::INFINITY));
        assert_eq!(positive.to_string(), "in (0, ∞)");
        assert!(Range::at_least(0.0).contains(0.0) && !Range::at_least(0.0).contains(-0.5));
        assert!(Range::ANY.contains(-1e300) && !Range::ANY.contains(f64::NAN));
        assert_eq!(Range::ANY.to_string(), "finite");
    }

    #[test]
    fn accept_converts_checks_types_and_names_the_key() {
        let p = Param::number("omega", 100.0, Range::above(0.0), "frequency");
        assert_eq!(p.accept("sine.omega", Value::Integer(3)).unwrap(), Value::Number(3.0));
        let err = p.accept("sine.omega", Value::Text("big".into())).unwrap_err().to_string();
        assert_eq!(err, "adapter.sine.omega: expected a number in (0, ∞), got the string \"big\"; e.g. 100 (the default)");
        let every = Param::integer("every", 10, 1, "steps");
        let err = every.accept("na_lora.every", Value::Number(2.5)).unwrap_err().to_string();
        assert!(err.starts_with("adapter.na_lora.every: expected an integer ≥ 1, got the number 2.5"), "{err}");
        let err = every.check_range("na_lora.every", &Value::Integer(0)).unwrap_err().to_string();
        assert_eq!(err, "adapter.na_lora.every: 0 is not an integer ≥ 1; e.g. 10 (the default)");
        let mask = Param::choice("mask", "hard", &["hard", "soft"], "kind");
        let err = mask.accept("na_lora.mask", Value::Text("medium".into())).unwrap_err().to_string();
        assert!(err.contains("adapter.na_lora.mask: expected one of hard, soft, got the string \"medium\""), "{err}");
        let gain = Param::optional_number("gain", Range::above(0.0), "ω/s", "divisor");
        assert_eq!(gain.accept("sine.gain", Value::Null).unwrap(), Value::Null);
        let err = gain.check_range("sine.gain", &Value::Number(-1.0)).unwrap_err().to_string();
        assert_eq!(err, "adapter.sine.gain: -1 is not a number in (0, ∞), or null for ω/s; e.g. null (the default)");
    }
}
