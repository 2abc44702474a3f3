//! Adapter methods by name. Adding a method: one file that defines its `METHOD` (a
//! `build` function and its own parameters), plus one line in [`METHODS`].

use crate::adapter::Adapter;
use crate::config::AdapterConfig;
use crate::dropout::{SeededDropout, TrainingFlag};
use crate::seeding::{kaiming_uniform_a_sqrt5, stream};
use crate::error::{AdapterError, Result};
use crate::params::Param;
use crate::valid_tokens::ValidTokens;
use candle_core::{DType, Device, Tensor, Var};
use loran_model::{FrozenLinear, GateActivation};
use std::sync::Arc;

/// Everything a method needs to build the adapter of one layer.
#[derive(Debug)]
pub struct LayerSpec<'a> {
    /// HF name of the wrapped linear (seeds its random streams).
    pub name: &'a str,
    /// Input width of the linear.
    pub in_features: usize,
    /// Output width of the linear.
    pub out_features: usize,
    /// The adapter settings.
    pub config: &'a AdapterConfig,
    /// Run seed.
    pub seed: u64,
    /// The set's training switch (for dropout).
    pub training: TrainingFlag,
    /// The set's record of which positions of the training batch are real tokens.
    pub valid_tokens: ValidTokens,
    /// Where the parameters live.
    pub device: &'a Device,
    /// The frozen base layer being wrapped (for methods whose init depends on W0, e.g. DoRA).
    pub base: &'a FrozenLinear,
    /// The self-gated activation the wrapped linear's output feeds (`gate_proj` → SiLU), if any.
    pub gate: Option<GateActivation>,
}

/// A fresh low-rank pair as LoRA initialises it, plus the layer's dropout: A `[r, in]`
/// kaiming-uniform(a=√5) from the layer's `init` stream, B `[out, r]` zero, dropout
/// from its `dropout` stream. Every low-rank method starts from this, so the same
/// seed gives the same A whatever the method.
pub fn fresh_pair(spec: &LayerSpec) -> candle_core::Result<(Var, Var, SeededDropout)> {
    let r = spec.config.r;
    let mut init = stream(spec.seed, spec.name, "init");
    let a = kaiming_uniform_a_sqrt5(&mut init, r, spec.in_features);
    let a = Var::from_tensor(&Tensor::from_vec(a, (r, spec.in_features), spec.device)?)?;
    let b = Var::zeros((spec.out_features, r), DType::F32, spec.device)?;
    let dropout = SeededDropout::new(spec.config.dropout, stream(spec.seed, spec.name, "dropout"), spec.training.clone());
    Ok((a, b, dropout))
}

/// Builds one layer's adapter.
pub type BuildFn = fn(&LayerSpec) -> candle_core::Result<Arc<dyn Adapter>>;

/// Checks the modules a config selects (name, and the gated activation each feeds)
/// before any adapter is built; the error names the modules and the fix.
pub type CheckFn = fn(&[(String, Option<GateActivation>)]) -> Result<()>;

/// Checks a config's method parameters beyond each one's declared range (e.g. that
/// NA-LoRA's `sigma_closed` is below its `sigma_on`).
pub type ValidateFn = fn(&AdapterConfig) -> Result<()>;

/// Warnings about traps in a config with this method, for the runner to show.
pub type WarningsFn = fn(&AdapterConfig) -> Vec<String>;

/// A registered method: everything about it lives in its own file, which defines one
/// `pub const METHOD: Method`, listed once in [`METHODS`].
#[derive(Debug, Clone, Copy)]
pub struct Method {
    /// Name used in `adapter.method`.
    pub name: &'static str,
    /// Constructor; `None` means "attach nothing" (the frozen base model).
    pub build: Option<BuildFn>,
    /// A check of the selected modules as a whole (NA-LoRA needs a gate projection).
    pub check: Option<CheckFn>,
    /// True for formulations reconstructed from a paper's abstract rather than taken
    /// from the authors' code; reports label them `<name>-style (reconstructed)`.
    pub reconstructed: bool,
    /// One line for docs and errors.
    pub description: &'static str,
    /// The method's own settings: keys of `adapter:` with types, defaults, ranges and
    /// docs (see [`crate::params`]). Shared keys (r, α, …) live in [`AdapterConfig`].
    pub params: &'static [Param],
    /// Checks across its parameters beyond each one's range.
    pub validate: Option<ValidateFn>,
    /// Traps of a config with this method (e.g. LoRAN's sigmoid, which does not start at the base).
    pub warnings: Option<WarningsFn>,
    /// Bumped when the same config trains differently (a changed rule or default), so
    /// that the config hash changes and runs stored before are not reused; 0 is the
    /// first version and leaves the hash as it was (see `AdapterConfig::hash_form`).
    pub revision: u32,
}

impl Method {
    /// A method with only a name and a description; fill the rest with struct update
    /// syntax: `Method { build: Some(build), ..Method::new("lora", "…") }`.
    pub const fn new(name: &'static str, description: &'static str) -> Self {
        Self { name, build: None, check: None, reconstructed: false, description, params: &[], validate: None, warnings: None, revision: 0 }
    }
}

/// Every adapter method, one line each.
pub const METHODS: &[Method] = &[
    Method::new("none", "no adapter: the frozen base model (zero-shot floor)"),
    crate::lora::METHOD,
    crate::dora::METHOD,
    crate::loran::METHOD,
    crate::na_lora::METHOD,
    crate::nolora::METHOD,
    crate::sine_lora::METHOD,
];

/// The linears of one LLaMA-family decoder layer as the model names them, and whether
/// each feeds a self-gated activation (SwiGLU's `gate_proj` feeds SiLU).
const LLAMA_LAYER: [(&str, bool); 7] = [
    ("self_attn.q_proj", false),
    ("self_attn.k_proj", false),
    ("self_attn.v_proj", false),
    ("self_attn.o_proj", false),
    ("mlp.gate_proj", true),
    ("mlp.up_proj", false),
    ("mlp.down_proj", false),
];

/// Runs the method's module check on the linears of a LLaMA-family layer that `cfg`'s
/// targets select, so that `loran grid plan` reports it before any model is loaded.
/// Targets that select none of them are left to the model-time check.
pub fn check_on_llama_layer(cfg: &AdapterConfig) -> Result<()> {
    let Some(check) = find_method(&cfg.method)?.check else {
        return Ok(());
    };
    let modules: Vec<(String, Option<GateActivation>)> = LLAMA_LAYER
        .iter()
        .map(|(suffix, gated)| (format!("model.layers.0.{suffix}"), gated.then_some(GateActivation::Silu)))
        .filter(|(name, _)| cfg.targets.iter().any(|t| crate::targets::matches(t, name)))
        .collect();
    if modules.is_empty() {
        return Ok(());
    }
    check(&modules)
}

/// Looks a method up; the error lists the known names.
pub fn find_method(name: &str) -> Result<&'static Method> {
    METHODS.iter().find(|m| m.name == name).ok_or_else(|| AdapterError::UnknownMethod {
        name: name.into(),
        known: METHODS.iter().map(|m| m.name).collect::<Vec<_>>().join(", "),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::{self, Kind};

    /// Every default inside its declared range, a group's sub-parameters included.
    fn check_defaults(path: &str, p: &'static Param) {
        match p.kind {
            Kind::Group(children) => children.iter().for_each(|c| check_defaults(&format!("{path}.{}", c.name), c)),
            Kind::Choice { default, options } => assert!(options.contains(&default), "{path}: default `{default}` is not an option"),
            _ => p.check_range(path, &p.default_value()).unwrap_or_else(|e| panic!("{path}: the default is out of range: {e}")),
        }
        assert!(!p.doc.is_empty(), "{path} has no doc");
    }

    #[test]
    fn every_entry_is_well_formed() {
        let mut names: Vec<&str> = METHODS.iter().map(|m| m.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), METHODS.len(), "duplicate method names");
        let mut keys: Vec<&str> = params::declared_keys().map(|(_, p)| p.name).collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), params::declared_keys().count(), "two methods declare the same key");
        for (method, p) in params::declared_keys() {
            assert!(!crate::config::SHARED.contains(&p.name), "`{}` of `{}` shadows a shared key", p.name, method.name);
            check_defaults(p.name, p);
        }
        for m in METHODS {
            assert!(!m.description.is_empty(), "{}", m.name);
            assert!(find_method(m.name).is_ok());
            let cfg = AdapterConfig { method: m.name.into(), ..AdapterConfig::default() };
            cfg.validate().unwrap_or_else(|e| panic!("`{}` with its defaults: {e}", m.name));
        }
    }

    #[test]
    fn every_method_writes_its_parameters_with_their_defaults_and_reads_them_back() {
        for m in METHODS {
            let cfg: AdapterConfig = serde_saphyr::from_str(&format!("method: {}", m.name)).unwrap();
            let written = serde_json::to_value(&cfg).unwrap();
            let hashed = cfg.hash_form();
            for p in m.params {
                assert_eq!(written[p.name], serde_json::to_value(p.default_value()).unwrap(), "{}: {}", m.name, p.name);
                assert_eq!(hashed.get(p.name).is_some(), p.listed_for_every_method, "{}: {} in the hash form", m.name, p.name);
            }
            let text = serde_saphyr::to_string(&cfg).unwrap();
            assert_eq!(serde_saphyr::from_str::<AdapterConfig>(&text).unwrap(), cfg, "{}:\n{text}", m.name);
        }
    }
}
