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
mod tests {
    use super::*;
    use crate::grid::spec::GridSpec;

    fn grid(yaml: &str) -> GridFile {
        let spec: GridSpec = serde_saphyr::from_str(yaml).unwrap();
        GridFile { path: "test.yaml".into(), text: yaml.to_string(), spec , included: Vec::new() }
    }

    fn groups(cells: &[Cell]) -> Vec<String> {
        let mut g: Vec<String> = cells.iter().map(|c| c.group.clone()).collect();
        g.dedup();
        g
    }

    #[test]
    fn axes_form_a_product_in_file_order_times_seeds() {
        let g = grid("name: t\nbase: {}\naxes:\n  task: [news-standfirst, mailing-list-topics]\n  adapter.method: [none, lora]\nseeds: [0, 1]\n");
        let cells = expand(&g).unwrap();
        assert_eq!(cells.len(), 8);
        assert_eq!(groups(&cells), vec!["news-standfirst-none", "news-standfirst-lora", "mailing-list-topics-none", "mailing-list-topics-lora"]);
        assert_eq!(cells[1].config.seed, 1);
        assert_eq!(cells[3].config.adapter.method, "lora");
        assert!(cells[3].run_id.starts_with("news-standfirst-lora-s1-"));
        // A different seed is a different config.
        assert_ne!(cells[2].config_hash, cells[3].config_hash);
    }

    #[test]
    fn bundles_attach_to_matching_cells_and_keep_the_rest() {
        let g = grid(
            "name: t\nbase: {}\naxes:\n  adapter.method: [none, lora]\n  task: [news-standfirst, mailing-list-topics]\n\
             bundles:\n  - { task: mailing-list-topics, eval.max_new_tokens: 8 }\n",
        );
        let cells = expand(&g).unwrap();
        assert_eq!(cells.len(), 4);
        let mail: Vec<_> = cells.iter().filter(|c| c.config.task == "mailing-list-topics").collect();
        assert!(mail.iter().all(|c| c.config.eval.max_new_tokens == 8));
        assert!(cells.iter().filter(|c| c.config.task == "news-standfirst").all(|c| c.config.eval.max_new_tokens == 64));
        // The bundle key is fixed by the task axis, so it does not name cells.
        assert_eq!(groups(&cells), vec!["none-news-standfirst", "none-mailing-list-topics", "lora-news-standfirst", "lora-mailing-list-topics"]);
    }

    #[test]
    fn bundles_without_axis_keys_are_variants() {
        let g = grid(
            "name: t\nbase: {}\naxes:\n  task: [news-standfirst]\nbundles:\n  - { adapter.method: lora, adapter.r: 8 }\n  - { adapter.method: lora, adapter.r: 16 }\n  - { adapter.method: none }\n",
        );
        let cells = expand(&g).unwrap();
        assert_eq!(groups(&cells), vec!["lora-r8", "lora-r16", "none"]);
        assert_eq!(cells[1].config.adapter.r, 16);
        let g = grid("name: t\nbase: {}\naxes:\n  adapter.targets: [[q_proj, v_proj], [gate_proj]]\n");
        assert_eq!(groups(&expand(&g).unwrap()), vec!["q_proj+v_proj", "gate_proj"]);
    }

    #[test]
    fn mapping_values_label_cells_by_their_values() {
        let g = grid(
            "name: t\nbase: {}\naxes:\n  adapter:\n    - { method: none }\n    - { method: lora, r: 8 }\n    - { method: lora, dropout: 0.1 }\n",
        );
        let cells = expand(&g).unwrap();
        assert_eq!(groups(&cells), vec!["none", "lora-8", "lora-0.1"]);
        assert_eq!(cells[1].config.adapter.r, 8);
        assert_eq!(cells[2].config.adapter.dropout, 0.1);
        assert_eq!(label_text(&serde_json::json!({"name": "sinter", "omega": 1.0})), "sinter");
        // Values of one axis that read alike are written with their entries.
        let g = grid("name: t\nbase: { adapter: { method: loran } }\naxes:\n  adapter.activation: [identity, { name: sinter, amplitude: 1.0e-3, omega: 10 }, { name: sinter, amplitude: 0.1, omega: 10 }]\n");
        assert_eq!(groups(&expand(&g).unwrap()), vec!["identity", "sinter-amplitude0.001-omega10", "sinter-amplitude0.1-omega10"]);
    }

    #[test]
    fn a_mapping_merges_into_its_section() {
        let g = grid("name: t\nbase:\n  train: { steps: 7, lr: 0.5 }\naxes:\n  train: [{ steps: 3 }]\n");
        let c = &expand(&g).unwrap()[0].config;
        assert_eq!((c.train.steps, c.train.lr), (3, 0.5));
    }

    #[test]
    fn a_bundle_value_no_axis_takes_is_an_error() {
        let g = grid(
            "name: t\nbase: {}\naxes:\n  adapter:\n    - { method: none }\n    - { method: lora }\nbundles:\n  - { adapter: { dropout: 0.1 } }\n",
        );
        let err = expand(&g).unwrap_err().to_string();
        assert!(err.contains("bundle 1") && err.contains("not a value of the axis `adapter`") && err.contains("adapter.<field>"), "{err}");
    }

    #[test]
    fn a_mapping_with_another_name_replaces_the_old_parameters() {
        let g = grid(
            "name: t\nbase:\n  adapter: { method: loran, activation: { name: sinter, omega: 100.0 } }\naxes:\n  adapter.activation:\n    - { name: tanh }\n    - { name: sinter, amplitude: 0.001 }\n",
        );
        let cells = expand(&g).unwrap();
        let activation = |i: usize| loran_adapters::loran::activation(&cells[i].config.adapter);
        assert_eq!(activation(0).name, "tanh");
        assert!(activation(0).params.is_empty());
        // Same name: the keys merge, so the base's omega stays.
        assert_eq!(activation(1).params["omega"], 100.0);
        assert_eq!(activation(1).params["amplitude"], 0.001);
    }

    #[test]
    fn an_unknown_method_fails_at_plan_time_listing_the_known_ones() {
        let g = grid("name: t\nbase:\n  adapter: { method: loranx }\n");
        let err = expand(&g).unwrap_err().to_string();
        assert!(err.contains(":3:") && err.contains("unknown method `loranx`") && err.contains("loran"), "{err}");
    }

    #[test]
    fn exclusions_drop_cells() {
        let g = grid("name: t\nbase: {}\naxes:\n  adapter.method: [none, lora]\n  adapter.r: [8, 16]\nexclude:\n  - { adapter.method: none, adapter.r: 16 }\n");
        assert_eq!(groups(&expand(&g).unwrap()), vec!["none-r8", "lora-r8", "lora-r16"]);
    }

    #[test]
    fn a_wrong_value_names_the_file_line_and_key() {
        let g = grid("name: t\nbase: {}\naxes:\n  adapter.r: [8, \"eight\"]\n");
        let err = expand(&g).unwrap_err().to_string();
        assert!(err.starts_with("test.yaml:4: `adapter.r`"), "{err}");
        assert!(err.contains("eight") && err.contains("positive integer"), "{err}");
        // A bad value in a block list is pointed at, not its key.
        let g = grid("name: t\nbase: {}\naxes:\n  adapter.r:\n    - 8\n    - -4\n");
        let err = expand(&g).unwrap_err().to_string();
        assert!(err.starts_with("test.yaml:6: `adapter.r`") && err.contains("got -4"), "{err}");
    }

    #[test]
    fn unknown_tasks_fail_at_plan_time_naming_the_line() {
        let g = grid("name: t\nbase: { task: news-standfirst }\naxes:\n  task:\n    - mailing-list-topics\n    - samsun\n");
        let err = expand(&g).unwrap_err().to_string();
        assert!(err.starts_with("test.yaml:6:") && err.contains("unknown task `samsun`") && err.contains("news-standfirst"), "{err}");
        let g = grid("name: t\nbase:\n  task: samsun\n");
        let err = expand(&g).unwrap_err().to_string();
        assert!(err.starts_with("test.yaml:3:") && err.contains("unknown task `samsun`"), "{err}");
    }

    #[test]
    fn an_exclusion_that_drops_nothing_is_an_error() {
        let g = grid("name: t\nbase: {}\naxes:\n  adapter.method: [none, lora]\nexclude:\n  - { adapter.method: dora }\n");
        let err = expand(&g).unwrap_err().to_string();
        assert!(err.starts_with("test.yaml:6:") && err.contains("matches no cell") && err.contains("none, lora"), "{err}");
    }

    #[test]
    fn an_error_quoting_a_multi_line_value_stays_one_line() {
        // Found by the grid fuzzer (fuzz/regressions/24de0a844be7add9.yaml): a quoted
        // value's newline went into the message as is.
        let g = grid("name: g\nbase: {}\naxes:\n  adapter.method: [none]\nexclude:\n  - { adapter.method: \"lo\\nra\" }\n");
        let err = format!("{:#}", expand(&g).unwrap_err());
        assert!(err.starts_with("test.yaml:6:") && err.contains("`{ adapter.method: lo\\nra }` matches no cell") && !err.contains('\n'), "{err}");
    }

    #[test]
    fn hash_is_stable_and_key_order_free() {
        let c = RunConfig::default();
        assert_eq!(config_hash(&c), config_hash(&c.clone()));
        let other = RunConfig { seed: 1, ..RunConfig::default() };
        assert_ne!(config_hash(&c), config_hash(&other));
    }
}
