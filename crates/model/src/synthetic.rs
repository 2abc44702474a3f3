//! Random networks of a real model's shape, without its files: what benchmarks time and
//! tests compute on. Deterministic in the seed.

use crate::config::LlamaConfig;
use candle_core::{Device, Tensor};
use std::collections::HashMap;

/// A seeded SplitMix64 stream of uniform values in [-1, 1).
struct Uniform(u64);

impl Uniform {
    fn next(&mut self) -> f32 {
        let z = crate::splitmix::next(&mut self.0);
        ((z >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
}

/// A tensor of `shape` with entries uniform in `[-scale, scale)`, fixed by `seed`.
pub fn uniform(shape: &[usize], scale: f32, seed: u64) -> Tensor {
    let mut rng = Uniform(seed);
    let n: usize = shape.iter().product();
    let data: Vec<f32> = (0..n).map(|_| rng.next() * scale).collect();
    Tensor::from_vec(data, shape, &Device::Cpu).expect("shape matches data")
}

/// Random weights for `cfg` under HF names; norms are near 1. Adds `lm_head.weight` when untied.
pub fn random_weights(cfg: &LlamaConfig, seed: u64) -> HashMap<String, Tensor> {
    let mut out = HashMap::new();
    let mut next_seed = seed;
    let mut put = |name: String, shape: &[usize], scale: f32, offset: f32| {
        next_seed = next_seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let t = (uniform(shape, scale, next_seed) + offset as f64).expect("scalar add");
        out.insert(name, t);
    };
    let (h, i) = (cfg.hidden_size, cfg.intermediate_size);
    let (q, kv) = (cfg.num_attention_heads * cfg.head_dim, cfg.num_key_value_heads * cfg.head_dim);
    let w = |fan_in: usize| 1.0 / (fan_in as f32).sqrt();
    put("model.embed_tokens.weight".into(), &[cfg.vocab_size, h], 0.1, 0.0);
    for l in 0..cfg.num_hidden_layers {
        let p = format!("model.layers.{l}");
        put(format!("{p}.input_layernorm.weight"), &[h], 0.2, 1.0);
        put(format!("{p}.post_attention_layernorm.weight"), &[h], 0.2, 1.0);
        put(format!("{p}.self_attn.q_proj.weight"), &[q, h], w(h), 0.0);
        put(format!("{p}.self_attn.k_proj.weight"), &[kv, h], w(h), 0.0);
        put(format!("{p}.self_attn.v_proj.weight"), &[kv, h], w(h), 0.0);
        put(format!("{p}.self_attn.o_proj.weight"), &[h, q], w(q), 0.0);
        put(format!("{p}.mlp.gate_proj.weight"), &[i, h], w(h), 0.0);
        put(format!("{p}.mlp.up_proj.weight"), &[i, h], w(h), 0.0);
        put(format!("{p}.mlp.down_proj.weight"), &[h, i], w(i), 0.0);
    }
    put("model.norm.weight".into(), &[h], 0.2, 1.0);
    if !cfg.tie_word_embeddings {
        put("lm_head.weight".into(), &[cfg.vocab_size, h], w(h), 0.0);
    }
    out
}

/// A random LLaMA of any shape ([`random_weights`] of `seed`), f32 on the CPU; benchmarks
/// use it for a real model's shape without its files.
pub fn random_model(cfg: &LlamaConfig, seed: u64) -> crate::Result<crate::Llama> {
    let vb = candle_nn::VarBuilder::from_tensors(random_weights(cfg, seed), candle_core::DType::F32, &candle_core::Device::Cpu);
    Ok(crate::Llama::load(vb, cfg)?)
}

/// SmolLM2-135M's shape (hidden 576, 30 blocks, 9 heads, 3 KV heads, FFN 1536, vocab
/// 49152, tied embeddings), as in its `config.json`.
pub fn smollm2_135m_config() -> LlamaConfig {
    LlamaConfig {
        vocab_size: 49_152,
        hidden_size: 576,
        intermediate_size: 1536,
        num_hidden_layers: 30,
        num_attention_heads: 9,
        num_key_value_heads: 3,
        head_dim: 64,
        rms_norm_eps: 1e-5,
        rope_theta: 100_000.0,
        max_position_embeddings: 8192,
        tie_word_embeddings: true,
        bos_token_id: Some(1),
        eos_token_ids: vec![2],
    }
}
