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

/// Whether `value` still holds at the dotted `key` of `root`: equal, or for a mapping,
/// every one of its entries holds there. An axis value that a later bundle overwrote
/// fails this, which would leave the cell's name claiming a value its config lacks.
pub fn holds(root: &Value, key: &str, value: &Value) -> bool {
    let mut node = root;
    for part in key.split('.') {
        match node.get(part) {
            Some(next) => node = next,
            None => return false,
        }
    }
    contains(node, value)
}

fn contains(have: &Value, want: &Value) -> bool {
    match (have, want) {
        (Value::Object(have), Value::Object(want)) => want.iter().all(|(k, w)| have.get(k).is_some_and(|h| contains(h, w))),
        (have, want) => have == want,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_value_holds_until_something_overwrites_it() {
        let mut root = json!({ "train": { "steps": 40, "lr": 0.003 } });
        set_dotted(&mut root, "train.lr", json!(0.03)).unwrap();
        assert!(holds(&root, "train.lr", &json!(0.03)));
        assert!(holds(&root, "train", &json!({ "lr": 0.03 })));
        // A later mapping over the whole section replaces the axis value.
        set_dotted(&mut root, "train", json!({ "steps": 90, "lr": 0.01 })).unwrap();
        assert!(!holds(&root, "train.lr", &json!(0.03)));
        assert!(holds(&root, "train.lr", &json!(0.01)));
        assert!(!holds(&root, "train.batch_size", &json!(4)));
        // A renamed registry entry drops the old parameters.
        let mut root = json!({ "activation": { "name": "sinter", "omega": 100.0 } });
        set_dotted(&mut root, "activation", json!({ "name": "tanh" })).unwrap();
        assert!(!holds(&root, "activation", &json!({ "name": "sinter", "omega": 100.0 })));
    }
}
