//! All adapters of one model: attach, train/eval switch, parameters, merge and unmerge.

use crate::adapter::Adapter;
use crate::config::AdapterConfig;
use crate::dropout::TrainingFlag;
use crate::error::{AdapterError, Result};
use crate::registry::{find_method, LayerSpec};
use crate::step::StepHook;
use crate::targets::{check_rank, select};
use crate::valid_tokens::ValidTokens;
use candle_core::Var;
use loran_model::{FrozenLinear, LinearAdapter, Llama};
use std::sync::Arc;

/// The adapters attached to a model, by module name, in model order.
#[derive(Debug)]
pub struct AdapterSet {
    config: AdapterConfig,
    adapters: Vec<(String, Arc<dyn Adapter>)>,
    training: TrainingFlag,
    valid_tokens: ValidTokens,
    merged_originals: Vec<(String, FrozenLinear)>,
}

impl AdapterSet {
    /// Builds adapters for every linear `cfg` selects and attaches them to `model`.
    ///
    /// All randomness (init, dropout) derives from `seed` and each layer's name.
    pub fn attach(model: &mut Llama, cfg: &AdapterConfig, seed: u64) -> Result<Self> {
        cfg.validate()?;
        let method = find_method(&cfg.method)?;
        let training = TrainingFlag::default();
        let valid_tokens = ValidTokens::default();
        let mut adapters = Vec::new();
        if let Some(build) = method.build {
            let names: Vec<String> = model.linears().iter().map(|l| l.name().to_string()).collect();
            let selected = select(cfg, &names, model.config().num_hidden_layers)?;
            let shapes: Vec<(String, usize, usize)> = model
                .linears()
                .iter()
                .filter(|l| selected.iter().any(|n| n == l.name()))
                .map(|l| (l.name().to_string(), l.base().in_features(), l.base().out_features()))
                .collect();
            check_rank(cfg, &shapes)?;
            if let Some(check) = method.check {
                let modules: Vec<_> = model.linears().iter().filter(|l| selected.contains(&l.name().to_string())).map(|l| (l.name().to_string(), l.gate())).collect();
                check(&modules)?;
            }
            let device = model.device().clone();
            for name in selected {
                let linear = model.linear_mut(&name).expect("selected from the model's own names");
                let spec = LayerSpec {
                    name: &name,
                    in_features: linear.base().in_features(),
                    out_features: linear.base().out_features(),
                    config: cfg,
                    seed,
                    training: training.clone(),
                    valid_tokens: valid_tokens.clone(),
                    device: &device,
                    base: linear.base(),
                    gate: linear.gate(),
                };
                let adapter = build(&spec)?;
                linear.set_adapter(Some(adapter.clone() as Arc<dyn LinearAdapter>));
                adapters.push((name, adapter));
            }
        }
        Ok(Self { config: cfg.clone(), adapters, training, valid_tokens, merged_originals: Vec::new() })
    }

    /// The settings the set was built with.
    pub fn config(&self) -> &AdapterConfig {
        &self.config
    }

    /// True for the `none` method.
    pub fn is_empty(&self) -> bool {
        self.adapters.is_empty()
    }

    /// Adapted module names, in model order.
    pub fn module_names(&self) -> Vec<&str> {
        self.adapters.iter().map(|(n, _)| n.as_str()).collect()
    }

    /// The lowest decoder layer that carries an adapter (`None` when empty or when a
    /// module sits outside the decoder layers). Blocks below it are frozen as a whole.
    pub fn lowest_layer(&self) -> Option<usize> {
        let layers: Option<Vec<usize>> = self.adapters.iter().map(|(n, _)| crate::targets::layer_index(n)).collect();
        layers?.into_iter().min()
    }

    /// The adapters, by module name.
    pub fn adapters(&self) -> &[(String, Arc<dyn Adapter>)] {
        &self.adapters
    }

    /// Every trainable tensor as (`<module>.<suffix>`, var), in a stable order.
    pub fn named_parameters(&self) -> Vec<(String, Var)> {
        self.adapters
            .iter()
            .flat_map(|(name, a)| a.parameters().into_iter().map(move |(suffix, v)| (format!("{name}.{suffix}"), v)))
            .collect()
    }

    /// The trainable tensors, for the optimizer.
    pub fn trainable_vars(&self) -> Vec<Var> {
        self.named_parameters().into_iter().map(|(_, v)| v).collect()
    }

    /// Number of trainable scalars.
    pub fn num_parameters(&self) -> usize {
        self.adapters.iter().map(|(_, a)| a.num_parameters()).sum()
    }

    /// Every adapter's non-trainable state as (`<module>.<suffix>`, tensor), in a stable order.
    pub fn named_state(&self) -> Result<Vec<(String, candle_core::Tensor)>> {
        let mut out = Vec::new();
        for (name, a) in &self.adapters {
            out.extend(a.state()?.into_iter().map(|(suffix, t)| (format!("{name}.{suffix}"), t)));
        }
        Ok(out)
    }

    /// Restores one state entry by its full name (`<module>.<suffix>`).
    pub fn set_state(&self, key: &str, value: &candle_core::Tensor) -> Result<()> {
        let (module, adapter) = self
            .adapters
            .iter()
            .filter(|(name, _)| key.starts_with(name.as_str()) && key[name.len()..].starts_with('.'))
            .max_by_key(|(name, _)| name.len())
            .ok_or_else(|| AdapterError::config("method", format!("state `{key}` belongs to no adapted module")))?;
        Ok(adapter.set_state(&key[module.len() + 1..], value)?)
    }

    /// The hook a trainer wraps each optimizer step in ([`StepHook::run`]), so that
    /// methods that act around the step (NA-LoRA's step scaling) need nothing from it.
    pub fn step_hook(&self) -> StepHook {
        StepHook::new(self.adapters.iter().map(|(_, a)| a.clone()).collect())
    }

    /// Training mode (dropout on) or evaluation.
    pub fn set_training(&self, training: bool) {
        self.training.set(training);
    }

    /// The handle a trainer sets each batch's real-token positions through before its
    /// forward ([`ValidTokens::set`]), so that per-token statistics skip padding.
    pub fn valid_tokens(&self) -> ValidTokens {
        self.valid_tokens.clone()
    }

    /// Whether the updates are currently merged into the base weights.
    pub fn is_merged(&self) -> bool {
        !self.merged_originals.is_empty()
    }

    /// Folds every update into its base weight (`W0 += ΔW`) and detaches the adapters.
    /// A quantized base becomes a dense merged weight (no re-quantization, so the merge
    /// is exact). The original layers are kept, so [`AdapterSet::unmerge`] restores
    /// them bit for bit.
    pub fn merge(&mut self, model: &mut Llama) -> Result<()> {
        if self.is_merged() {
            return Ok(());
        }
        let mut deltas = Vec::with_capacity(self.adapters.len());
        for (name, adapter) in &self.adapters {
            let linear = model.linear_mut(name).ok_or_else(|| missing(name))?;
            let delta = adapter.merged_delta(linear.base())?.ok_or_else(|| {
                AdapterError::config(
                    "method",
                    format!("`{}` cannot be merged into the base weights: {}", self.config.method, adapter.why_not_mergeable()),
                )
            })?;
            deltas.push(delta);
        }
        for ((name, _), delta) in self.adapters.iter().zip(deltas) {
            let linear = model.linear_mut(name).ok_or_else(|| missing(name))?;
            let original = linear.base().clone();
            let weight = original.weight()?;
            let merged = (&weight + delta.to_dtype(weight.dtype())?)?;
            linear.base_mut().set_weight(merged)?;
            linear.set_adapter(None);
            self.merged_originals.push((name.clone(), original));
        }
        Ok(())
    }

    /// Restores the original base weights and re-attaches the adapters.
    pub fn unmerge(&mut self, model: &mut Llama) -> Result<()> {
        for (name, original) in self.merged_originals.drain(..) {
            let linear = model.linear_mut(&name).ok_or_else(|| missing(&name))?;
            *linear.base_mut() = original;
            let adapter = &self.adapters.iter().find(|(n, _)| *n == name).expect("merged from this set").1;
            linear.set_adapter(Some(adapter.clone() as Arc<dyn LinearAdapter>));
        }
        Ok(())
    }

    /// Removes the adapters from the model (after unmerging if needed).
    pub fn detach(mut self, model: &mut Llama) -> Result<()> {
        self.unmerge(model)?;
        for (name, _) in &self.adapters {
            if let Some(linear) = model.linear_mut(name) {
                linear.set_adapter(None);
            }
        }
        Ok(())
    }
}

fn missing(name: &str) -> AdapterError {
    AdapterError::config("targets", format!("the model has no linear `{name}` (was the set attached to another model?)"))
}
