//! The interface every adapter method implements, beyond the model's forward seam.

use candle_core::{Result, Tensor, Var};
use loran_model::{FrozenLinear, LinearAdapter};

/// A trainable adapter around one frozen linear.
pub trait Adapter: LinearAdapter {
    /// Trainable tensors, keyed by the suffix they get in adapter files (e.g. `lora_A.weight`).
    fn parameters(&self) -> Vec<(String, Var)>;

    /// The exact weight update `ΔW [out, in]` such that the adapted layer equals a plain
    /// linear with `W0 + ΔW` in evaluation mode; `None` if the method cannot be merged.
    fn merged_delta(&self, base: &FrozenLinear) -> Result<Option<Tensor>>;

    /// Number of trainable scalars.
    fn num_parameters(&self) -> usize {
        self.parameters().iter().map(|(_, v)| v.elem_count()).sum()
    }
}
