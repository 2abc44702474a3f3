//! Which named linears an adapter config selects.

use crate::config::{AdapterConfig, LayerSelection};
use crate::error::{AdapterError, Result};
use std::collections::BTreeSet;

/// The decoder layer index in a name like `model.layers.7.self_attn.q_proj`.
pub fn layer_index(name: &str) -> Option<usize> {
    let rest = &name[name.find("layers.")? + "layers.".len()..];
    rest.split('.').next()?.parse().ok()
}

/// Glob match with `*` (any run) and `?` (one char).
fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// Whether `target` selects the module `name`: a glob over the full name, or a dotted suffix (PEFT semantics).
pub fn matches(target: &str, name: &str) -> bool {
    if target.contains(['*', '?']) {
        return glob(target, name);
    }
    name == target || name.ends_with(&format!(".{target}"))
}

/// The names among `names` that `cfg` adapts, in the given order.
///
/// Every target must match at least one linear (before the layer filter), or it is an error.
pub fn select(cfg: &AdapterConfig, names: &[String], num_layers: usize) -> Result<Vec<String>> {
    for target in &cfg.targets {
        if !names.iter().any(|n| matches(target, n)) {
            let suffixes: BTreeSet<&str> = names.iter().filter_map(|n| n.rsplit('.').next()).collect();
            return Err(AdapterError::UnknownTarget {
                target: target.clone(),
                available: suffixes.into_iter().collect::<Vec<_>>().join(", "),
            });
        }
    }
    if let Some(LayerSelection::Last { last }) = &cfg.layers {
        if *last > num_layers {
            return Err(AdapterError::config("layers", format!("`{{ last: {last} }}` asks for more layers than the model's {num_layers}; use at most `{{ last: {num_layers} }}`, or leave `layers` out for all")));
        }
    }
    let layers = cfg.layers.as_ref().map(|l| l.indices(num_layers));
    if let Some(layers) = &layers {
        if let Some(bad) = layers.iter().find(|&&l| l >= num_layers) {
            return Err(AdapterError::config("layers", format!("layer {bad} does not exist (the model has {num_layers}, numbered 0 to {})", num_layers.saturating_sub(1))));
        }
    }
    let selected: Vec<String> = names
        .iter()
        .filter(|n| cfg.targets.iter().any(|t| matches(t, n)))
        .filter(|n| match (&layers, layer_index(n)) {
            (Some(layers), Some(i)) => layers.contains(&i),
            (Some(_), None) => false,
            (None, _) => true,
        })
        .cloned()
        .collect();
    if selected.is_empty() {
        return Err(AdapterError::config(
            "layers",
            format!("targets {:?} match no linear inside the selected layers, so nothing would train; widen `layers` or `targets`", cfg.targets),
        ));
    }
    Ok(selected)
}

/// Fails when the rank exceeds min(d_in, d_out) of a selected linear (`shapes`: name,
/// d_in, d_out): B·A cannot have a higher rank than that, so the extra rank only adds
/// parameters (r = 100000 on a 576-wide model would allocate gigabytes).
pub fn check_rank(cfg: &AdapterConfig, shapes: &[(String, usize, usize)]) -> Result<()> {
    let Some((name, d_in, d_out)) = shapes.iter().min_by_key(|(_, i, o)| (*i).min(*o)) else { return Ok(()) };
    let cap = (*d_in).min(*d_out);
    if cfg.r > cap {
        return Err(AdapterError::config(
            "r",
            format!("{} exceeds min(d_in, d_out) = {cap} of `{name}` ({d_in} → {d_out}), the highest rank B·A can have; use r ≤ {cap}", cfg.r),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::LayerSelection;

    fn names() -> Vec<String> {
        (0..3)
            .flat_map(|l| ["self_attn.q_proj", "self_attn.v_proj", "mlp.up_proj"].map(|p| format!("model.layers.{l}.{p}")))
            .collect()
    }

    #[test]
    fn suffix_and_glob_matching() {
        assert!(matches("q_proj", "model.layers.0.self_attn.q_proj"));
        assert!(matches("self_attn.q_proj", "model.layers.0.self_attn.q_proj"));
        assert!(!matches("proj", "model.layers.0.self_attn.q_proj"));
        assert!(matches("model.layers.1*.mlp.*", "model.layers.12.mlp.up_proj"));
        assert!(!matches("model.layers.1*.mlp.*", "model.layers.2.mlp.up_proj"));
        assert_eq!(layer_index("model.layers.17.mlp.up_proj"), Some(17));
    }

    #[test]
    fn selects_targets_within_layers() {
        let cfg = AdapterConfig { layers: Some(LayerSelection::Last { last: 1 }), ..AdapterConfig::default() };
        assert_eq!(select(&cfg, &names(), 3).unwrap(), vec!["model.layers.2.self_attn.q_proj", "model.layers.2.self_attn.v_proj"]);
    }

    #[test]
    fn unknown_target_lists_what_exists() {
        let cfg = AdapterConfig { targets: vec!["c_attn".into()], ..AdapterConfig::default() };
        let err = select(&cfg, &names(), 3).unwrap_err().to_string();
        assert!(err.contains("`c_attn`") && err.contains("q_proj") && err.contains("up_proj"), "{err}");
    }

    #[test]
    fn layer_selections_beyond_the_model_or_selecting_nothing_are_errors() {
        let last = |n| AdapterConfig { layers: Some(LayerSelection::Last { last: n }), ..AdapterConfig::default() };
        assert_eq!(select(&last(3), &names(), 3).unwrap().len(), 6);
        let err = select(&last(4), &names(), 3).unwrap_err().to_string();
        assert!(err.contains("{ last: 4 }") && err.contains("model's 3") && err.contains("{ last: 3 }"), "{err}");
        let cfg = AdapterConfig { layers: Some(LayerSelection::Indices(vec![3])), ..AdapterConfig::default() };
        assert!(select(&cfg, &names(), 3).unwrap_err().to_string().contains("layer 3 does not exist"));
        // Targets that exist, but only outside the chosen layers (a glob on layer 0, layers [2]).
        let cfg = AdapterConfig { targets: vec!["model.layers.0.*".into()], layers: Some(LayerSelection::Indices(vec![2])), ..AdapterConfig::default() };
        assert!(select(&cfg, &names(), 3).unwrap_err().to_string().contains("nothing would train"));
    }

    #[test]
    fn the_rank_is_capped_by_the_narrowest_selected_linear() {
        let shapes = vec![("a".to_string(), 576, 576), ("k".to_string(), 576, 192)];
        let r = |r| AdapterConfig { r, ..AdapterConfig::default() };
        assert!(check_rank(&r(192), &shapes).is_ok());
        let err = check_rank(&r(193), &shapes).unwrap_err().to_string();
        assert!(err.contains("193 exceeds min(d_in, d_out) = 192 of `k` (576 → 192)") && err.contains("r ≤ 192"), "{err}");
        assert!(check_rank(&r(100_000), &[]).is_ok());
    }
}
