//! Rotary position embeddings in the Hugging Face half-split layout (`rotate_half`).

use crate::kernels::Kernels;
use candle_core::{DType, Device, Result, Tensor};

/// Precomputed cos/sin tables, `[max_positions, head_dim / 2]` each.
#[derive(Debug, Clone)]
pub struct Rope {
    cos: Tensor,
    sin: Tensor,
}

impl Rope {
    /// Tables for angles `p · theta^(-2i/head_dim)`.
    pub fn new(head_dim: usize, theta: f64, max_positions: usize, dtype: DType, device: &Device) -> Result<Self> {
        let half = head_dim / 2;
        let inv_freq: Vec<f32> =
            (0..half).map(|i| (1.0 / theta.powf(2.0 * i as f64 / head_dim as f64)) as f32).collect();
        let inv_freq = Tensor::from_vec(inv_freq, (1, half), device)?;
        let positions = Tensor::arange(0u32, max_positions as u32, device)?
            .to_dtype(DType::F32)?
            .reshape((max_positions, 1))?;
        let angles = positions.broadcast_mul(&inv_freq)?;
        Ok(Self { cos: angles.cos()?.to_dtype(dtype)?, sin: angles.sin()?.to_dtype(dtype)? })
    }

    /// The tables' dtype (the model's compute dtype).
    pub fn dtype(&self) -> candle_core::DType {
        self.cos.dtype()
    }

    /// Number of positions the tables cover.
    pub fn max_positions(&self) -> usize {
        self.cos.dim(0).unwrap_or(0)
    }

    /// Rotates `x` of shape `[batch, heads, seq, head_dim]` at positions `start..start + seq`.
    pub fn apply(&self, x: &Tensor, start: usize, kernels: Kernels) -> Result<Tensor> {
        let seq = x.dim(2)?;
        if start + seq > self.max_positions() {
            candle_core::bail!(
                "positions {start}..{} exceed the RoPE table ({} positions, max_position_embeddings)",
                start + seq,
                self.max_positions()
            );
        }
        let cos = self.cos.narrow(0, start, seq)?;
        let sin = self.sin.narrow(0, start, seq)?;
        let x = x.contiguous()?;
        match kernels {
            Kernels::Fused => candle_nn::rotary_emb::rope(&x, &cos, &sin),
            Kernels::Differentiable => crate::train_ops::rope::rope(&x, &cos, &sin),
        }
    }
}
