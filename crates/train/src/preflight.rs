//! The one check before cells run: every model, task, length and adapter that the
//! unfinished cells need loads or attaches, so a typo costs seconds rather than the
//! cells before the one it breaks. A cell that passed is not checked again when it runs.

use crate::cell::Cell;
use crate::config::RunConfig;
use crate::resources::Resources;
use anyhow::{bail, Context, Result};
use loran_adapters::AdapterSet;
use loran_model::QuantMode;
use std::collections::HashSet;

/// Loads what `cells` need into `resources` (kept for the run), once per distinct model,
/// task, data options, token limits and adapter. The first failure names the cell and the
/// key to fix; otherwise returns the data warnings, each once.
pub fn preflight(cells: &[&Cell], resources: &mut Resources) -> Result<Vec<String>> {
    let mut seen = HashSet::new();
    let mut warnings: Vec<String> = Vec::new();
    for cell in cells {
        let cfg = &cell.config;
        if !seen.insert(CheckKey::new(cfg)?) {
            continue;
        }
        let found = check(cfg, resources).map_err(|e| anyhow::anyhow!("cell {}: {}", cell.run_id, loran_io::chain_line(&*e)))?;
        for w in found {
            if !warnings.contains(&w) {
                warnings.push(w);
            }
        }
    }
    Ok(warnings)
}

/// What one check depends on; cells that agree on all of it need one check.
#[derive(PartialEq, Eq, Hash)]
struct CheckKey {
    model: String,
    task: String,
    data: String,
    max_len: usize,
    max_target_tokens: usize,
    max_new_tokens: usize,
    adapter: String,
}

impl CheckKey {
    fn new(cfg: &RunConfig) -> Result<Self> {
        Ok(Self {
            model: cfg.model.clone(),
            task: cfg.task.clone(),
            data: serde_json::to_string(&cfg.data)?,
            max_len: cfg.train.max_len,
            max_target_tokens: cfg.train.max_target_tokens,
            max_new_tokens: cfg.eval.max_new_tokens,
            adapter: serde_json::to_string(&cfg.adapter)?,
        })
    }
}

/// Loads (and keeps) what a cell of `cfg` needs. Each error names the grid key to fix;
/// returns the data warnings (a one-example split, say).
fn check(cfg: &RunConfig, resources: &mut Resources) -> Result<Vec<String>> {
    let loaded = resources.model(&cfg.model, QuantMode::None).with_context(|| format!("key `model` (`{}`)", cfg.model))?;
    check_lengths(cfg, loaded.model.config().max_position_embeddings)?;
    let task = resources.task(&cfg.task, &cfg.data).with_context(|| format!("task `{}` (keys `task`, `data`)", cfg.task))?;
    if task.splits.test.is_empty() {
        bail!("task `{}`: the test split is empty, so nothing can be evaluated; raise `data.test_fraction`, or give the data a test file", cfg.task);
    }
    loran_datasets::check_limits(&loaded.tokenizer, &task, &cfg.train.token_limits())?;
    // Targets, layers and method options against this model (on a copy; cheap).
    AdapterSet::attach(&mut loaded.model.clone(), &cfg.adapter, cfg.seed).context("key `adapter`")?;
    Ok(task.split_warnings())
}

/// Checks that training sequences and generated answers fit the model's positions.
fn check_lengths(cfg: &RunConfig, max_positions: usize) -> Result<()> {
    if cfg.train.max_len > max_positions {
        bail!("train.max_len {} exceeds the model's {max_positions} positions (max_position_embeddings); lower it", cfg.train.max_len);
    }
    let prompt = cfg.train.max_len - cfg.train.max_target_tokens - 1;
    if prompt + cfg.eval.max_new_tokens > max_positions {
        bail!(
            "a prompt of up to {prompt} tokens plus eval.max_new_tokens {} exceeds the model's {max_positions} positions; lower one of them",
            cfg.eval.max_new_tokens
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_beyond_the_positions_name_the_key_to_lower() {
        let mut cfg = RunConfig::default();
        cfg.train.max_len = 256;
        cfg.train.max_target_tokens = 64;
        cfg.eval.max_new_tokens = 64;
        assert!(check_lengths(&cfg, 256).is_ok());
        let err = check_lengths(&cfg, 255).unwrap_err().to_string();
        assert!(err.contains("train.max_len 256") && err.contains("255 positions"), "{err}");
        cfg.eval.max_new_tokens = 66; // 191 prompt tokens + 66 = 257 > 256
        let err = check_lengths(&cfg, 256).unwrap_err().to_string();
        assert!(err.contains("191 tokens") && err.contains("eval.max_new_tokens 66"), "{err}");
    }
}
