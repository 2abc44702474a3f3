//! One pre-norm decoder block: attention and SwiGLU, each with a residual.

use crate::attention::Attention;
use crate::kernels::Kernels;
use crate::mlp::Mlp;
use crate::norm::RmsNorm;
use crate::rope::Rope;
use candle_core::{Result, Tensor};
use candle_nn::kv_cache::KvCache;

/// `h = x + attn(norm1(x)); out = h + mlp(norm2(h))`.
#[derive(Debug, Clone)]
pub struct DecoderBlock {
    pub(crate) input_layernorm: RmsNorm,
    pub(crate) self_attn: Attention,
    pub(crate) post_attention_layernorm: RmsNorm,
    pub(crate) mlp: Mlp,
}

impl DecoderBlock {
    /// Assembles a block.
    pub fn new(input_layernorm: RmsNorm, self_attn: Attention, post_attention_layernorm: RmsNorm, mlp: Mlp) -> Self {
        Self { input_layernorm, self_attn, post_attention_layernorm, mlp }
    }

    /// Runs the block on `[batch, seq, hidden]` at positions `start..`.
    pub fn forward(
        &self,
        x: &Tensor,
        rope: &Rope,
        start: usize,
        cache: Option<&mut KvCache>,
        mask: Option<&Tensor>,
        kernels: Kernels,
    ) -> Result<Tensor> {
        let normed = self.input_layernorm.forward(x, kernels)?;
        let h = (x + self.self_attn.forward(&normed, rope, start, cache, mask, kernels)?)?;
        let normed = self.post_attention_layernorm.forward(&h, kernels)?;
        &h + self.mlp.forward(&normed)?
    }
}
