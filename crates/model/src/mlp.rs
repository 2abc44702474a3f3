//! The SwiGLU feed-forward layer: `down(silu(gate(x)) ⊙ up(x))`.

use crate::linear::{AdaptableLinear, GateActivation};
use candle_core::{Result, Tensor};

/// Gate, up and down projections.
#[derive(Debug, Clone)]
pub struct Mlp {
    pub(crate) gate_proj: AdaptableLinear,
    pub(crate) up_proj: AdaptableLinear,
    pub(crate) down_proj: AdaptableLinear,
}

impl Mlp {
    /// Builds the layer from its three projections; `gate_proj` is marked as feeding SiLU.
    pub fn new(gate_proj: AdaptableLinear, up_proj: AdaptableLinear, down_proj: AdaptableLinear) -> Self {
        Self { gate_proj: gate_proj.feeding(GateActivation::Silu), up_proj, down_proj }
    }

    /// The projections, in HF order (gate, up, down).
    pub fn linears_mut(&mut self) -> [&mut AdaptableLinear; 3] {
        [&mut self.gate_proj, &mut self.up_proj, &mut self.down_proj]
    }

    /// The projections, in HF order (gate, up, down).
    pub fn linears(&self) -> [&AdaptableLinear; 3] {
        [&self.gate_proj, &self.up_proj, &self.down_proj]
    }

    /// Applies the layer to `[..., hidden]`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let gate = self.gate_proj.forward(x)?;
        let up = self.up_proj.forward(x)?;
        self.down_proj.forward(&crate::train_ops::swiglu::swiglu(&gate, &up)?)
    }
}
