//! The interface every adapter method implements, beyond the model's forward seam.

use candle_core::{Result, Tensor, Var};
use loran_model::{FrozenLinear, LinearAdapter};

/// A trainable adapter around one frozen linear.
///
/// Beyond the parameters and the merge, a method may keep non-trainable state
/// ([`Adapter::state`], saved with the adapter), scale its optimizer steps per
/// element ([`Adapter::step_scales`]) and update itself after every optimizer
/// step ([`Adapter::after_step`]). The defaults do none of these; a trainer gets
/// both step rules through [`crate::StepHook`] without knowing the method.
pub trait Adapter: LinearAdapter {
    /// Trainable tensors, keyed by the suffix they get in adapter files (e.g. `lora_A.weight`).
    fn parameters(&self) -> Vec<(String, Var)>;

    /// The exact weight update `ΔW [out, in]` such that the adapted layer equals a plain
    /// linear with `W0 + ΔW` in evaluation mode; `None` if the method cannot be merged.
    fn merged_delta(&self, base: &FrozenLinear) -> Result<Option<Tensor>>;

    /// The plain low-rank update `s·B·A [out, in]` (f32) that the method's factors make
    /// before any nonlinearity, magnitude or mask, so `loran analyze` can set the dense
    /// update's spectrum against LoRA's rank-r one; `None` for methods without such a pair.
    fn linear_delta(&self) -> Result<Option<Tensor>> {
        Ok(None)
    }

    /// Why [`Adapter::merged_delta`] is `None`, for the merge error (one clause).
    fn why_not_mergeable(&self) -> &'static str {
        "the method has no weight-space form"
    }

    /// Number of trainable scalars.
    fn num_parameters(&self) -> usize {
        self.parameters().iter().map(|(_, v)| v.elem_count()).sum()
    }

    /// Non-trainable state that must travel with the weights (e.g. NA-LoRA's mask and
    /// its statistics), keyed by file suffix like [`Adapter::parameters`].
    fn state(&self) -> Result<Vec<(String, Tensor)>> {
        Ok(Vec::new())
    }

    /// Restores one entry of [`Adapter::state`]; an error for keys the method does not keep.
    fn set_state(&self, key: &str, _value: &Tensor) -> Result<()> {
        candle_core::bail!("this method keeps no state `{key}`")
    }

    /// Multipliers of the optimizer's update of some parameters, broadcastable to the
    /// parameter's shape: after a step, `p ← p_old + scale ⊙ (p_new − p_old)`; where the
    /// multiplier is 0 the element keeps `p_old` exactly (NA-LoRA's masked rows).
    fn step_scales(&self) -> Result<Vec<(Var, Tensor)>> {
        Ok(Vec::new())
    }

    /// Called once after every optimizer step, with the number of steps done so far.
    fn after_step(&self, _steps_done: usize) -> Result<()> {
        Ok(())
    }
}
