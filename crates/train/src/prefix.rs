//! Frozen-prefix caching: when adapters sit only on blocks `cut..`, the states
//! entering block `cut` depend on the frozen weights alone, so they are
//! computed once per training example and reused by every step and every
//! cell that shares the model, data and cut.

use crate::loss::target_loss_per_example;
use candle_core::{Result, Tensor};
use loran_datasets::{collate, Batch, TokenizedExample};
use loran_model::generate::prefill_prompts;
use loran_model::{BlockPrefix, Kernels, Llama};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Per-example residual states entering block `cut`, and each example's loss under the
/// frozen base (for the paired training-loss curve, see [`PrefixCache::base_loss`]).
#[derive(Debug)]
pub struct PrefixCache {
    cut: usize,
    states: Mutex<HashMap<usize, Tensor>>,
    base_losses: Mutex<HashMap<usize, (f64, usize)>>,
}

impl PrefixCache {
    /// An empty cache for states entering block `cut`.
    pub fn new(cut: usize) -> Self {
        Self { cut, states: Mutex::new(HashMap::new()), base_losses: Mutex::new(HashMap::new()) }
    }

    /// The block the cached states enter.
    pub fn cut(&self) -> usize {
        self.cut
    }

    /// The frozen base's mean cross-entropy over the target tokens of `batch`, weighted by
    /// tokens as the training loss is. `base` is the model without adapters.
    ///
    /// A batch's training loss mostly measures how hard its examples are: with a few
    /// examples a step, that scatter hides whether the adapter learns. The training loss
    /// minus this figure, on the same batch, removes it. Each example is scored alone
    /// (from its cached prefix) and once, so the figure never depends on the batch or
    /// cell that first asked for it.
    pub fn base_loss(&self, base: &Llama, batch: &Batch, examples: &[TokenizedExample]) -> Result<f64> {
        let (mut sum, mut tokens) = (0.0, 0);
        for &i in &batch.example_indices {
            let (s, n) = cached(&self.base_losses, i, || {
                let mut alone = collate(&[&examples[i]], 0);
                alone.example_indices = vec![i];
                let (_, s, n) = target_loss_per_example(base, &alone, Some((self, examples)))?[0];
                Ok((s, n))
            })?;
            sum += s;
            tokens += n;
        }
        if tokens == 0 {
            candle_core::bail!("a batch has no target tokens");
        }
        Ok(sum / tokens as f64)
    }

    /// Examples cached so far.
    pub fn len(&self) -> usize {
        self.states.lock().expect("prefix cache poisoned").len()
    }

    /// Whether nothing is cached yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `[batch, seq_len, hidden]` states of a batch's rows, right-padded with zeros.
    ///
    /// Each missing example is computed alone (no padding, fused kernels), so a state
    /// never depends on which batch or cell asked for it first.
    pub fn batch_states(&self, model: &Llama, batch: &Batch, examples: &[TokenizedExample]) -> Result<Tensor> {
        let mut fused = model.clone();
        fused.set_kernels(Kernels::Fused);
        let hidden = model.config().hidden_size;
        let mut rows = Vec::with_capacity(batch.batch_size);
        for &i in &batch.example_indices {
            let state = cached(&self.states, i, || {
                let ids = Tensor::from_slice(&examples[i].input_ids, (1, examples[i].input_ids.len()), model.device())?;
                fused.forward_prefix(&ids, self.cut)?.squeeze(0)
            })?;
            let len = state.dim(0)?;
            let padded = if len < batch.seq_len {
                let pad = Tensor::zeros((batch.seq_len - len, hidden), state.dtype(), state.device())?;
                Tensor::cat(&[&state, &pad], 0)?
            } else {
                state
            };
            rows.push(padded);
        }
        Tensor::stack(&rows, 0)
    }
}

/// The value of example `i` in `map`, computed (outside the lock) and kept the first time.
fn cached<V: Clone>(map: &Mutex<HashMap<usize, V>>, i: usize, compute: impl FnOnce() -> Result<V>) -> Result<V> {
    if let Some(v) = map.lock().expect("prefix cache poisoned").get(&i) {
        return Ok(v.clone());
    }
    let v = compute()?;
    map.lock().expect("prefix cache poisoned").insert(i, v.clone());
    Ok(v)
}

/// One generation batch's prompts (token ids) and their states after the frozen blocks.
type PromptBatch = (Vec<Vec<u32>>, Arc<BlockPrefix>);

/// Evaluation prompts after the frozen blocks below `cut`, one [`BlockPrefix`] per
/// generation batch: every cell that evaluates the same prompts with adapters at or
/// above `cut` decodes from them instead of re-running those blocks (see
/// [`loran_model::generate::generate_batch_from`]; the results are bit-identical).
#[derive(Debug)]
pub struct PromptPrefixes {
    cut: usize,
    batches: Mutex<HashMap<usize, PromptBatch>>,
}

impl PromptPrefixes {
    /// An empty cache for prompts cut before block `cut`.
    pub fn new(cut: usize) -> Self {
        Self { cut, batches: Mutex::new(HashMap::new()) }
    }

    /// The block the cached states enter.
    pub fn cut(&self) -> usize {
        self.cut
    }

    /// The prefix of generation batch `index`, made from `model` (whose blocks below
    /// the cut must be the frozen base) the first time, or again if its prompts changed.
    pub fn batch(&self, index: usize, model: &Llama, prompts: &[Vec<u32>]) -> Result<Arc<BlockPrefix>> {
        if let Some((cached_prompts, prefix)) = self.batches.lock().expect("prompt prefixes poisoned").get(&index) {
            if cached_prompts.as_slice() == prompts {
                return Ok(prefix.clone());
            }
        }
        let prefix = Arc::new(prefill_prompts(model, prompts, self.cut)?);
        self.batches.lock().expect("prompt prefixes poisoned").insert(index, (prompts.to_vec(), prefix.clone()));
        Ok(prefix)
    }
}
