//! Autoregressive decoding with a KV cache, and perplexity.

use crate::kernels::Kernels;
use crate::llama::Llama;
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

/// Continues several prompts at once: left-padded, masked, one KV cache.
///
/// RoPE only sees position differences, so shifting a row by its padding
/// leaves its attention scores as they are alone; results match [`generate`]
/// up to float summation order. Sampling uses seed `seed + row`.
pub fn generate_batch(model: &Llama, prompts: &[Vec<u32>], opts: &GenerateOptions) -> Result<Vec<Generation>> {
    if prompts.is_empty() {
        return Ok(Vec::new());
    }
    if prompts.iter().any(Vec::is_empty) {
        candle_core::bail!("generate_batch: a prompt is empty");
    }
    let mut model = model.clone();
    model.set_kernels(Kernels::Fused);
    let device = model.device().clone();
    let b = prompts.len();
    let width = prompts.iter().map(Vec::len).max().unwrap_or(0);
    let pads: Vec<usize> = prompts.iter().map(|p| width - p.len()).collect();
    let mut ids = Vec::with_capacity(b * width);
    for (p, &pad) in prompts.iter().zip(&pads) {
        ids.extend(std::iter::repeat_n(p[0], pad));
        ids.extend_from_slice(p);
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
    let mut input = Tensor::from_vec(ids, (b, width), &device)?;
    let mut out: Vec<Generation> = (0..b).map(|_| Generation { tokens: Vec::new(), stopped: false }).collect();
    let mut pos = 0;
    for _ in 0..opts.max_new_tokens {
        let t = input.dim(1)?;
        let mask = left_pad_mask(&pads, t, pos + t, &device)?;
        let hidden = model.forward_hidden(&input, pos, Some(&mut cache), Some(&mask))?;
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
