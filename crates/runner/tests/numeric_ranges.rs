//! Every numeric key of a run config against its documented range, through the grid
//! language: any value outside the range is refused with one line naming the key, in
//! the base or on an axis, and any value inside it resolves to cells.

use loran_adapters::params::Range;
use loran_runner::grid::expand;
use loran_runner::grid::spec::parse_grid;
use loran_train::config::RunConfig;
use loran_train::ranges::{NumericKey, NUMERIC_KEYS};
use proptest::prelude::*;
use std::path::Path;

/// A base that leaves room for every key's full range: the keys others depend on at their
/// most permissive, so a value inside a key's own range is inside on its own.
const PERMISSIVE: [(&str, &str); 3] = [("train.max_target_tokens", "1"), ("data.validation_fraction", "0"), ("data.test_fraction", "0.01")];

fn permissive() -> RunConfig {
    let mut cfg = RunConfig::default();
    cfg.train.max_target_tokens = 1;
    cfg.data.validation_fraction = 0.0;
    cfg.data.test_fraction = 0.01;
    cfg
}

/// `value` as YAML: whole numbers without a point, non-finite ones in YAML's spelling.
fn yaml(value: f64, whole: bool) -> String {
    match value {
        v if v.is_nan() => ".nan".into(),
        v if v == f64::INFINITY => ".inf".into(),
        v if v == f64::NEG_INFINITY => "-.inf".into(),
        v if whole => format!("{}", v as i128),
        v => format!("{v:?}"),
    }
}

/// A grid setting `key` to `value`, on an axis or (nested) in the base.
fn grid(key: &NumericKey, value: &str, on_axis: bool) -> String {
    let mut base: Vec<(&str, String)> = PERMISSIVE.iter().map(|(k, v)| (*k, v.to_string())).collect();
    let mut axes = String::new();
    match base.iter_mut().find(|(k, _)| *k == key.key) {
        Some(entry) if !on_axis => entry.1 = value.to_string(),
        _ if !on_axis => base.push((key.key, value.to_string())),
        _ => axes = format!("axes:\n  {}: [{value}]\n", key.key),
    }
    let mut sections: Vec<(&str, Vec<String>)> = Vec::new();
    for (k, v) in base {
        let (section, leaf) = k.split_once('.').unwrap();
        match sections.iter_mut().find(|(s, _)| *s == section) {
            Some((_, leaves)) => leaves.push(format!("{leaf}: {v}")),
            None => sections.push((section, vec![format!("{leaf}: {v}")])),
        }
    }
    let base: Vec<String> = sections.iter().map(|(s, leaves)| format!("  {s}: {{ {} }}\n", leaves.join(", "))).collect();
    format!("name: t\nbase:\n{}{axes}", base.concat())
}

fn resolve(text: &str) -> Result<usize, String> {
    let g = parse_grid(Path::new("g.yaml"), text).map_err(|e| e.to_string())?;
    expand(&g).map(|c| c.len()).map_err(|e| e.to_string())
}

/// Values outside `range`: below, above, and the non-finite ones for reals.
fn outside(range: Range, whole: bool) -> Vec<f64> {
    let mut v = Vec::new();
    if let Some((lo, closed)) = range.lower() {
        let below = if whole { if closed { lo - 1.0 } else { lo } } else { lo - lo.abs().max(1.0) * 0.5 };
        // A negative count is a type error (the key is unsigned), refused all the same.
        v.push(below);
        if !closed {
            v.push(lo);
        }
    }
    if let Some((hi, closed)) = range.upper() {
        v.push(if closed { if whole { hi + 1.0 } else { hi + hi.abs().max(1.0) * 0.5 } } else { hi });
    }
    if !whole {
        v.extend([f64::NAN, f64::INFINITY, f64::NEG_INFINITY]);
    }
    v
}

#[test]
fn every_value_just_outside_a_range_is_refused_naming_its_key() {
    let base = permissive();
    for key in NUMERIC_KEYS {
        for value in outside((key.range)(&base), key.whole) {
            for on_axis in [false, true] {
                let text = grid(key, &yaml(value, key.whole), on_axis);
                let err = match resolve(&text) {
                    Ok(n) => panic!("`{}: {}` resolved to {n} cells:\n{text}", key.key, yaml(value, key.whole)),
                    Err(e) => e,
                };
                let leaf = key.key.rsplit('.').next().unwrap();
                assert!(!err.contains('\n'), "{err}");
                assert!(err.starts_with("g.yaml:"), "{err}");
                assert!(err.contains(key.key) || err.contains(&format!("`{leaf}`")), "`{}` = {value}: {err}", key.key);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_value_inside_a_range_resolves_and_any_outside_is_refused(index in 0..NUMERIC_KEYS.len(), unit in 0.0f64..1.0, far in 0.0f64..40.0, on_axis: bool) {
        let key = &NUMERIC_KEYS[index];
        let range = (key.range)(&permissive());
        // Inside: between the bounds (or up to 10^6 above an open-ended lower bound).
        let lo = range.lower().map_or(-1e6, |(b, _)| b);
        let hi = range.upper().map_or(lo.max(0.0) + 1e6, |(b, _)| b);
        let mut inside = lo + unit * (hi - lo);
        if key.whole {
            inside = inside.round().clamp(lo.ceil(), hi.floor());
        }
        if range.contains(inside) {
            let text = grid(key, &yaml(inside, key.whole), on_axis);
            prop_assert!(resolve(&text).is_ok(), "`{}: {}` was refused: {:?}", key.key, yaml(inside, key.whole), resolve(&text));
        }
        // Outside: up to 2^40 times the range's width beyond one end.
        let beyond = 2f64.powf(far);
        let out = match (range.lower(), range.upper()) {
            (_, Some((h, _))) if unit < 0.5 => h + beyond * if key.whole { 1.0 } else { 1e-3 },
            (Some((l, _)), _) => l - beyond * if key.whole { 1.0 } else { 1e-3 },
            (None, Some((h, _))) => h + beyond,
            (None, None) => f64::NAN,
        };
        let out = if key.whole { out.round() } else { out };
        if !range.contains(out) {
            let text = grid(key, &yaml(out, key.whole), on_axis);
            let err = resolve(&text);
            prop_assert!(err.is_err(), "`{}: {}` resolved:\n{}", key.key, yaml(out, key.whole), text);
            let err = err.unwrap_err();
            let leaf = key.key.rsplit('.').next().unwrap();
            prop_assert!(!err.contains('\n') && (err.contains(key.key) || err.contains(&format!("`{leaf}`"))), "{}", err);
        }
    }
}

#[test]
fn the_readme_lists_every_range_as_the_table_states_it() {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md")).unwrap();
    for key in NUMERIC_KEYS {
        let row = format!("| `{}` | {} |", key.key, key.doc);
        assert!(readme.contains(&row), "README.md lacks the row `{row}` (section \"Valid ranges\")");
    }
}
