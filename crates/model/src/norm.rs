//! RMSNorm with a frozen scale.

use crate::kernels::Kernels;
use candle_core::{Result, Tensor};

/// `x / sqrt(mean(x²) + eps) · weight`, computed in f32.
#[derive(Debug, Clone)]
pub struct RmsNorm {
    weight: Tensor,
    eps: f64,
}

impl RmsNorm {
    /// A norm with the given `[hidden]` scale.
    pub fn new(weight: Tensor, eps: f64) -> Self {
        Self { weight, eps }
    }

    /// The `[hidden]` scale.
    pub fn weight(&self) -> &Tensor {
        &self.weight
    }

    /// Normalises the last dimension of `x`.
    pub fn forward(&self, x: &Tensor, kernels: Kernels) -> Result<Tensor> {
        match kernels {
            Kernels::Fused => candle_nn::ops::rms_norm(&x.contiguous()?, &self.weight, self.eps as f32),
            Kernels::Differentiable => crate::train_ops::rms_norm::rms_norm(x, &self.weight, self.eps),
        }
    }
}
