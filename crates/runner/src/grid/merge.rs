//! Merging YAML values: a grid's axis and bundle values into its base, and a grid
//! over the files it includes.

use anyhow::{anyhow, Result};
use serde_json::{Map, Value};

/// Merges `value` into `slot`: mappings merge key by key, anything else replaces.
/// A mapping that names a different registry entry (`{ name: tanh }` over
/// `{ name: sinter, amplitude, omega }`) replaces too: the old parameters belong
/// to the old name.
pub fn merge(slot: &mut Value, value: Value) {
    let renamed = |old: &Map<String, Value>, new: &Map<String, Value>| new.get("name").is_some_and(|n| old.get("name") != Some(n));
    match (slot, value) {
        (Value::Object(existing), Value::Object(new)) if !renamed(existing, &new) => {
            for (k, v) in new {
                match existing.get_mut(&k) {
                    Some(old) => merge(old, v),
                    None => {
                        existing.insert(k, v);
                    }
                }
            }
        }
        (slot, value) => *slot = value,
    }
}

/// Sets `value` at the dotted `key` inside `root`, creating sections as needed.
/// A mapping value merges into an existing section (`train: {steps: 5}` keeps the other train keys).
pub fn set_dotted(root: &mut Value, key: &str, value: Value) -> Result<()> {
    let mut node = root;
    let parts: Vec<&str> = key.split('.').collect();
    for (i, part) in parts.iter().enumerate() {
        let obj = node.as_object_mut().ok_or_else(|| anyhow!("`{}` is not a section", parts[..i].join(".")))?;
        if i + 1 == parts.len() {
            match obj.get_mut(*part) {
                Some(slot) => merge(slot, value),
                None => {
                    obj.insert(part.to_string(), value);
                }
            }
            return Ok(());
        }
        node = obj.entry(part.to_string()).or_insert_with(|| Value::Object(Map::new()));
        if node.is_null() {
            *node = Value::Object(Map::new());
        }
    }
    Ok(())
}
