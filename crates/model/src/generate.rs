//! Autoregressive decoding with a KV cache, and perplexity.

use crate::kernels::Kernels;
use crate::llama::{BlockPrefix, Llama};
use candle_core::{DType, IndexOp, Result, Tensor, D};
use candle_transformers::generation::{LogitsProcessor, Sampling};

/// How the next token is chosen.
#[derive(Debug, Clone, PartialEq)]
pub enum Decoding {
    /// Always the most likely token.
    Greedy,
    /// Sample from the softmax at `temperature`, optionally restricted to the top-`top_p` mass.
    Sample {
        /// Softmax temperature (> 0).
        temperature: f64,
        /// Nucleus mass in (0, 1]; `None` samples from the whole vocabulary.
        top_p: Option<f64>,
        /// RNG seed.
        seed: u64,
    },
}

/// Settings of one generation.
#[derive(Debug, Clone)]
pub struct GenerateOptions {
    /// Most tokens to produce.
    pub max_new_tokens: usize,
    /// Greedy or sampled.
    pub decoding: Decoding,
    /// Tokens that end generation (not included in the output).
    pub stop_tokens: Vec<u32>,
}

/// The produced tokens and why generation ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Generation {
    /// New tokens, without the stop token.
    pub tokens: Vec<u32>,
    /// True when a stop token ended generation, false when `max_new_tokens` did.
    pub stopped: bool,
}

/// Continues `prompt` with fused kernels and a KV cache.
pub fn generate(model: &Llama, prompt: &[u32], opts: &GenerateOptions) -> Result<Generation> {
    if prompt.is_empty() {
        candle_core::bail!("generate: the prompt is empty");
    }
    let mut model = model.clone();
    model.set_kernels(Kernels::Fused);
    let sampling = match opts.decoding {
        Decoding::Greedy => Sampling::ArgMax,
        Decoding::Sample { temperature, top_p: None, .. } => Sampling::All { temperature },
        Decoding::Sample { temperature, top_p: Some(p), .. } => Sampling::TopP { p, temperature },
    };
    let seed = match opts.decoding {
        Decoding::Sample { seed, .. } => seed,
        Decoding::Greedy => 0,
    };
    let mut processor = LogitsProcessor::from_sampling(seed, sampling);
    let mut cache = model.new_cache(prompt.len() + opts.max_new_tokens);
    let mut tokens = Vec::with_capacity(opts.max_new_tokens);
    let mut input = Tensor::new(prompt, model.device())?.unsqueeze(0)?;
    let mut pos = 0;
    for _ in 0..opts.max_new_tokens {
        let hidden = model.forward_hidden(&input, pos, Some(&mut cache), None)?;
        pos += input.dim(1)?;
        let last = hidden.i((0, hidden.dim(1)? - 1))?;
        let logits = model.logits(&last)?.to_dtype(DType::F32)?;
        let next = processor.sample(&logits)?;
        if opts.stop_tokens.contains(&next) {
            return Ok(Generation { tokens, stopped: true });
        }
        tokens.push(next);
        input = Tensor::new(&[next], model.device())?.unsqueeze(0)?;
    }
    Ok(Generation { tokens, stopped: false })
}

/// Additive attention mask for left-padded rows: row `r` starts at `pads[r]`; a real
/// query sees real keys up to itself, a pad query sees only itself (so no row of the
/// softmax is empty). Shape `[b, 1, t, kv_len]`, queries at positions `kv_len - t ..`.
pub fn left_pad_mask(pads: &[usize], t: usize, kv_len: usize, device: &candle_core::Device) -> Result<Tensor> {
    let offset = kv_len - t;
    let mut data = Vec::with_capacity(pads.len() * t * kv_len);
    for &pad in pads {
        for i in 0..t {
            let q = offset + i;
            for k in 0..kv_len {
                let visible = if q < pad { k == q } else { k >= pad && k <= q };
                data.push(if visible { 0.0f32 } else { f32::NEG_INFINITY });
            }
        }
    }
    Tensor::from_vec(data, (pads.len(), 1, t, kv_len), device)
}

/// Prompts laid out for batched decoding: left-padded to one width.
struct PaddedPrompts {
    ids: Tensor,
    pads: Vec<usize>,
    width: usize,
}

fn pad_prompts(prompts: &[Vec<u32>], device: &candle_core::Device) -> Result<PaddedPrompts> {
    if prompts.is_empty() || prompts.iter().any(Vec::is_empty) {
        candle_core::bail!("generate_batch: a prompt is empty");
    }
    let width = prompts.iter().map(Vec::len).max().unwrap_or(0);
    let pads: Vec<usize> = prompts.iter().map(|p| width - p.len()).collect();
    let mut ids = Vec::with_capacity(prompts.len() * width);
    for (p, &pad) in prompts.iter().zip(&pads) {
        ids.extend(std::iter::repeat_n(p[0], pad));
        ids.extend_from_slice(p);
    }
    Ok(PaddedPrompts { ids: Tensor::from_vec(ids, (prompts.len(), width), device)?, pads, width })
}

/// Runs `prompts`, batched as [`generate_batch`] batches them, through the blocks
/// below `cut` once. Models that differ from `model` only in blocks `cut..` (adapters
/// trained above `cut`) can then decode these prompts with [`generate_batch_from`]
/// without recomputing the frozen blocks.
pub fn prefill_prompts(model: &Llama, prompts: &[Vec<u32>], cut: usize) -> Result<BlockPrefix> {
    let mut model = model.clone();
    model.set_kernels(Kernels::Fused);
    let padded = pad_prompts(prompts, model.device())?;
    let mask = left_pad_mask(&padded.pads, padded.width, padded.width, model.device())?;
    model.prefill_prefix(&padded.ids, cut, Some(&mask))
}

/// Continues several prompts at once: left-padded, masked, one KV cache.
///
/// RoPE only sees position differences, so shifting a row by its padding
/// leaves its attention scores as they are alone; results match [`generate`]
/// up to float summation order. Sampling uses seed `seed + row`.
pub fn generate_batch(model: &Llama, prompts: &[Vec<u32>], opts: &GenerateOptions) -> Result<Vec<Generation>> {
    generate_batch_from(model, prompts, opts, None)
}

/// [`generate_batch`], starting from `prefix` (made by [`prefill_prompts`] for the
/// same prompts) instead of running the blocks below its cut. The result is the
/// same as without it, bit for bit, when `model` matches the prefix's model there.
pub fn generate_batch_from(model: &Llama, prompts: &[Vec<u32>], opts: &GenerateOptions, prefix: Option<&BlockPrefix>) -> Result<Vec<Generation>> {
    if prompts.is_empty() {
        return Ok(Vec::new());
    }
    let mut model = model.clone();
    model.set_kernels(Kernels::Fused);
    let device = model.device().clone();
    let b = prompts.len();
    let padded = pad_prompts(prompts, &device)?;
    let (pads, width) = (padded.pads, padded.width);
    if let Some(p) = prefix {
        if p.rows() != b || p.positions() != width {
            candle_core::bail!(
                "generate_batch_from: the prefix covers {} prompts of width {}, but {b} prompts of width {width} were given",
                p.rows(),
                p.positions()
            );
        }
    }
    let mut processors: Vec<LogitsProcessor> = (0..b)
        .map(|r| {
            let (seed, sampling) = match opts.decoding {
                Decoding::Greedy => (0, Sampling::ArgMax),
                Decoding::Sample { temperature, top_p: None, seed } => (seed + r as u64, Sampling::All { temperature }),
                Decoding::Sample { temperature, top_p: Some(p), seed } => (seed + r as u64, Sampling::TopP { p, temperature }),
            };
            LogitsProcessor::from_sampling(seed, sampling)
        })
        .collect();
    let mut cache = model.new_cache(width + opts.max_new_tokens);
    let mut input = padded.ids;
    let mut out: Vec<Generation> = (0..b).map(|_| Generation { tokens: Vec::new(), stopped: false }).collect();
    let mut pos = 0;
    for _ in 0..opts.max_new_tokens {
        let t = input.dim(1)?;
        let mask = left_pad_mask(&pads, t, pos + t, &device)?;
        let hidden = match prefix {
            Some(p) if pos == 0 => model.forward_from_prefix(p, &mut cache, Some(&mask))?,
            _ => model.forward_hidden(&input, pos, Some(&mut cache), Some(&mask))?,
        };
        pos += t;
        let last = hidden.i((.., t - 1))?;
        let logits = model.logits(&last)?.to_dtype(DType::F32)?;
        let mut next = Vec::with_capacity(b);
        for (r, processor) in processors.iter_mut().enumerate() {
            let token = processor.sample(&logits.get(r)?)?;
            let row = &mut out[r];
            if !row.stopped {
                if opts.stop_tokens.contains(&token) {
                    row.stopped = true;
                } else {
                    row.tokens.push(token);
                }
            }
            next.push(token);
        }
        if out.iter().all(|g| g.stopped) {
            break;
        }
        input = Tensor::from_vec(next, (b, 1), &device)?;
    }
    Ok(out)
}

/// Per-token negative log-likelihoods of a text under the model.
#[derive(Debug, Clone, PartialEq)]
pub struct Perplexity {
    /// `-log p(ids[i] | ids[..i])` for `i = 1..n`.
    pub nll_per_token: Vec<f64>,
    /// Mean of `nll_per_token`.
    pub mean_nll: f64,
    /// `exp(mean_nll)`.
    pub ppl: f64,
}

/// Scores `ids` with one causal forward: every token but the first is predicted.
pub fn perplexity(model: &Llama, ids: &[u32]) -> Result<Perplexity> {
    if ids.len() < 2 {
        candle_core::bail!("perplexity needs at least 2 tokens, got {}", ids.len());
    }
    let mut model = model.clone();
    model.set_kernels(Kernels::Fused);
    let input = Tensor::new(ids, model.device())?.unsqueeze(0)?;
    let logits = model.forward(&input, 0, None)?.squeeze(0)?.to_dtype(DType::F32)?;
    let n = ids.len();
    let log_probs = candle_nn::ops::log_softmax(&logits.narrow(0, 0, n - 1)?, D::Minus1)?;
    let targets = Tensor::new(&ids[1..], model.device())?.unsqueeze(1)?;
    let picked: Vec<f32> = log_probs.gather(&targets, 1)?.squeeze(1)?.to_vec1()?;
    let nll_per_token: Vec<f64> = picked.iter().map(|&lp| -(lp as f64)).collect();
    let mean_nll = nll_per_token.iter().sum::<f64>() / nll_per_token.len() as f64;
    Ok(Perplexity { ppl: mean_nll.exp(), mean_nll, nll_per_token })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::tiny_model;

    fn prompts() -> Vec<Vec<u32>> {
        vec![vec![5, 77, 140], vec![9, 200, 33, 1, 260, 17, 18], vec![42, 8]]
    }

    /// The tiny model with block 1's q_proj changed: it agrees with `tiny_model(seed)` below block 1 only.
    fn changed_above_block_1(seed: u64) -> Llama {
        let mut model = tiny_model(seed).unwrap();
        let q = model.linear_mut("model.layers.1.self_attn.q_proj").unwrap();
        let w = (q.base().weight().unwrap() * 1.5).unwrap();
        q.base_mut().set_weight(w).unwrap();
        model
    }

    #[test]
    fn a_shared_prefix_gives_the_states_and_tokens_of_a_full_pass() {
        let base = tiny_model(3).unwrap();
        let changed = changed_above_block_1(3);
        let prefix = prefill_prompts(&base, &prompts(), 1).unwrap();
        assert_eq!((prefix.cut(), prefix.rows(), prefix.positions()), (1, 3, 7));

        // The first step's final states are bit-identical to the uncut pass of the changed model.
        let mut fused = changed.clone();
        fused.set_kernels(Kernels::Fused);
        let padded = pad_prompts(&prompts(), fused.device()).unwrap();
        let mask = left_pad_mask(&padded.pads, 7, 7, fused.device()).unwrap();
        let full = fused.forward_hidden(&padded.ids, 0, Some(&mut fused.new_cache(16)), Some(&mask)).unwrap();
        let mut cache = fused.new_cache(16);
        let cut = fused.forward_from_prefix(&prefix, &mut cache, Some(&mask)).unwrap();
        let diff = (full - cut).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap();
        assert_eq!(diff, 0.0);
        assert_eq!(cache.seq_len(), 7);

        let opts = GenerateOptions { max_new_tokens: 10, decoding: Decoding::Greedy, stop_tokens: vec![] };
        let with_prefix = generate_batch_from(&changed, &prompts(), &opts, Some(&prefix)).unwrap();
        assert_eq!(with_prefix, generate_batch(&changed, &prompts(), &opts).unwrap());
        // The change above the cut matters: the base model decodes differently.
        assert_ne!(with_prefix, generate_batch(&base, &prompts(), &opts).unwrap());
    }

    #[test]
    fn a_decoding_step_against_the_cache_gives_the_states_of_a_full_pass() {
        let mut model = tiny_model(5).unwrap();
        model.set_kernels(Kernels::Fused);
        let padded = pad_prompts(&prompts(), model.device()).unwrap();
        let next = Tensor::new(&[[11u32], [250], [3]], model.device()).unwrap();
        let whole = Tensor::cat(&[&padded.ids, &next], 1).unwrap();
        let full = model.forward_hidden(&whole, 0, None, Some(&left_pad_mask(&padded.pads, 8, 8, model.device()).unwrap())).unwrap();
        let mut cache = model.new_cache(16);
        model.forward_hidden(&padded.ids, 0, Some(&mut cache), Some(&left_pad_mask(&padded.pads, 7, 7, model.device()).unwrap())).unwrap();
        // One new position per row: the in-place decoding attention reads the cache.
        let step = model.forward_hidden(&next, 7, Some(&mut cache), Some(&left_pad_mask(&padded.pads, 1, 8, model.device()).unwrap())).unwrap();
        let diff = (full.narrow(1, 7, 1).unwrap() - step).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap();
        assert!(diff < 1e-5, "{diff}");
    }

    #[test]
    fn a_prefix_of_other_prompts_is_refused() {
        let model = tiny_model(3).unwrap();
        let prefix = prefill_prompts(&model, &prompts()[..2], 1).unwrap();
        let opts = GenerateOptions { max_new_tokens: 2, decoding: Decoding::Greedy, stop_tokens: vec![] };
        let err = generate_batch_from(&model, &prompts(), &opts, Some(&prefix)).unwrap_err().to_string();
        assert!(err.contains("covers 2 prompts"), "{err}");
    }
}
