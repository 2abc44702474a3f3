//! Activation checkpointing: a decoder block whose input is already part of the
//! autograd graph keeps only that input; the backward runs the block again and
//! differentiates the recomputation. Training memory then grows with one
//! block's intermediates instead of every block's, at the cost of a second
//! forward pass through the checkpointed blocks.
//!
//! The recomputation's parameter gradients (the adapters' A, B, ...) cannot
//! travel through candle's single-input custom op, so they land in a
//! [`GradSink`] that the trainer adds to the gradients of `loss.backward()`.
//! Adapters that draw random numbers (dropout) must replay the same draws while
//! [`is_replaying`] is true.

use crate::block::DecoderBlock;
use crate::cpu_op::{f32_input, f32_output};
use crate::kernels::Kernels;
use crate::rope::Rope;
use candle_core::{CpuStorage, CustomOp1, DType, Layout, Result, Shape, Tensor, TensorId, Var};
use std::cell::Cell;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

thread_local! {
    static REPLAYING: Cell<bool> = const { Cell::new(false) };
}

/// True while a checkpointed block is being recomputed for its backward pass:
/// stochastic layers must then reuse the draws of the forward pass.
pub fn is_replaying() -> bool {
    REPLAYING.with(Cell::get)
}

/// Sets the replay flag for the current thread until dropped.
struct ReplayGuard;

impl ReplayGuard {
    fn new() -> Self {
        REPLAYING.with(|r| r.set(true));
        ReplayGuard
    }
}

impl Drop for ReplayGuard {
    fn drop(&mut self) {
        REPLAYING.with(|r| r.set(false));
    }
}

/// Gradients of the tensors inside checkpointed blocks, by tensor id, summed.
#[derive(Debug, Default)]
pub struct GradSink(Mutex<HashMap<TensorId, Tensor>>);

impl GradSink {
    fn add(&self, id: TensorId, grad: &Tensor) -> Result<()> {
        let mut map = self.0.lock().expect("gradient sink poisoned");
        let sum = match map.remove(&id) {
            Some(old) => (old + grad)?,
            None => grad.clone(),
        };
        map.insert(id, sum);
        Ok(())
    }

    /// Takes every gradient collected since the last call.
    pub fn take(&self) -> HashMap<TensorId, Tensor> {
        std::mem::take(&mut *self.0.lock().expect("gradient sink poisoned"))
    }
}

/// The op: `x ↦ block(x)` (causal, positions from 0, no cache).
struct BlockCheckpoint {
    block: DecoderBlock,
    rope: Rope,
    kernels: Kernels,
    sink: Arc<GradSink>,
}

impl CustomOp1 for BlockCheckpoint {
    fn name(&self) -> &'static str {
        "block-checkpoint"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = f32_input(self.name(), "hidden states", storage, layout)?;
        // The block's own graph (its adapters hold variables) is dropped on return.
        f32_output(&self.block.forward(&x, &self.rope, 0, None, None, self.kernels)?.detach())
    }

    fn bwd(&self, arg: &Tensor, _res: &Tensor, grad_res: &Tensor) -> Result<Option<Tensor>> {
        let x = Var::from_tensor(&arg.detach())?;
        let y = {
            let _replay = ReplayGuard::new();
            self.block.forward(x.as_tensor(), &self.rope, 0, None, None, self.kernels)?
        };
        let objective = (y * grad_res.detach())?.sum_all()?;
        // Only trainable variables' gradients leave the block; candle also leaves
        // gradients for constant operands (masks, norm weights) in the store.
        let variables: Vec<TensorId> =
            objective.sorted_nodes().iter().filter(|t| t.is_variable() && t.id() != x.as_tensor().id()).map(|t| t.id()).collect();
        let grads = objective.backward()?;
        // Gradients computed from forward tensors still reference the replayed graph;
        // detached, that graph is freed on return instead of living until the step ends.
        for id in variables {
            if let Some(g) = grads.get_id(id) {
                self.sink.add(id, &g.detach())?;
            }
        }
        Ok(grads.get(x.as_tensor()).map(Tensor::detach))
    }
}

/// `block(x)` through a checkpoint when `x` is part of an f32 graph on the CPU,
/// else the plain forward (a block whose input is not yet in the graph, e.g. the
/// lowest adapted one, keeps its intermediates: its gradients start there).
pub fn checkpointed_block(block: &DecoderBlock, x: &Tensor, rope: &Rope, kernels: Kernels, sink: &Arc<GradSink>) -> Result<Tensor> {
    if x.track_op() && x.dtype() == DType::F32 && x.device().is_cpu() {
        let op = BlockCheckpoint { block: block.clone(), rope: rope.clone(), kernels, sink: sink.clone() };
        x.contiguous()?.apply_op1(op)
    } else {
        block.forward(x, rope, 0, None, None, kernels)
    }
}
