//! The adapters' part of an optimizer step, so that a trainer runs any method without
//! knowing what it does around the step (NA-LoRA scales some rows' steps and updates
//! its statistics; most methods do neither).

use crate::adapter::Adapter;
use crate::error::Result;
use candle_core::{Tensor, Var};
use std::sync::Arc;

/// Wraps each optimizer step of a set's parameters: it applies the step multipliers
/// the adapters ask for ([`Adapter::step_scales`]) and then tells every adapter that
/// the step finished ([`Adapter::after_step`]). Owns its adapters (cheap `Arc`s), so a
/// trainer can keep it next to its optimizer.
#[derive(Debug, Clone)]
pub struct StepHook {
    adapters: Vec<Arc<dyn Adapter>>,
}

impl StepHook {
    /// A hook over these adapters (an [`crate::AdapterSet`] gives its own with `step_hook`).
    pub fn new(adapters: Vec<Arc<dyn Adapter>>) -> Self {
        Self { adapters }
    }

    /// Runs `update`, the optimizer's step on the adapters' parameters, as optimizer step
    /// number `steps_done` (1 for the first). Each parameter an adapter scales moves by
    /// `p ← p_old + scale ⊙ (p_new − p_old)`, with the multipliers as they stood before
    /// the step, except that an element whose multiplier is 0 keeps its old value bit for
    /// bit (a frozen element: no `0·step` rounding, no −0 turned to +0); then every
    /// adapter's `after_step(steps_done)` runs. Without multipliers the parameters are
    /// exactly what `update` left.
    pub fn run(&self, steps_done: usize, update: impl FnOnce() -> candle_core::Result<()>) -> Result<()> {
        let mut scaled: Vec<(Var, Tensor, Tensor)> = Vec::new();
        for adapter in &self.adapters {
            for (var, scale) in adapter.step_scales()? {
                let before = var.as_tensor().copy()?;
                scaled.push((var, before, scale));
            }
        }
        update()?;
        for (var, before, scale) in scaled {
            let step = (var.as_tensor() - &before)?;
            let moved = (&before + step.broadcast_mul(&scale)?)?;
            let frozen = scale.eq(0.0)?.broadcast_as(before.shape())?.contiguous()?;
            var.set(&frozen.where_cond(&before, &moved)?)?;
        }
        for adapter in &self.adapters {
            adapter.after_step(steps_done)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;
    use loran_model::{FrozenLinear, LinearAdapter};
    use std::sync::Mutex;

    /// Scales the second row of its parameter's step by `factor` and logs `after_step`.
    #[derive(Debug)]
    struct Probe {
        p: Var,
        factor: Option<f32>,
        log: Mutex<Vec<usize>>,
    }

    impl LinearAdapter for Probe {
        fn forward(&self, x: &Tensor, base: &FrozenLinear) -> candle_core::Result<Tensor> {
            base.forward(x)
        }
    }

    impl Adapter for Probe {
        fn parameters(&self) -> Vec<(String, Var)> {
            vec![("p".into(), self.p.clone())]
        }
        fn merged_delta(&self, _: &FrozenLinear) -> candle_core::Result<Option<Tensor>> {
            Ok(None)
        }
        fn step_scales(&self) -> candle_core::Result<Vec<(Var, Tensor)>> {
            let Some(f) = self.factor else { return Ok(Vec::new()) };
            Ok(vec![(self.p.clone(), Tensor::new(&[[1f32], [f]], &Device::Cpu)?)])
        }
        fn after_step(&self, steps_done: usize) -> candle_core::Result<()> {
            self.log.lock().unwrap().push(steps_done);
            Ok(())
        }
    }

    fn probe(factor: Option<f32>) -> Arc<Probe> {
        let p = Var::from_tensor(&Tensor::new(&[[1f32, 2.0], [3.0, 4.0]], &Device::Cpu).unwrap()).unwrap();
        Arc::new(Probe { p, factor, log: Mutex::new(Vec::new()) })
    }

    fn values(v: &Var) -> Vec<Vec<f32>> {
        v.as_tensor().to_vec2().unwrap()
    }

    #[test]
    fn scaled_rows_move_by_their_factor_others_as_updated_and_every_adapter_hears_the_step() {
        let (scaled, plain) = (probe(Some(0.5)), probe(None));
        let hook = StepHook::new(vec![scaled.clone() as Arc<dyn Adapter>, plain.clone()]);
        let step = Tensor::new(&[[0.25f32, -0.5], [1.0, 3.0]], &Device::Cpu).unwrap();
        hook.run(7, || {
            for probe in [&scaled, &plain] {
                probe.p.set(&(probe.p.as_tensor() + &step)?)?;
            }
            Ok(())
        })
        .unwrap();
        assert_eq!(values(&scaled.p), vec![vec![1.25, 1.5], vec![3.5, 5.5]]);
        assert_eq!(values(&plain.p), vec![vec![1.25, 1.5], vec![4.0, 7.0]]);
        assert_eq!((scaled.log.lock().unwrap().clone(), plain.log.lock().unwrap().clone()), (vec![7], vec![7]));
    }

    /// A multiplier of 0 keeps the old value exactly, even where `old + 0·step` would
    /// not (−0 would become +0, an infinite step would give NaN).
    #[test]
    fn a_zero_multiplier_keeps_the_old_row_bit_for_bit() {
        let p = Var::from_tensor(&Tensor::new(&[[1f32, 2.0], [-0.0, 4.0]], &Device::Cpu).unwrap()).unwrap();
        let frozen = Arc::new(Probe { p, factor: Some(0.0), log: Mutex::new(Vec::new()) });
        let step = Tensor::new(&[[0.5f32, 0.5], [1.0, f32::INFINITY]], &Device::Cpu).unwrap();
        StepHook::new(vec![frozen.clone() as Arc<dyn Adapter>]).run(1, || frozen.p.set(&(frozen.p.as_tensor() + &step)?)).unwrap();
        let rows = values(&frozen.p);
        assert_eq!(rows[0], vec![1.5, 2.5]);
        assert_eq!(rows[1].iter().map(|v| v.to_bits()).collect::<Vec<_>>(), vec![(-0.0f32).to_bits(), 4f32.to_bits()]);
    }

    #[test]
    fn a_failed_update_is_an_error_and_no_adapter_hears_of_a_step() {
        let p = probe(Some(2.0));
        let err = StepHook::new(vec![p.clone() as Arc<dyn Adapter>]).run(1, || candle_core::bail!("optimizer broke")).unwrap_err();
        assert!(err.to_string().contains("optimizer broke"), "{err}");
        assert!(p.log.lock().unwrap().is_empty());
        assert_eq!(values(&p.p), vec![vec![1.0, 2.0], vec![3.0, 4.0]]);
    }
}
