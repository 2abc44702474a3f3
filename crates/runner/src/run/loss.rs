//! Causal-LM loss on the target tokens only.

use crate::run::prefix::PrefixCache;
use candle_core::{Result, Tensor};
use loran_datasets::{Batch, TokenizedExample};
use loran_model::Llama;

/// Mean cross-entropy of the tokens whose loss-mask entry is set, each predicted from the
/// position before it; returns the loss and the number of scored tokens.
///
/// Only the scored positions go through the output head, which saves most of the
/// vocabulary-sized matmul. With a prefix cache (and the examples the batch was
/// drawn from), the frozen blocks below the cache's cut are not recomputed.
pub fn target_loss(model: &Llama, batch: &Batch, prefix: Option<(&PrefixCache, &[TokenizedExample])>) -> Result<(Tensor, usize)> {
    let (b, t) = (batch.batch_size, batch.seq_len);
    let mut positions = Vec::new();
    let mut targets = Vec::new();
    for row in 0..b {
        for p in 0..t.saturating_sub(1) {
            let next = row * t + p + 1;
            if batch.loss_mask[next] > 0.0 {
                positions.push((row * t + p) as u32);
                targets.push(batch.input_ids[next]);
            }
        }
    }
    if positions.is_empty() {
        candle_core::bail!("a batch has no target tokens (every answer was truncated away); raise train.max_len");
    }
    let device = model.device();
    let hidden = match prefix {
        Some((cache, examples)) => model.forward_from(&cache.batch_states(model, batch, examples)?, cache.cut())?,
        None => model.forward_hidden(&Tensor::from_slice(&batch.input_ids, (b, t), device)?, 0, None, None)?,
    };
    let hidden = hidden.reshape((b * t, hidden.dim(2)?))?;
    let picked = hidden.index_select(&Tensor::from_vec(positions, targets.len(), device)?, 0)?;
    let logits = model.logits(&picked)?.to_dtype(candle_core::DType::F32)?;
    let n = targets.len();
    let targets = Tensor::from_vec(targets, n, device)?;
    Ok((candle_nn::loss::cross_entropy(&logits, &targets)?, n))
}
