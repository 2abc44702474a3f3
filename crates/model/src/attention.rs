//! Causal self-attention with grouped-query heads and an optional KV cache.

use crate::config::LlamaConfig;
use crate::kernels::Kernels;
use crate::linear::AdaptableLinear;
use crate::rope::Rope;
use candle_core::{Device, Result, Tensor, D};
use candle_nn::kv_cache::KvCache;

/// The four attention projections and the head layout.
#[derive(Debug, Clone)]
pub struct Attention {
    pub(crate) q_proj: AdaptableLinear,
    pub(crate) k_proj: AdaptableLinear,
    pub(crate) v_proj: AdaptableLinear,
    pub(crate) o_proj: AdaptableLinear,
    num_heads: usize,
    num_kv_heads: usize,
    head_dim: usize,
}

impl Attention {
    /// Builds the layer from its four projections.
    pub fn new(
        cfg: &LlamaConfig,
        q_proj: AdaptableLinear,
        k_proj: AdaptableLinear,
        v_proj: AdaptableLinear,
        o_proj: AdaptableLinear,
    ) -> Self {
        Self {
            q_proj,
            k_proj,
            v_proj,
            o_proj,
            num_heads: cfg.num_attention_heads,
            num_kv_heads: cfg.num_key_value_heads,
            head_dim: cfg.head_dim,
        }
    }

    /// The projections, in HF order (q, k, v, o).
    pub fn linears_mut(&mut self) -> [&mut AdaptableLinear; 4] {
        [&mut self.q_proj, &mut self.k_proj, &mut self.v_proj, &mut self.o_proj]
    }

    /// The projections, in HF order (q, k, v, o).
    pub fn linears(&self) -> [&AdaptableLinear; 4] {
        [&self.q_proj, &self.k_proj, &self.v_proj, &self.o_proj]
    }

    /// Attends `x` (`[batch, seq, hidden]`) at positions `start..start + seq`.
    ///
    /// With a cache, keys and values of earlier calls are reused and this
    /// call's are appended. `mask` is an additive `[batch, 1, seq, kv_len]`
    /// (or broadcastable) mask; without one a causal mask is built.
    pub fn forward(
        &self,
        x: &Tensor,
        rope: &Rope,
        start: usize,
        cache: Option<&mut KvCache>,
        mask: Option<&Tensor>,
        kernels: Kernels,
    ) -> Result<Tensor> {
        let (b, t, _) = x.dims3()?;
        let (h, kvh, d) = (self.num_heads, self.num_kv_heads, self.head_dim);
        let q = self.q_proj.forward(x)?.reshape((b, t, h, d))?.transpose(1, 2)?;
        let k = self.k_proj.forward(x)?.reshape((b, t, kvh, d))?.transpose(1, 2)?;
        let v = self.v_proj.forward(x)?.reshape((b, t, kvh, d))?.transpose(1, 2)?.contiguous()?;
        let q = rope.apply(&q, start, kernels)?;
        let k = rope.apply(&k, start, kernels)?;
        let scale = 1.0 / (d as f64).sqrt();
        let decoding = cache.is_some() && t == 1 && kernels == Kernels::Fused && crate::decode_attention::in_place();
        let (k, v) = match cache {
            Some(cache) => cache.append(&k, &v)?,
            None => (k, v),
        };
        if decoding {
            // One new position against the cache: read in place (see `decode_attention`).
            let out = crate::decode_attention::attend_one_position(&q, &k, &v, mask, scale)?;
            return self.o_proj.forward(&out.reshape((b, 1, h * d))?);
        }
        let v = v.contiguous()?;
        let kv_len = k.dim(2)?;
        // Group the query heads that share a KV head: [b, kvh, groups * t, d].
        let groups = h / kvh;
        let q = q.reshape((b, kvh, groups * t, d))?;
        let raw = q.matmul(&k.t()?.contiguous()?)?;
        if mask.is_none() && t > 1 {
            // The causal case (training, prefill): scale, mask and softmax in one node.
            let probs = crate::train_ops::causal_softmax::causal_softmax(&raw, scale, t)?;
            let out = probs.matmul(&v)?.reshape((b, h, t, d))?.transpose(1, 2)?.reshape((b, t, h * d))?;
            return self.o_proj.forward(&out);
        }
        let scores = (raw * scale)?.reshape((b, kvh, groups, t, kv_len))?;
        let scores = match mask {
            Some(mask) => scores.broadcast_add(&mask.unsqueeze(2)?)?,
            None => scores,
        };
        let probs = match kernels {
            Kernels::Fused => candle_nn::ops::softmax_last_dim(&scores)?,
            Kernels::Differentiable => candle_nn::ops::softmax(&scores, D::Minus1)?,
        };
        let probs = probs.reshape((b, kvh, groups * t, kv_len))?;
        let out = probs.matmul(&v)?.reshape((b, h, t, d))?.transpose(1, 2)?.reshape((b, t, h * d))?;
        self.o_proj.forward(&out)
    }
}

/// Additive `[t, kv_len]` mask: query `i` (at absolute position `kv_len - t + i`) sees keys `0..=kv_len - t + i`.
pub fn causal_mask(t: usize, kv_len: usize, device: &Device) -> Result<Tensor> {
    let offset = kv_len - t;
    let data: Vec<f32> = (0..t)
        .flat_map(|i| (0..kv_len).map(move |j| if j > offset + i { f32::NEG_INFINITY } else { 0.0 }))
        .collect();
    Tensor::from_vec(data, (t, kv_len), device)
}
