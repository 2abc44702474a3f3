//! The choice between fused inference kernels and autograd-safe compositions.

/// Which implementation of RMSNorm, RoPE and softmax the model runs.
///
/// candle's fused kernels are faster but silently cut the autograd graph, so
/// any forward whose loss is differentiated must use [`Kernels::Differentiable`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Kernels {
    /// Compositions of primitive ops: gradients flow (training).
    #[default]
    Differentiable,
    /// candle's fused kernels: faster, no gradients (generation, evaluation).
    Fused,
}
