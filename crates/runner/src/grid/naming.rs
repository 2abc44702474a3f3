//! Cell names: which keys vary between cells, and their values as short labels.

use serde_json::Value;
use std::collections::HashMap;

/// A value as a short label: strings bare; objects by their `name` field when they
/// have one, else their values joined by `-` (`method` first, so an `adapter` mapping
/// `{ method: loran, activation: sinter }` reads `loran-sinter`).
pub fn label_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Object(o) => match o.get("name") {
            Some(Value::String(n)) => n.clone(),
            _ => {
                let method = o.get("method").into_iter();
                let rest = o.iter().filter(|(k, _)| k.as_str() != "method").map(|(_, v)| v);
                method.chain(rest).map(label_text).collect::<Vec<_>>().join("-")
            }
        },
        Value::Array(items) => items.iter().map(label_text).collect::<Vec<_>>().join("+"),
        other => other.to_string(),
    }
}

/// [`label_text`] with a named mapping's other entries too (`sinter-amplitude0.001-omega100`):
/// for an axis whose values share a name, so its cells stay apart. Only used on such
/// collisions, so every other cell keeps its short name.
pub fn detailed_label_text(value: &Value) -> String {
    match value {
        Value::Object(o) if matches!(o.get("name"), Some(Value::String(_))) => {
            let rest = o.iter().filter(|(k, _)| k.as_str() != "name").map(|(k, v)| format!("{k}{}", detailed_label_text(v)));
            std::iter::once(label_text(value)).chain(rest).collect::<Vec<_>>().join("-")
        }
        Value::Object(o) => o.iter().map(|(_, v)| detailed_label_text(v)).collect::<Vec<_>>().join("-"),
        Value::Array(items) => items.iter().map(detailed_label_text).collect::<Vec<_>>().join("+"),
        other => label_text(other),
    }
}

/// How each axis's values are written in cell names: [`label_text`], or
/// [`detailed_label_text`] for an axis two of whose distinct values would read alike.
pub fn axis_labeler(values: &[Value]) -> fn(&Value) -> String {
    let short: std::collections::BTreeSet<String> = values.iter().map(label_text).collect();
    if short.len() < values.len() {
        detailed_label_text
    } else {
        label_text
    }
}

/// The cell's name from its label values; a bare number takes its key's last part as a
/// prefix (`adapter.r: 8` reads `r8`), so numeric axes stay readable.
pub fn slug(labels: &[(String, String)]) -> String {
    if labels.is_empty() {
        return "base".into();
    }
    let part = |(key, value): &(String, String)| match value.parse::<f64>() {
        Ok(_) => format!("{}{value}", key.rsplit('.').next().unwrap_or(key)),
        Err(_) => value.clone(),
    };
    let raw = labels.iter().map(part).collect::<Vec<_>>().join("-");
    let cleaned: String = raw.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+') { c } else { '_' }).collect();
    cleaned.trim_matches('_').to_string()
}

/// The keys that name cells: axis keys whose value varies, plus bundle keys that
/// vary between cells with the same axis values (a bundle key fixed by the axes,
/// like a per-task setting, adds nothing to a name).
///
/// Cells are grouped by their axis values once, so a bundle key is compared within
/// its group only: linear in the cells for a fixed number of bundles (comparing
/// every pair of cells took seconds for a few thousand cells; found by the fuzzer).
pub fn label_keys(assignments: &[Vec<(String, Value)>], axis_keys: Vec<String>) -> Vec<String> {
    fn get<'a>(a: &'a [(String, Value)], k: &str) -> Option<&'a Value> {
        a.iter().find(|(ak, _)| ak == k).map(|(_, v)| v)
    }
    let mut keys: Vec<String> = axis_keys
        .iter()
        .filter(|k| assignments.iter().any(|a| get(a, k) != get(&assignments[0], k)))
        .cloned()
        .collect();
    let mut groups: HashMap<String, Vec<usize>> = HashMap::new();
    let group_of: Vec<String> = assignments
        .iter()
        .enumerate()
        .map(|(i, a)| {
            // `[value]`, or `[]` for a missing key, so that a missing key and `~` differ.
            let axis_values: Vec<Value> = axis_keys.iter().map(|k| Value::Array(get(a, k).into_iter().cloned().collect())).collect();
            let group = Value::Array(axis_values).to_string();
            groups.entry(group.clone()).or_default().push(i);
            group
        })
        .collect();
    for (a, group) in assignments.iter().zip(&group_of) {
        for (k, _) in a {
            if keys.contains(k) || axis_keys.contains(k) {
                continue;
            }
            let independent = groups[group].iter().any(|&j| get(a, k) != get(&assignments[j], k));
            if independent {
                keys.push(k.clone());
            }
        }
    }
    keys
}
