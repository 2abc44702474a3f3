//! Reading and writing `adapter:`.
//!
//! Reading: the shared keys by type, a method's key by its declaration ([`ParamSeed`]),
//! anything else an error naming the key and listing the valid ones. Writing: the shared
//! keys, then the method parameters [`AdapterConfig::listed`] picks, each in full.

use super::AdapterConfig;
use crate::params::{self, Param, ParamSeed};
use serde::de::{self, DeserializeSeed, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::sync::LazyLock;

/// The keys every low-rank method shares, in the order they are written.
pub(crate) const SHARED: [&str; 7] = ["method", "r", "alpha", "dropout", "targets", "layers", "rslora"];

/// Every key `adapter:` takes, for the unknown-key error: the shared ones, then each method's.
static KEYS: LazyLock<Vec<&'static str>> = LazyLock::new(|| SHARED.iter().copied().chain(params::declared_keys().map(|(_, p)| p.name)).collect());

impl AdapterConfig {
    /// The method parameters written out, in registry order: those listed for every
    /// method (LoRAN's `activation`), those given a value other than their default
    /// (another method's are ignored, with a warning, but recorded), and, when
    /// `with_method_defaults`, every parameter of the chosen method.
    fn listed(&self, with_method_defaults: bool) -> Vec<&'static Param> {
        params::declared_keys()
            .filter(|(method, p)| p.listed_for_every_method || self.params.is_changed(p.name) || (with_method_defaults && method.name == self.method))
            .map(|(_, p)| p)
            .collect()
    }

    /// The section as the config hash covers it: the written form without the chosen
    /// method's parameters that are all at their defaults (LoRAN's `activation` stays,
    /// as it always was). Runs configured before methods declared their parameters
    /// never wrote those defaults, so their hashes stay valid; and a parameter spelled
    /// out at its default hashes as if it were left out, as the two mean the same run.
    /// A method whose rules changed since (its `revision` > 0) adds `method_revision`,
    /// so its stored runs, trained under the old rules, are not taken for new ones.
    pub fn hash_form(&self) -> serde_json::Value {
        serde_json::to_value(Written { cfg: self, with_method_defaults: false }).expect("the adapter config serializes")
    }
}

/// One of the two written forms.
struct Written<'a> {
    cfg: &'a AdapterConfig,
    with_method_defaults: bool,
}

impl Serialize for Written<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let c = self.cfg;
        let listed = c.listed(self.with_method_defaults);
        let revision = crate::find_method(&c.method).map_or(0, |m| m.revision);
        let revised = !self.with_method_defaults && revision > 0;
        let mut map = serializer.serialize_map(Some(SHARED.len() + listed.len() + usize::from(revised)))?;
        map.serialize_entry("method", &c.method)?;
        map.serialize_entry("r", &c.r)?;
        map.serialize_entry("alpha", &c.alpha)?;
        map.serialize_entry("dropout", &c.dropout)?;
        map.serialize_entry("targets", &c.targets)?;
        map.serialize_entry("layers", &c.layers)?;
        map.serialize_entry("rslora", &c.rslora)?;
        for param in listed {
            map.serialize_entry(param.name, &c.params.get(param.name))?;
        }
        if revised {
            map.serialize_entry("method_revision", &revision)?;
        }
        map.end()
    }
}

impl Serialize for AdapterConfig {
    /// The shared keys, then every parameter of the chosen method (defaults included)
    /// and any other method's that is set; what `config.resolved.yaml` shows.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        Written { cfg: self, with_method_defaults: true }.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for AdapterConfig {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(ConfigVisitor)
    }
}

struct ConfigVisitor;

impl<'de> Visitor<'de> for ConfigVisitor {
    type Value = AdapterConfig;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("the adapter settings, a mapping such as `{ method: lora, r: 16 }`")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<AdapterConfig, A::Error> {
        let mut cfg = AdapterConfig::default();
        let mut seen: Vec<String> = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            if seen.contains(&key) {
                return Err(de::Error::custom(format_args!("duplicate field `{key}`")));
            }
            match key.as_str() {
                "method" => cfg.method = map.next_value()?,
                "r" => cfg.r = map.next_value_seed(Rank)?,
                "alpha" => cfg.alpha = map.next_value()?,
                "dropout" => cfg.dropout = map.next_value()?,
                "targets" => cfg.targets = map.next_value()?,
                "layers" => cfg.layers = map.next_value()?,
                "rslora" => cfg.rslora = map.next_value()?,
                other => {
                    let Some((_, param)) = params::find_key(other) else {
                        return Err(de::Error::unknown_field(other, KEYS.as_slice()));
                    };
                    let value = map.next_value_seed(ParamSeed { param, path: other })?;
                    cfg.params.store(other, param, value);
                }
            }
            seen.push(key);
        }
        Ok(cfg)
    }
}

/// `r` as a positive integer, with an error naming the key for `-4`, `2.5` or `"8"`.
struct Rank;

impl<'de> DeserializeSeed<'de> for Rank {
    type Value = usize;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<usize, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl Visitor<'_> for Rank {
    type Value = usize;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("adapter.r: a positive integer rank, e.g. 64")
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<usize, E> {
        usize::try_from(v).map_err(|_| E::custom(format!("adapter.r: {v} is too large")))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<usize, E> {
        if v < 0 {
            return Err(E::custom(format!("adapter.r: the rank must be a positive integer, got {v}")));
        }
        self.visit_u64(v as u64)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<usize, E> {
        Err(E::custom(format!("adapter.r: the rank must be a positive integer, got {v}")))
    }
}
