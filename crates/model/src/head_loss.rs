//! Cross-entropy through a frozen output head without the `[rows, vocab]` logits.
//!
//! A causal-LM step over 1,024 tokens and a 49k vocabulary would otherwise build
//! 200 MB of logits, then as many again for every pass of the log-softmax and of its
//! backward. Here the vocabulary is walked a block of rows at a time with an online
//! log-sum-exp (the running maximum rescales the partial sums, as in flash attention),
//! and the same pass accumulates the input gradient `(softmax − onehot)·E`, which does
//! not depend on the upstream gradient beyond a per-row factor. So the forward returns
//! each row's loss, the backward only scales the stored gradient rows, and the largest
//! temporary is one `[rows, block]` slab. A 16-bit head is widened block by block.

use crate::bf16_compute::{product, product_tensor, Bf16Packs};
use crate::cpu_op::{f32_input, f32_output};
use candle_core::{CpuStorage, CustomOp1, DType, Error, Layout, Result, Shape, Tensor};
use rayon::prelude::*;
use std::sync::Mutex;

/// Vocabulary rows per block (8192 × 576 f32 values: 18 MiB; the logits slab of 1,024 rows: 32 MiB).
const VOCAB_BLOCK: usize = 8192;

/// bf16 packs of an output head, one pair per vocabulary block of [`VOCAB_BLOCK`]
/// rows, made on first use (see [`crate::bf16_compute`]).
#[derive(Debug, Default)]
pub struct HeadPacks {
    blocks: Vec<Bf16Packs>,
}

impl HeadPacks {
    /// Vocabulary blocks of a head with `vocab` rows.
    pub fn blocks_for(vocab: usize) -> usize {
        vocab.div_ceil(VOCAB_BLOCK)
    }

    /// Empty packs for `blocks` vocabulary blocks.
    pub fn new(blocks: usize) -> Self {
        Self { blocks: (0..blocks).map(|_| Bf16Packs::default()).collect() }
    }

    fn block(&self, i: usize) -> Result<&Bf16Packs> {
        self.blocks.get(i).ok_or_else(|| Error::msg(format!("head packs: no vocabulary block {i} of {}", self.blocks.len())))
    }

    /// Logits `[.., vocab]` of f32 hidden states through the head in bf16, a block of
    /// the vocabulary at a time (generation; training uses the fused loss).
    pub fn logits(&self, hidden: &Tensor, head: &Tensor) -> Result<Tensor> {
        let vocab = head.dim(0)?;
        let parts = (0..vocab)
            .step_by(VOCAB_BLOCK)
            .enumerate()
            .map(|(i, start)| {
                let rows = head.narrow(0, start, VOCAB_BLOCK.min(vocab - start))?;
                product_tensor(hidden, self.block(i)?.forward(&rows)?)
            })
            .collect::<Result<Vec<_>>>()?;
        Tensor::cat(&parts, candle_core::D::Minus1)
    }
}

/// The op: hidden rows `[n, d]` ↦ per-row cross-entropy `[n]` against `targets`.
struct HeadCrossEntropy {
    head: Tensor,
    /// bf16 products through these packs instead of f32 ones.
    packs: Option<std::sync::Arc<HeadPacks>>,
    targets: Vec<u32>,
    with_grad: bool,
    /// `∂ loss_i / ∂ h_i`, filled by the forward when `with_grad`.
    grad: Mutex<Option<Tensor>>,
}

/// Running per-row state of the online softmax.
struct RowState {
    max: f32,
    sum: f32,
    target_logit: f32,
}

impl HeadCrossEntropy {
    fn compute(&self, h: &Tensor) -> Result<(Vec<f32>, Option<Tensor>)> {
        let (n, d) = h.dims2()?;
        let vocab = self.head.dim(0)?;
        if self.head.dim(1)? != d {
            return Err(Error::msg(format!("head-cross-entropy: hidden width {d} but the head is {:?}", self.head.dims())));
        }
        if let Some(&bad) = self.targets.iter().find(|&&t| t as usize >= vocab) {
            return Err(Error::msg(format!("head-cross-entropy: target id {bad} outside the vocabulary of {vocab}")));
        }
        let mut rows: Vec<RowState> = (0..n).map(|_| RowState { max: f32::NEG_INFINITY, sum: 0.0, target_logit: 0.0 }).collect();
        let mut grad: Option<Tensor> = None;
        let h_rows = match &self.packs {
            Some(_) => h.flatten_all()?.to_vec1::<f32>()?,
            None => Vec::new(),
        };
        for (index, start) in (0..vocab).step_by(VOCAB_BLOCK).enumerate() {
            let len = VOCAB_BLOCK.min(vocab - start);
            let raw = self.head.narrow(0, start, len)?;
            let packs = self.packs.as_ref().map(|p| p.block(index)).transpose()?;
            let block = match packs {
                Some(_) => raw.clone(),
                None => raw.to_dtype(DType::F32)?.contiguous()?,
            };
            let mut logits = match packs {
                Some(p) => product(&h_rows, n, p.forward(&raw)?)?,
                None => h.matmul(&block.t()?)?.flatten_all()?.to_vec1::<f32>()?,
            };
            // Per row: fold the block into the running max and sum, and turn the
            // logits into exp(logit − new max); `scale` rescales earlier partial sums.
            let scales: Vec<f32> = logits
                .par_chunks_mut(len)
                .zip(rows.par_iter_mut())
                .zip(self.targets.par_iter())
                .map(|((row, state), &target)| {
                    let t = target as usize;
                    if (start..start + len).contains(&t) {
                        state.target_logit = row[t - start];
                    }
                    let block_max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                    let new_max = state.max.max(block_max);
                    let scale = (state.max - new_max).exp();
                    let mut sum = 0.0f32;
                    for v in row.iter_mut() {
                        *v = (*v - new_max).exp();
                        sum += *v;
                    }
                    state.sum = state.sum * scale + sum;
                    state.max = new_max;
                    scale
                })
                .collect();
            if self.with_grad {
                let part = match packs {
                    Some(packs) => Tensor::from_vec(product(&logits, n, packs.backward(&raw)?)?, (n, d), &candle_core::Device::Cpu)?,
                    None => Tensor::from_vec(logits, (n, len), &candle_core::Device::Cpu)?.matmul(&block)?,
                };
                grad = Some(match grad {
                    None => part,
                    Some(g) => (g.broadcast_mul(&Tensor::from_vec(scales, (n, 1), &candle_core::Device::Cpu)?)? + part)?,
                });
            }
        }
        let losses: Vec<f32> = rows.iter().map(|r| r.max + r.sum.ln() - r.target_logit).collect();
        let grad = match grad {
            None => None,
            Some(g) => {
                // softmax·E − E[target]: divide by the final sums, subtract the target rows.
                let inv: Vec<f32> = rows.iter().map(|r| 1.0 / r.sum).collect();
                let g = g.broadcast_mul(&Tensor::from_vec(inv, (n, 1), &candle_core::Device::Cpu)?)?;
                let ids = Tensor::from_slice(&self.targets, n, &candle_core::Device::Cpu)?;
                let target_rows = self.head.index_select(&ids, 0)?.to_dtype(DType::F32)?;
                Some((g - target_rows)?)
            }
        };
        Ok((losses, grad))
    }
}

impl CustomOp1 for HeadCrossEntropy {
    fn name(&self) -> &'static str {
        "head-cross-entropy"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let h = f32_input(self.name(), "hidden input", storage, layout)?;
        let (losses, grad) = self.compute(&h)?;
        *self.grad.lock().map_err(|_| Error::msg("head-cross-entropy: a poisoned lock"))? = grad;
        let n = losses.len();
        f32_output(&Tensor::from_vec(losses, n, &candle_core::Device::Cpu)?)
    }

    fn bwd(&self, _arg: &Tensor, _res: &Tensor, grad_res: &Tensor) -> Result<Option<Tensor>> {
        let stored = self.grad.lock().map_err(|_| Error::msg("head-cross-entropy: a poisoned lock"))?;
        let Some(g) = stored.as_ref() else {
            return Err(Error::msg("head-cross-entropy: backward through a loss built without gradients"));
        };
        Ok(Some(g.broadcast_mul(&grad_res.unsqueeze(1)?)?))
    }
}

/// Per-row cross-entropy `[n]` of the logits `hidden·headᵀ` against `targets`, never
/// materialising the logits. `hidden` is `[n, d]` f32 on the CPU; `head` is the
/// `[vocab, d]` output matrix (f32, bf16 or f16). Differentiable with respect to
/// `hidden` when it is part of a graph (the gradient is computed in the forward).
/// With `packs`, the head's products run in bf16 (f32 accumulation; the online
/// softmax and the gradient rows stay f32).
pub fn head_cross_entropy(hidden: &Tensor, head: &Tensor, targets: &[u32], packs: Option<&std::sync::Arc<HeadPacks>>) -> Result<Tensor> {
    let n = hidden.dim(0)?;
    if targets.len() != n {
        return Err(Error::msg(format!("head-cross-entropy: {n} rows but {} targets", targets.len())));
    }
    if hidden.dtype() != DType::F32 || !hidden.device().is_cpu() {
        // Elsewhere (a CUDA build), the plain path: logits, then candle's cross-entropy.
        let logits = crate::linear::matmul_t(hidden, &head.to_dtype(hidden.dtype())?)?;
        let ids = Tensor::from_slice(targets, n, hidden.device())?;
        let log_p = candle_nn::ops::log_softmax(&logits, 1)?;
        return log_p.gather(&ids.unsqueeze(1)?, 1)?.squeeze(1)?.neg();
    }
    let op = HeadCrossEntropy { head: head.clone(), packs: packs.cloned(), targets: targets.to_vec(), with_grad: hidden.track_op(), grad: Mutex::new(None) };
    hidden.contiguous()?.apply_op1(op)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    /// Loss and gradient of the plain path: logits, log-softmax, pick, mean.
    fn reference(h: &Tensor, head: &Tensor, targets: &[u32]) -> (f32, Tensor) {
        let v = Var::from_tensor(h).unwrap();
        let logits = v.as_tensor().matmul(&head.to_dtype(DType::F32).unwrap().t().unwrap()).unwrap();
        let ids = Tensor::from_slice(targets, targets.len(), &Device::Cpu).unwrap();
        let loss = candle_nn::loss::cross_entropy(&logits, &ids).unwrap();
        let grads = loss.backward().unwrap();
        (loss.to_scalar::<f32>().unwrap(), grads.get(v.as_tensor()).unwrap().clone())
    }

    fn max_diff(a: &Tensor, b: &Tensor) -> f32 {
        (a - b).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap()
    }

    fn check(head: Tensor, rows: usize, seed: u64) {
        let d = head.dim(1).unwrap();
        let vocab = head.dim(0).unwrap() as u64;
        let h = (crate::fixtures::uniform(&[rows, d], 1.0, seed) * 3.0).unwrap();
        // Targets spread over every block, the first and the last id included.
        let mut targets: Vec<u32> = (0..rows as u64).map(|i| ((i * 7_919 + seed) % vocab) as u32).collect();
        targets[0] = 0;
        targets[rows - 1] = (vocab - 1) as u32;
        let (want_loss, want_grad) = reference(&h, &head, &targets);
        let v = Var::from_tensor(&h).unwrap();
        let loss = head_cross_entropy(v.as_tensor(), &head, &targets, None).unwrap().mean_all().unwrap();
        let got_loss = loss.to_scalar::<f32>().unwrap();
        assert!((got_loss - want_loss).abs() < 1e-5 * want_loss.abs().max(1.0), "{got_loss} vs {want_loss}");
        let grads = loss.backward().unwrap();
        let diff = max_diff(grads.get(v.as_tensor()).unwrap(), &want_grad);
        assert!(diff < 1e-6, "gradient differs by {diff}");
    }

    #[test]
    fn loss_and_gradient_equal_the_plain_cross_entropy_over_several_vocabulary_blocks() {
        // 2.5 blocks, so the online rescaling and the short last block both run.
        let head = crate::fixtures::uniform(&[2 * VOCAB_BLOCK + VOCAB_BLOCK / 2, 16], 0.5, 3);
        check(head, 37, 5);
    }

    #[test]
    fn a_bf16_head_is_widened_like_the_plain_path() {
        let head = crate::fixtures::uniform(&[VOCAB_BLOCK + 77, 8], 0.5, 9).to_dtype(DType::BF16).unwrap();
        check(head, 11, 2);
    }

    #[test]
    fn in_bf16_loss_logits_and_gradient_follow_the_rounded_inputs() {
        let round = |t: &Tensor| t.to_dtype(DType::BF16).unwrap().to_dtype(DType::F32).unwrap();
        let head = crate::fixtures::uniform(&[VOCAB_BLOCK + 300, 16], 0.5, 6);
        let h = (crate::fixtures::uniform(&[9, 16], 1.0, 7) * 3.0).unwrap();
        let targets: Vec<u32> = (0..9u32).map(|i| i * 1_013 % (VOCAB_BLOCK as u32 + 300)).collect();
        let packs = std::sync::Arc::new(HeadPacks::new(HeadPacks::blocks_for(head.dim(0).unwrap())));
        // The reference: the plain path on bf16-rounded hidden states and head.
        let (want_loss, want_grad) = reference(&round(&h), &round(&head), &targets);
        let v = Var::from_tensor(&h).unwrap();
        let loss = head_cross_entropy(v.as_tensor(), &head, &targets, Some(&packs)).unwrap().mean_all().unwrap();
        let got = loss.to_scalar::<f32>().unwrap();
        assert!((got - want_loss).abs() < 1e-5 * want_loss.abs().max(1.0), "{got} vs {want_loss}");
        // The backward product rounds the probabilities to bf16 too (unit roundoff 2⁻⁸):
        // the mean's gradient row, (Σ p·E − E_t)/9, errs by at most 2⁻⁸·Σp·|E|/9 with
        // Σp = 1 and |E| ≤ 0.5.
        let diff = max_diff(loss.backward().unwrap().get(v.as_tensor()).unwrap(), &want_grad);
        assert!(diff < 2f32.powi(-8) * 0.5 / 9.0 + 1e-6, "gradient differs by {diff}");
        let logits = packs.logits(&h, &head).unwrap();
        let want = round(&h).matmul(&round(&head).t().unwrap()).unwrap();
        assert_eq!(logits.dims(), want.dims());
        assert!(max_diff(&logits, &want) < 1e-5, "{}", max_diff(&logits, &want));
        // Not the f32 path: rounding really happened.
        let (f32_loss, _) = reference(&h, &head, &targets);
        assert_ne!(got, f32_loss);
    }

    #[test]
    fn gradient_matches_central_differences() {
        let head = crate::fixtures::uniform(&[300, 4], 1.0, 4);
        let h = crate::fixtures::uniform(&[3, 4], 1.0, 8).to_dtype(DType::F64).unwrap();
        let targets = [5u32, 299, 0];
        let loss_at = |h: &Tensor| -> f64 {
            let logits = h.matmul(&head.to_dtype(DType::F64).unwrap().t().unwrap()).unwrap();
            let lp = candle_nn::ops::log_softmax(&logits, 1).unwrap().to_vec2::<f64>().unwrap();
            -targets.iter().enumerate().map(|(i, &t)| lp[i][t as usize]).sum::<f64>() / 3.0
        };
        let v = Var::from_tensor(&h.to_dtype(DType::F32).unwrap()).unwrap();
        let loss = head_cross_entropy(v.as_tensor(), &head, &targets, None).unwrap().mean_all().unwrap();
        let grad = loss.backward().unwrap().get(v.as_tensor()).unwrap().to_vec2::<f32>().unwrap();
        let base = h.to_vec2::<f64>().unwrap();
        let eps = 1e-5;
        for i in 0..3 {
            for j in 0..4 {
                let mut plus = base.clone();
                plus[i][j] += eps;
                let mut minus = base.clone();
                minus[i][j] -= eps;
                let t = |m: Vec<Vec<f64>>| Tensor::new(m, &Device::Cpu).unwrap();
                let fd = (loss_at(&t(plus)) - loss_at(&t(minus))) / (2.0 * eps);
                assert!((fd - grad[i][j] as f64).abs() < 1e-4, "[{i},{j}] fd {fd} vs {}", grad[i][j]);
            }
        }
    }

    #[test]
    fn without_a_graph_no_gradient_is_kept_and_bad_targets_are_named() {
        let head = crate::fixtures::uniform(&[50, 4], 1.0, 1);
        let h = crate::fixtures::uniform(&[2, 4], 1.0, 2);
        let per_row = head_cross_entropy(&h, &head, &[1, 2], None).unwrap();
        assert_eq!(per_row.dims(), &[2]);
        let err = head_cross_entropy(&h, &head, &[1, 50], None).unwrap_err().to_string();
        assert!(err.contains("target id 50 outside the vocabulary of 50"), "{err}");
        let err = head_cross_entropy(&h, &head, &[1], None).unwrap_err().to_string();
        assert!(err.contains("2 rows but 1 targets"), "{err}");
    }
}
