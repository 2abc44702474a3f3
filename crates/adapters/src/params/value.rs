//! A method parameter's value, read from YAML/JSON by its declaration and written back.

use super::spec::{Kind, Param};
use crate::activations::ActivationConfig;
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// The value of one method parameter (a group: of each of its sub-parameters).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A real number (also a negative integer as read, which no integer parameter takes).
    Number(f64),
    /// A non-negative integer.
    Integer(u64),
    /// A word.
    Text(String),
    /// `null`.
    Null,
    /// An activation with every parameter written out.
    Activation(ActivationConfig),
    /// Sub-parameters by name, in declaration order once resolved.
    Group(Vec<(&'static str, Value)>),
}

impl fmt::Display for Value {
    /// The value as YAML would show it (`0.9`, `10`, `hard`, `null`, `sinter`, `{ omega: 100 }`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Number(v) => write!(f, "{v}"),
            Value::Integer(v) => write!(f, "{v}"),
            Value::Text(t) => f.write_str(t),
            Value::Null => f.write_str("null"),
            Value::Activation(a) => f.write_str(&a.name),
            Value::Group(entries) => {
                let parts: Vec<String> = entries.iter().map(|(k, v)| format!("{k}: {v}")).collect();
                write!(f, "{{ {} }}", parts.join(", "))
            }
        }
    }
}

/// What a wrong value is, for errors: `the string "big"`, `the number 2.5`, `a mapping`.
pub fn describe(value: &Value) -> String {
    match value {
        Value::Number(v) => format!("the number {v}"),
        Value::Integer(v) => format!("the number {v}"),
        Value::Text(t) => format!("the string {t:?}"),
        Value::Null => "null".into(),
        Value::Activation(a) => format!("the activation `{}`", a.name),
        Value::Group(_) => "a mapping".into(),
    }
}

impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Number(v)
    }
}

impl From<u64> for Value {
    fn from(v: u64) -> Self {
        Value::Integer(v)
    }
}

impl From<usize> for Value {
    fn from(v: usize) -> Self {
        Value::Integer(v as u64)
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.into())
    }
}

impl From<Option<f64>> for Value {
    fn from(v: Option<f64>) -> Self {
        v.map_or(Value::Null, Value::Number)
    }
}

impl From<ActivationConfig> for Value {
    fn from(v: ActivationConfig) -> Self {
        Value::Activation(v)
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            Value::Number(v) => serializer.serialize_f64(*v),
            Value::Integer(v) => serializer.serialize_u64(*v),
            Value::Text(t) => serializer.serialize_str(t),
            Value::Null => serializer.serialize_none(),
            Value::Activation(a) => a.serialize(serializer),
            Value::Group(entries) => {
                let mut map = serializer.serialize_map(Some(entries.len()))?;
                for (k, v) in entries {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

/// Reads the value of `param` at `adapter.<path>` from any serde format, typed by the
/// declaration: an activation through [`ActivationConfig`]'s own reader, a group key by
/// key (unknown keys are errors listing the valid ones), a scalar as [`Param::accept`] takes it.
pub struct ParamSeed<'a> {
    /// The declaration.
    pub param: &'static Param,
    /// The dotted key below `adapter.`, for errors.
    pub path: &'a str,
}

impl<'de> DeserializeSeed<'de> for ParamSeed<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> std::result::Result<Value, D::Error> {
        match self.param.kind {
            Kind::Activation { .. } => ActivationConfig::deserialize(deserializer).map(Value::Activation),
            _ => deserializer.deserialize_any(ParamVisitor(self)),
        }
    }
}

struct ParamVisitor<'a>(ParamSeed<'a>);

impl ParamVisitor<'_> {
    fn take<E: de::Error>(&self, value: Value) -> std::result::Result<Value, E> {
        self.0.param.accept(self.0.path, value).map_err(E::custom)
    }

    fn other<E: de::Error>(&self, what: &str) -> std::result::Result<Value, E> {
        Err(E::custom(format!("adapter.{}: expected {}, got {what}", self.0.path, self.0.param.type_name())))
    }
}

impl<'de> Visitor<'de> for ParamVisitor<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "adapter.{}: {}", self.0.path, self.0.param.type_name())
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> std::result::Result<Value, E> {
        self.other(&format!("the boolean {v}"))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> std::result::Result<Value, E> {
        self.take(Value::Integer(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> std::result::Result<Value, E> {
        match u64::try_from(v) {
            Ok(u) => self.take(Value::Integer(u)),
            Err(_) => self.take(Value::Number(v as f64)),
        }
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> std::result::Result<Value, E> {
        if !v.is_finite() {
            return Err(E::custom(format!("adapter.{}: {v} is not a finite number", self.0.path)));
        }
        self.take(Value::Number(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<Value, E> {
        self.take(Value::Text(v.into()))
    }

    fn visit_unit<E: de::Error>(self) -> std::result::Result<Value, E> {
        self.take(Value::Null)
    }

    fn visit_none<E: de::Error>(self) -> std::result::Result<Value, E> {
        self.take(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> std::result::Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, _seq: A) -> std::result::Result<Value, A::Error> {
        self.other("a list")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Value, A::Error> {
        if !matches!(self.0.param.kind, Kind::Group(_)) {
            return self.other("a mapping");
        }
        let mut entries: Vec<(&'static str, Value)> = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            let path = format!("{}.{key}", self.0.path);
            let child = self.0.param.child(&key).ok_or_else(|| de::Error::custom(self.0.param.unknown_child(self.0.path, &key)))?;
            if entries.iter().any(|(k, _)| *k == child.name) {
                return Err(de::Error::custom(format!("adapter.{path}: given twice")));
            }
            entries.push((child.name, map.next_value_seed(ParamSeed { param: child, path: &path })?));
        }
        Ok(Value::Group(entries))
    }
}
