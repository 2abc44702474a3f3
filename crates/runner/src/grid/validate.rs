//! Checks of a parsed grid that serde cannot express: names, seeds, axis lists,
//! bundles, exclusions and task names. Each error is one line naming
//! `file:line`, the key, and what is valid or how to fix it. None needs model
//! or data assets, so `loran grid plan` checks a grid offline.

use crate::grid::spec::GridFile;
use anyhow::{bail, Result};
use serde_json::{Map, Value};

/// Checks that need only the grid file (called by [`crate::grid::read_grid`]).
pub fn check_file(grid: &GridFile) -> Result<()> {
    check_name(grid)?;
    check_size(grid)?;
    check_seeds(grid)?;
    check_axes(grid)?;
    check_bundles(grid)?;
    check_exclude_keys(grid)?;
    check_base_ranges(grid)?;
    check_sweep(grid)?;
    check_report(grid)
}

/// The base's numeric keys whose ranges stand alone (see [`loran_train::ranges`]): axes
/// and bundles may still change the keys others depend on, so those wait for the cells.
fn check_base_ranges(grid: &GridFile) -> Result<()> {
    if let Err(e) = loran_train::ranges::check_keys(&grid.spec.base, false) {
        bail!("{}: base: {e}", grid.locate_path(&format!("base.{}", e.key)));
    }
    Ok(())
}

fn check_sweep(grid: &GridFile) -> Result<()> {
    if let Some((key, message)) = grid.spec.lr_sweep.as_ref().and_then(|s| s.problem()) {
        bail!("{}: {message}", grid.locate_in("lr_sweep", key));
    }
    Ok(())
}

fn check_report(grid: &GridFile) -> Result<()> {
    let report = &grid.spec.report;
    if let Some((key, message)) = report.problem() {
        bail!("{}: {message}", grid.locate_in("report", key));
    }
    Ok(())
}

/// Longest grid name in bytes: a folder name (most file systems allow 255) that still
/// leaves room for the run ids and paths under it.
pub const MAX_NAME_BYTES: usize = 100;

fn check_name(grid: &GridFile) -> Result<()> {
    let name = &grid.spec.name;
    if name.len() > MAX_NAME_BYTES {
        bail!(
            "{}: `name` is {} bytes long, more than the {MAX_NAME_BYTES} a results folder name may have; shorten it, e.g. `name: table-main`",
            grid.locate("name"),
            name.len()
        );
    }
    if name.chars().any(char::is_control) || name.trim() != name {
        bail!(
            "{}: `name` holds a control character (a newline, tab or NUL) or leading/trailing spaces, got {name:?}; \
             use letters, digits, `-` and `_`, e.g. `name: table-main`",
            grid.locate("name")
        );
    }
    if name.trim().is_empty() || name.contains(['/', '\\']) || name == "." || name == ".." {
        bail!(
            "{}: `name` must be a non-empty folder name without slashes (results go to results/<name>/), got `{name}`; e.g. `name: table-main`",
            grid.locate("name")
        );
    }
    Ok(())
}

/// Most runs (cells × seeds) one grid may expand to: far above any real grid, and low
/// enough that `loran grid plan` answers within a second, where a few axes of many
/// values would otherwise take minutes and gigabytes.
pub const MAX_RUNS: usize = 10_000;

/// Fails when the axes, bundles and seeds could make more than [`MAX_RUNS`] runs: each
/// combination of axis values takes every bundle that fits it (or none), at every seed.
fn check_size(grid: &GridFile) -> Result<()> {
    let spec = &grid.spec;
    let lengths: Vec<usize> = spec.axes.values().map(|v| v.as_array().map_or(1, Vec::len)).collect();
    let (bundles, seeds) = (spec.bundles.len().max(1), spec.seeds.len());
    let bound = lengths.iter().fold(1usize, |n, &l| n.saturating_mul(l)).saturating_mul(bundles).saturating_mul(seeds);
    if bound > MAX_RUNS {
        let mut parts = Vec::new();
        if !lengths.is_empty() {
            parts.push(format!("axes {}", lengths.iter().map(usize::to_string).collect::<Vec<_>>().join(" × ")));
        }
        if !spec.bundles.is_empty() {
            parts.push(format!("{} bundle entries", spec.bundles.len()));
        }
        parts.push(format!("{seeds} seed{}", if seeds == 1 { "" } else { "s" }));
        bail!(
            "{}: the grid could expand to {bound} runs ({}), more than the {MAX_RUNS} one grid may hold; \
             split it into several grid files or list fewer values",
            grid.locate("axes"),
            parts.join(", ")
        );
    }
    Ok(())
}

fn check_seeds(grid: &GridFile) -> Result<()> {
    let seeds = &grid.spec.seeds;
    if seeds.is_empty() {
        bail!("{}: `seeds` is empty; give at least one seed, e.g. [0]", grid.locate("seeds"));
    }
    for (i, seed) in seeds.iter().enumerate() {
        if seeds[..i].contains(seed) {
            bail!("{}: seed {seed} is listed twice in `seeds`; each seed is one run of every cell, so list it once, e.g. [0, 1, 2]", grid.locate("seeds"));
        }
    }
    Ok(())
}

fn check_axes(grid: &GridFile) -> Result<()> {
    for (key, values) in &grid.spec.axes {
        if key == "seed" {
            bail!("{}: use the top-level `seeds:` list instead of a `seed` axis", grid.locate(key));
        }
        let values = match values {
            Value::Array(v) => v,
            other => bail!("{}: axis `{key}` must be a list of values, e.g. `{key}: [{}]`", grid.locate(key), flow(other)),
        };
        if values.is_empty() {
            bail!("{}: axis `{key}` is an empty list, so the grid would have no cells; give it at least one value or remove the axis", grid.locate(key));
        }
        for (i, v) in values.iter().enumerate() {
            if values[..i].contains(v) {
                bail!("{}: axis `{key}` lists `{}` twice; each value makes its own cells, so list it once", grid.locate_nth_value(key, v, 1), flow(v));
            }
        }
    }
    Ok(())
}

fn check_bundles(grid: &GridFile) -> Result<()> {
    for (i, bundle) in grid.spec.bundles.iter().enumerate() {
        if bundle.is_empty() {
            bail!(
                "{}: bundle {} is empty: it would fit every cell and set nothing (or double every cell next to other bundles); \
                 give it keys, e.g. `- {{ adapter.method: lora, adapter.r: 8 }}`, or remove it",
                grid.locate("bundles"),
                i + 1
            );
        }
        if bundle.contains_key("seed") {
            bail!("{}: bundle {} sets `seed`; use the top-level `seeds:` list instead", grid.locate_in("bundles", "seed"), i + 1);
        }
    }
    Ok(())
}

/// Axis and bundle keys: the keys a cell has values for, so the only keys an
/// `exclude` entry can match.
pub fn cell_keys(grid: &GridFile) -> Vec<String> {
    let mut keys: Vec<String> = grid.spec.axes.keys().cloned().collect();
    for bundle in &grid.spec.bundles {
        for k in bundle.keys() {
            if !keys.contains(k) {
                keys.push(k.clone());
            }
        }
    }
    keys
}

fn check_exclude_keys(grid: &GridFile) -> Result<()> {
    let known = cell_keys(grid);
    for (i, entry) in grid.spec.exclude.iter().enumerate() {
        if entry.is_empty() {
            bail!("{}: exclude {} is empty, so it would drop every cell; give it axis or bundle values, or remove it", grid.locate("exclude"), i + 1);
        }
        for key in entry.keys() {
            if !known.contains(key) {
                let valid = if known.is_empty() { "the grid has no axes or bundles, so remove `exclude`".to_string() } else { format!("use one of: {}", known.join(", ")) };
                bail!(
                    "{}: exclude {} names `{key}`, which is neither an axis nor a bundle key, so it would exclude nothing; {valid}",
                    grid.locate_in("exclude", key),
                    i + 1
                );
            }
        }
    }
    Ok(())
}

/// Fails when an `exclude` entry matches none of `assignments` (the cells after
/// bundles, before exclusion). An entry that drops nothing is almost always a
/// typo in a value (`lroa` for `lora`) or a stale line, and silently running the
/// cells it was meant to drop costs hours, so this is an error, not a warning.
pub fn check_exclude_matches(grid: &GridFile, assignments: &[Vec<(String, Value)>]) -> Result<()> {
    for (i, entry) in grid.spec.exclude.iter().enumerate() {
        if assignments.iter().any(|a| matches(entry, a)) {
            continue;
        }
        let taken: Vec<String> = entry
            .keys()
            .map(|k| {
                let mut values: Vec<String> = Vec::new();
                for a in assignments {
                    if let Some((_, v)) = a.iter().find(|(ak, _)| ak == k) {
                        let text = flow(v);
                        if !values.contains(&text) {
                            values.push(text);
                        }
                    }
                }
                format!("`{k}` takes {}", values.join(", "))
            })
            .collect();
        bail!(
            "{}: exclude {} `{}` matches no cell, so it excludes nothing (a typo?); {}; fix the values or remove the entry",
            grid.locate_in("exclude", entry.keys().next().map(String::as_str).unwrap_or("exclude")),
            i + 1,
            flow(&Value::Object(entry.clone())),
            taken.join("; ")
        );
    }
    Ok(())
}

/// Whether the cell `assignment` has every value of the exclude `entry`.
pub fn matches(entry: &Map<String, Value>, assignment: &[(String, Value)]) -> bool {
    entry.iter().all(|(k, v)| assignment.iter().any(|(ak, av)| ak == k && av == v))
}

/// Fails when a cell's task is not in the task registry; `key` is where it was set.
pub fn check_task(grid: &GridFile, task: &str, key: &str) -> Result<()> {
    if loran_datasets::find_task(task).is_err() {
        bail!(
            "{}: `{key}`: unknown task `{task}`; known tasks: {}",
            grid.locate_value(key, &Value::String(task.to_string())),
            loran_datasets::task_names().join(", ")
        );
    }
    Ok(())
}

/// A value in YAML flow style, as it would be written in the grid (`lora`, `8`, `{ r: 8 }`).
pub fn flow(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Array(items) => format!("[{}]", items.iter().map(flow).collect::<Vec<_>>().join(", ")),
        Value::Object(o) => format!("{{ {} }}", o.iter().map(|(k, v)| format!("{k}: {}", flow(v))).collect::<Vec<_>>().join(", ")),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grid::spec::GridSpec;

    fn grid(yaml: &str) -> GridFile {
        let spec: GridSpec = serde_saphyr::from_str(yaml).unwrap();
        GridFile { path: "g.yaml".into(), text: yaml.to_string(), spec , included: Vec::new() }
    }

    fn err(yaml: &str) -> String {
        check_file(&grid(yaml)).unwrap_err().to_string()
    }

    #[test]
    fn duplicate_seeds_and_axis_values_are_errors() {
        let e = err("name: t\nbase: {}\nseeds: [0, 0]\n");
        assert!(e.starts_with("g.yaml:3: seed 0 is listed twice"), "{e}");
        let e = err("name: t\nbase: {}\naxes:\n  adapter.method:\n    - none\n    - lora\n    - lora\n");
        assert!(e.contains("axis `adapter.method` lists `lora` twice"), "{e}");
        assert!(e.starts_with("g.yaml:7:"), "{e}");
    }

    #[test]
    fn a_grid_of_too_many_runs_is_an_error_before_expanding() {
        let values = (0..22).map(|i| i.to_string()).collect::<Vec<_>>().join(", ");
        let e = err(&format!("name: t\nbase: {{}}\naxes:\n  train.steps: [{values}]\n  eval.max_examples: [{values}]\n  train.max_len: [{values}]\n"));
        assert!(e.starts_with("g.yaml:3: the grid could expand to 10648 runs (axes 22 × 22 × 22, 1 seed), more than the 10000"), "{e}");
        assert!(e.contains("split it into several grid files"), "{e}");
        let hundred = (0..100).map(|i| i.to_string()).collect::<Vec<_>>().join(", ");
        assert!(check_file(&grid(&format!("name: t\nbase: {{}}\naxes:\n  train.steps: [{hundred}]\n  train.max_len: [{hundred}]\n"))).is_ok());
    }

    #[test]
    fn axes_must_be_non_empty_lists() {
        let e = err("name: t\nbase: {}\naxes:\n  task: news-standfirst\n");
        assert!(e.starts_with("g.yaml:4:") && e.contains("e.g. `task: [news-standfirst]`"), "{e}");
        let e = err("name: t\nbase: {}\naxes:\n  adapter.r: []\n");
        assert!(e.contains("axis `adapter.r` is an empty list"), "{e}");
    }

    #[test]
    fn empty_bundles_and_unknown_exclude_keys_are_errors() {
        let e = err("name: t\nbase: {}\naxes:\n  adapter.r: [8]\nbundles:\n  - {}\n");
        assert!(e.starts_with("g.yaml:5:") && e.contains("bundle 1 is empty"), "{e}");
        let e = err("name: t\nbase: {}\naxes:\n  adapter.r: [8, 16]\nexclude:\n  - { adapter.rank: 8 }\n");
        assert!(e.starts_with("g.yaml:6:") && e.contains("`adapter.rank`") && e.contains("use one of: adapter.r"), "{e}");
    }

    #[test]
    fn an_exclude_entry_matching_nothing_lists_the_values() {
        let g = grid("name: t\nbase: {}\naxes:\n  adapter.method: [none, lora]\nexclude:\n  - { adapter.method: lroa }\n");
        let cells = vec![vec![("adapter.method".to_string(), Value::from("none"))], vec![("adapter.method".to_string(), Value::from("lora"))]];
        let e = check_exclude_matches(&g, &cells).unwrap_err().to_string();
        assert!(e.starts_with("g.yaml:6:") && e.contains("matches no cell") && e.contains("`adapter.method` takes none, lora"), "{e}");
        assert!(check_exclude_matches(&g, &cells[..0]).is_err());
        let g = grid("name: t\nbase: {}\naxes:\n  adapter.method: [none, lora]\nexclude:\n  - { adapter.method: lora }\n");
        assert!(check_exclude_matches(&g, &cells).is_ok());
    }

    #[test]
    fn unknown_tasks_list_the_registry() {
        let g = grid("name: t\nbase: {}\naxes:\n  task: [news-standfirst, samsun]\n");
        let e = check_task(&g, "samsun", "task").unwrap_err().to_string();
        assert!(e.starts_with("g.yaml:4:") && e.contains("unknown task `samsun`") && e.contains("mailing-list-topics"), "{e}");
        assert!(check_task(&g, "news-standfirst", "task").is_ok());
    }
}
