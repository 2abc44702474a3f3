//! Expanding a grid into cells: axes × bundles, minus exclusions, times seeds.
//!
//! Bundles are variants whose values are applied together. A bundle entry that
//! sets an axis key only combines with cells having that axis value (so
//! `{adapter.method: loran, adapter.activation: {name: sinter}}` gives the
//! `loran` cells their activation); a cell that no bundle entry fits is kept
//! as the axes made it.

use crate::grid::naming::{axis_labeler, label_keys, slug};
use crate::grid::spec::GridFile;
use crate::grid::validate;
use loran_train::cell::Cell;
use loran_train::config::RunConfig;
use anyhow::{anyhow, bail, Result};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

pub use crate::grid::merge::set_dotted;
use crate::grid::merge::holds;
pub use crate::grid::naming::label_text;


/// sha256 of the config's canonical JSON (object keys sorted), with the adapter section
/// in its hash form (`AdapterConfig::hash_form`: the chosen method's parameters left out
/// while all at their defaults, so hashes from before methods declared them still hold).
pub fn config_hash(config: &RunConfig) -> String {
    fn canonical(v: &Value) -> Value {
        match v {
            Value::Object(o) => {
                let mut keys: Vec<&String> = o.keys().collect();
                keys.sort();
                Value::Object(keys.into_iter().map(|k| (k.clone(), canonical(&o[k]))).collect())
            }
            Value::Array(a) => Value::Array(a.iter().map(canonical).collect()),
            other => other.clone(),
        }
    }
    let mut value = serde_json::to_value(config).expect("config serializes");
    value["adapter"] = config.adapter.hash_form();
    let json = canonical(&value);
    hex::encode(Sha256::digest(json.to_string().as_bytes()))
}

/// `file:line` and key of the first of a cell's values that fails on the base
/// alone: the value to blame when the cell's config does not deserialize.
fn blame(grid: &GridFile, base: &Value, assignment: &[(String, Value)]) -> Option<(String, String)> {
    assignment.iter().find_map(|(k, v)| {
        let mut alone = base.clone();
        let bad = set_dotted(&mut alone, k, v.clone()).is_err() || serde_json::from_value::<RunConfig>(alone).is_err();
        bad.then(|| (grid.locate_value(k, v), k.clone()))
    })
}

/// Longest cell name in bytes: with `-s<seed>-<hash>` it stays a valid folder name (most
/// file systems allow 255 bytes).
pub const MAX_CELL_NAME_BYTES: usize = 200;

/// `file:line` of the value that sets the dotted `key` in a cell with `assignment`: the axis
/// or bundle value that sets it (or a mapping above it), else its line in `base`.
/// A value out of a range that depends on other keys (`depends_on`) and is not set by the
/// cell is blamed on the cell's value of a key it depends on, if any.
fn range_place(grid: &GridFile, assignment: &[(String, Value)], key: &str, depends_on: &[&str]) -> String {
    let sets = |target: &str, k: &str| target == k || target.starts_with(&format!("{k}."));
    let setter = assignment.iter().filter(|(k, _)| sets(key, k)).max_by_key(|(k, _)| k.len());
    let setter = setter.or_else(|| assignment.iter().find(|(k, _)| depends_on.iter().any(|d| sets(d, k))));
    match setter {
        Some((k, v)) => grid.locate_value(k, v),
        None => grid.locate_path(&format!("base.{key}")),
    }
}

/// Every cell of the grid, in a stable order (axes in file order, then bundles, then seeds).
/// Errors are one line (see [`loran_io::one_line`]).
pub fn expand(grid: &GridFile) -> Result<Vec<Cell>> {
    expand_cells(grid).map_err(|e| anyhow!(loran_io::one_line(&grid.with_origin(&loran_io::chain_line(&*e)))))
}

fn expand_cells(grid: &GridFile) -> Result<Vec<Cell>> {
    let spec = &grid.spec;
    let base = serde_json::to_value(&spec.base)?;
    // Cartesian product of the axes.
    let mut combos: Vec<Vec<(String, Value)>> = vec![Vec::new()];
    for (key, values) in &spec.axes {
        let values = values.as_array().expect("checked when parsing");
        combos = combos
            .into_iter()
            .flat_map(|c| values.iter().map(move |v| {
                let mut c = c.clone();
                c.push((key.clone(), v.clone()));
                c
            }))
            .collect();
    }
    // A bundle key that is also an axis key selects cells; a value the axis never
    // takes would silently select none (e.g. a partial mapping for a mapping axis).
    for (i, bundle) in spec.bundles.iter().enumerate() {
        for (k, v) in bundle {
            if let Some(values) = spec.axes.get(k).and_then(Value::as_array) {
                if !values.contains(v) {
                    let taken = values.iter().map(validate::flow).collect::<Vec<_>>().join(", ");
                    let field = if values.iter().any(Value::is_object) {
                        format!(" (to set a field of a mapping axis, use a dotted key such as `{k}.<field>`)")
                    } else {
                        String::new()
                    };
                    bail!(
                        "{}: bundle {} gives `{k}: {}`, which is not a value of the axis `{k}`, so it would select no cell; \
                         a bundle key that is also an axis key selects cells by equality: use one of {taken}{field}",
                        grid.locate_in("bundles", k),
                        i + 1,
                        validate::flow(v)
                    );
                }
            }
        }
    }
    // One bundle that names no axis would fit every cell: not a variant but a silent
    // override of base (typically a per-task bundle included by a grid with no task axis).
    let unconditional: Vec<usize> =
        (0..spec.bundles.len()).filter(|&i| !spec.bundles[i].keys().any(|k| spec.axes.contains_key(k))).collect();
    if let [i] = unconditional[..] {
        let keys: Vec<&String> = spec.bundles[i].keys().collect();
        bail!(
            "{}: bundle {} names no axis of this grid, so it would apply to every cell and override `base`; \
             add an axis for `{}` (e.g. `{}: [...]`), or move its values into `base`",
            grid.locate_in("bundles", keys[0]),
            i + 1,
            keys[0],
            keys[0]
        );
    }
    // Bundles: each combo takes every fitting entry, or stays as it is when none fits.
    let mut assignments: Vec<Vec<(String, Value)>> = Vec::new();
    for combo in combos {
        let fitting: Vec<&Map<String, Value>> = spec
            .bundles
            .iter()
            .filter(|b| b.iter().all(|(k, v)| combo.iter().find(|(ck, _)| ck == k).is_none_or(|(_, cv)| cv == v)))
            .collect();
        if fitting.is_empty() {
            assignments.push(combo);
            continue;
        }
        for bundle in fitting {
            let mut a = combo.clone();
            for (k, v) in bundle {
                if !a.iter().any(|(ak, _)| ak == k) {
                    a.push((k.clone(), v.clone()));
                }
            }
            assignments.push(a);
        }
    }
    validate::check_exclude_matches(grid, &assignments)?;
    assignments.retain(|a| !spec.exclude.iter().any(|ex| validate::matches(ex, a)));
    if assignments.is_empty() {
        bail!("{}: every cell is excluded; check `exclude`", grid.locate("exclude"));
    }
    let varying = label_keys(&assignments, spec.axes.keys().cloned().collect());
    let labeler = |key: &str| spec.axes.get(key).and_then(Value::as_array).map_or(label_text as fn(&Value) -> String, |v| axis_labeler(v));
    let mut cells = Vec::new();
    let mut seen_groups = std::collections::HashSet::new();
    for a in &assignments {
        let mut value = base.clone();
        for (k, v) in a {
            set_dotted(&mut value, k, v.clone()).map_err(|e| anyhow!("{}: key `{k}`: {e}", grid.locate(k)))?;
        }
        if let Some((k, v)) = a.iter().find(|(k, v)| spec.axes.contains_key(k) && !holds(&value, k, v)) {
            let over = a.iter().map(|(b, _)| b).find(|b| *b != k && (k.starts_with(&format!("{b}.")) || b.starts_with(&format!("{k}."))));
            bail!(
                "{}: the axis value `{k}: {}` is overwritten by a bundle's `{}`, so the cell would be named for a value \
                 its config does not have; set single fields in the bundle with dotted keys (e.g. `train.steps: 90`), \
                 or leave `{k}` out of it",
                grid.locate_value(k, v),
                validate::flow(v),
                over.map_or(k.as_str(), String::as_str)
            );
        }
        let labels: Vec<(String, String)> =
            varying.iter().filter_map(|k| a.iter().find(|(ak, _)| ak == k).map(|(_, v)| (k.clone(), labeler(k)(v)))).collect();
        let group = slug(&labels);
        if group.len() > MAX_CELL_NAME_BYTES {
            bail!(
                "{}: a cell would be called `{}…` ({} bytes), longer than the {MAX_CELL_NAME_BYTES} a run folder name may have; \
                 vary fewer keys in one grid, or use shorter values",
                grid.locate("axes"),
                group.chars().take(40).collect::<String>(),
                group.len()
            );
        }
        if !seen_groups.insert(group.clone()) {
            bail!("{}: two cells are both called `{group}`; make the axis values distinct", grid.path.display());
        }
        for &seed in &spec.seeds {
            let mut value = value.clone();
            set_dotted(&mut value, "seed", Value::from(seed))?;
            let config: RunConfig = serde_json::from_value(value).map_err(|e| match blame(grid, &base, a) {
                Some((place, key)) => {
                    let e = e.to_string();
                    let e = e.strip_prefix(&format!("{key}: ")).unwrap_or(&e);
                    anyhow!("{place}: `{key}` (cell `{group}`): {e}")
                }
                None => anyhow!("{}: cell `{group}`: {e}", grid.path.display()),
            })?;
            if let Err(e) = loran_train::ranges::check(&config) {
                bail!("{}: cell `{group}`: {e}", range_place(grid, a, e.key, e.depends_on));
            }
            validate::check_task(grid, &config.task, "task")?;
            // Catch what only the adapters crate knows (method names, ranges) at plan time.
            if let Err(e) = config.adapter.validate().and_then(|_| loran_adapters::registry::check_on_llama_layer(&config.adapter)) {
                let key = match &e {
                    loran_adapters::AdapterError::UnknownMethod { .. } => "method".to_string(),
                    loran_adapters::AdapterError::BadConfig { key, .. } => key.clone(),
                    _ => "adapter".to_string(),
                };
                let place = [format!("adapter.{key}"), key, "adapter".to_string()].iter().find_map(|k| grid.find(k)).unwrap_or_else(|| grid.locate("adapter"));
                bail!("{place}: cell `{group}`: {e}");
            }
            let hash = config_hash(&config);
            cells.push(Cell {
                run_id: format!("{group}-s{seed}-{}", &hash[..8]),
                group: group.clone(),
                config_hash: hash,
                labels: labels.clone(),
                config,
            });
        }
    }
    Ok(cells)
}

#[cfg(test)]
#[path = "expand_tests.rs"]
mod tests;
