//! Causal-LM loss on the target tokens only.

use crate::prefix::PrefixCache;
use candle_core::{Result, Tensor};
use loran_datasets::{Batch, TokenizedExample};
use loran_model::Llama;

/// The scored positions of a batch (the token before each target), as flat row
/// indices into `[batch·seq]`, their targets, and the batch row of each.
fn scored_positions(batch: &Batch) -> Result<(Vec<u32>, Vec<u32>, Vec<usize>)> {
    let (b, t) = (batch.batch_size, batch.seq_len);
    let mut positions = Vec::new();
    let mut targets = Vec::new();
    let mut rows = Vec::new();
    for row in 0..b {
        for p in 0..t.saturating_sub(1) {
            let next = row * t + p + 1;
            if batch.loss_mask[next] > 0.0 {
                positions.push((row * t + p) as u32);
                targets.push(batch.input_ids[next]);
                rows.push(row);
            }
        }
    }
    if positions.is_empty() {
        candle_core::bail!("a batch has no target tokens (every answer was truncated away); raise train.max_len");
    }
    Ok((positions, targets, rows))
}

/// The final hidden states of the scored positions `[n, hidden]`.
///
/// With a prefix cache (and the examples the batch was drawn from), the frozen blocks
/// below the cache's cut are not recomputed.
fn scored_hidden(model: &Llama, batch: &Batch, positions: Vec<u32>, prefix: Option<(&PrefixCache, &[TokenizedExample])>) -> Result<Tensor> {
    let (b, t) = (batch.batch_size, batch.seq_len);
    let device = model.device();
    let hidden = match prefix {
        Some((cache, examples)) => model.forward_from(&cache.batch_states(model, batch, examples)?, cache.cut())?,
        None => model.forward_hidden(&Tensor::from_slice(&batch.input_ids, (b, t), device)?, 0, None, None)?,
    };
    let hidden = hidden.reshape((b * t, hidden.dim(2)?))?;
    let n = positions.len();
    hidden.index_select(&Tensor::from_vec(positions, n, device)?, 0)
}

/// The logits of every scored position, their targets, and the batch row of each.
/// Only the scored positions go through the output head.
fn scored_logits(model: &Llama, batch: &Batch, prefix: Option<(&PrefixCache, &[TokenizedExample])>) -> Result<(Tensor, Tensor, Vec<usize>)> {
    let (positions, targets, rows) = scored_positions(batch)?;
    let picked = scored_hidden(model, batch, positions, prefix)?;
    let logits = model.logits(&picked)?.to_dtype(candle_core::DType::F32)?;
    let n = targets.len();
    Ok((logits, Tensor::from_vec(targets, n, model.device())?, rows))
}

/// Mean cross-entropy of the tokens whose loss-mask entry is set, each predicted from the
/// position before it; returns the loss and the number of scored tokens. The output head
/// and the loss are one fused step ([`Llama::head_loss`]): no logits are kept.
pub fn target_loss(model: &Llama, batch: &Batch, prefix: Option<(&PrefixCache, &[TokenizedExample])>) -> Result<(Tensor, usize)> {
    let (positions, targets, _) = scored_positions(batch)?;
    let picked = scored_hidden(model, batch, positions, prefix)?;
    Ok((model.head_loss(&picked, &targets)?.mean_all()?, targets.len()))
}

/// The summed cross-entropy (nats) and the number of scored tokens of each row's example,
/// as `(example index, loss sum, tokens)` in row order; no graph is kept.
pub fn target_loss_per_example(model: &Llama, batch: &Batch, prefix: Option<(&PrefixCache, &[TokenizedExample])>) -> Result<Vec<(usize, f64, usize)>> {
    let (logits, targets, rows) = scored_logits(model, batch, prefix)?;
    let log_probs = candle_nn::ops::log_softmax(&logits.detach(), 1)?;
    let picked = log_probs.gather(&targets.unsqueeze(1)?, 1)?.squeeze(1)?.to_vec1::<f32>()?;
    let mut per_row: Vec<(f64, usize)> = vec![(0.0, 0); batch.batch_size];
    for (row, log_p) in rows.into_iter().zip(picked) {
        per_row[row].0 -= f64::from(log_p);
        per_row[row].1 += 1;
    }
    Ok(per_row.into_iter().enumerate().map(|(row, (sum, n))| (batch.example_indices[row], sum, n)).collect())
}
