//! The NA-LoRA-style adapter of a gate projection: LoRA whose B rows carry a
//! neuron-importance mask, whose forward records the gate statistics while
//! training, and whose B steps are scaled per homogeneity class.

use super::config::NaLoraConfig;
use super::stats::{channel_means, class_of, ema_update, mask_from_importance, step_scale};
use crate::adapter::Adapter;
use crate::dropout::{SeededDropout, TrainingFlag};
use candle_core::{DType, Result, Tensor, Var};
use loran_model::linear::matmul_t;
use loran_model::{FrozenLinear, GateActivation, LinearAdapter};
use std::sync::Mutex;

/// State keys in adapter files (each `[out]` f32, except the counters `[1]`).
pub const IMPORTANCE_KEY: &str = "na_lora_importance";
/// EMA of the mean effective homogeneity κ(z) per channel.
pub const KAPPA_KEY: &str = "na_lora_kappa";
/// The mask on B's rows.
pub const MASK_KEY: &str = "na_lora_mask";
/// The per-row step multipliers of B.
pub const STEP_SCALE_KEY: &str = "na_lora_step_scale";
/// `[EMA updates, mask updates]`.
pub const COUNTS_KEY: &str = "na_lora_counts";

/// The mutable part of the adapter (statistics, mask, step scales).
#[derive(Debug)]
struct GateState {
    /// EMA of mean |φ′(z)| per channel (the importance I).
    importance: Vec<f64>,
    /// EMA of mean κ(z) per channel.
    kappa: Vec<f64>,
    /// EMA updates so far.
    ema_updates: usize,
    /// Mask on B's rows (all ones until the first mask update).
    mask: Vec<f64>,
    /// Step multiplier per row of B (all ones until the first mask update).
    step_scale: Vec<f64>,
    /// Mask updates so far.
    mask_updates: usize,
    /// The last training forward's (mean |φ′|, mean κ), folded in by `after_step`.
    pending: Option<(Vec<f64>, Vec<f64>)>,
}

impl GateState {
    fn new(channels: usize) -> Self {
        Self {
            importance: Vec::new(),
            kappa: Vec::new(),
            ema_updates: 0,
            mask: vec![1.0; channels],
            step_scale: vec![1.0; channels],
            mask_updates: 0,
            pending: None,
        }
    }
}

/// LoRA on a linear that feeds a self-gated activation, with NA-LoRA's mask and step scaling:
/// `y = W0·x + s·(m ⊙ B)·A·dropout(x)`, m the mask on B's rows.
#[derive(Debug)]
pub struct NaLoraLinear {
    a: Var,
    b: Var,
    scale: f64,
    dropout: SeededDropout,
    training: TrainingFlag,
    gate: GateActivation,
    cfg: NaLoraConfig,
    state: Mutex<GateState>,
}

impl NaLoraLinear {
    /// Wraps A `[r, in]` and B `[out, r]` (f32).
    pub fn new(a: Var, b: Var, scale: f64, dropout: SeededDropout, training: TrainingFlag, gate: GateActivation, cfg: NaLoraConfig) -> Self {
        let channels = b.dim(0).expect("B is [out, r]");
        Self { a, b, scale, dropout, training, gate, cfg, state: Mutex::new(GateState::new(channels)) }
    }

    /// The settings.
    pub fn config(&self) -> &NaLoraConfig {
        &self.cfg
    }

    /// The activation the wrapped linear feeds.
    pub fn gate(&self) -> GateActivation {
        self.gate
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, GateState> {
        self.state.lock().expect("NA-LoRA state poisoned")
    }

    fn column(&self, values: &[f64]) -> Result<Tensor> {
        let v: Vec<f32> = values.iter().map(|&x| x as f32).collect();
        Tensor::from_vec(v, (values.len(), 1), self.b.device())
    }

    /// `m ⊙ B` (B itself while the mask is all ones, so the graph is LoRA's).
    fn masked_b(&self) -> Result<Tensor> {
        let mask = self.lock().mask.clone();
        if mask.iter().all(|&m| m == 1.0) {
            return Ok(self.b.as_tensor().clone());
        }
        self.b.as_tensor().broadcast_mul(&self.column(&mask)?)
    }

    /// Records the batch's per-channel gate statistics from the pre-activation `z`
    /// (`[..., out]`). A checkpointed block's recomputation sees the same `z` and
    /// overwrites the same values, so each step counts once.
    fn record(&self, z: &Tensor) -> Result<()> {
        let channels = z.dim(z.rank() - 1)?;
        let flat = z.detach().to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?;
        let means = match self.gate {
            GateActivation::Silu => channel_means(&flat, channels),
        };
        self.lock().pending = Some(means);
        Ok(())
    }

    /// Folds the pending statistics into the EMAs; on a due step, recomputes the mask
    /// and the step classes. Public for tests that drive the schedule by hand.
    pub fn advance(&self, steps_done: usize) {
        let mut st = self.lock();
        if let Some((slope, kappa)) = st.pending.take() {
            let first = st.ema_updates == 0;
            ema_update(&mut st.importance, &slope, self.cfg.ema, first);
            ema_update(&mut st.kappa, &kappa, self.cfg.ema, first);
            st.ema_updates += 1;
        }
        if st.ema_updates > 0 && self.cfg.mask_due(steps_done) {
            st.mask = mask_from_importance(&st.importance, &self.cfg);
            st.step_scale = st.kappa.iter().map(|&k| step_scale(class_of(k, &self.cfg), &self.cfg)).collect();
            st.mask_updates += 1;
        }
    }
}

impl LinearAdapter for NaLoraLinear {
    fn forward(&self, x: &Tensor, base: &FrozenLinear) -> Result<Tensor> {
        let y = base.forward(x)?;
        let xd = self.dropout.apply(&x.to_dtype(DType::F32)?)?;
        let h = matmul_t(&xd, self.a.as_tensor())?;
        let delta = (matmul_t(&h, &self.masked_b()?)? * self.scale)?;
        let z = (y.to_dtype(DType::F32)? + delta)?;
        if self.training.get() {
            self.record(&z)?;
        }
        z.to_dtype(y.dtype())
    }
}

impl Adapter for NaLoraLinear {
    fn parameters(&self) -> Vec<(String, Var)> {
        vec![("lora_A.weight".into(), self.a.clone()), ("lora_B.weight".into(), self.b.clone())]
    }

    /// `s·(m ⊙ B)·A`: the mask is part of the weights, so inference is plain LoRA (or
    /// a plain linear once merged).
    fn merged_delta(&self, _base: &FrozenLinear) -> Result<Option<Tensor>> {
        Ok(Some((self.masked_b()?.matmul(self.a.as_tensor())? * self.scale)?.detach()))
    }

    /// `s·B·A` without the mask.
    fn linear_delta(&self) -> Result<Option<Tensor>> {
        Ok(Some((self.b.as_tensor().matmul(self.a.as_tensor())? * self.scale)?.detach()))
    }

    fn state(&self) -> Result<Vec<(String, Tensor)>> {
        let st = self.lock();
        let dev = self.b.device();
        let vec1 = |v: &[f64]| Tensor::from_vec(v.iter().map(|&x| x as f32).collect::<Vec<_>>(), v.len(), dev);
        Ok(vec![
            (IMPORTANCE_KEY.into(), vec1(&st.importance)?),
            (KAPPA_KEY.into(), vec1(&st.kappa)?),
            (MASK_KEY.into(), vec1(&st.mask)?),
            (STEP_SCALE_KEY.into(), vec1(&st.step_scale)?),
            (COUNTS_KEY.into(), vec1(&[st.ema_updates as f64, st.mask_updates as f64])?),
        ])
    }

    fn set_state(&self, key: &str, value: &Tensor) -> Result<()> {
        let values: Vec<f64> = value.to_dtype(DType::F64)?.flatten_all()?.to_vec1()?;
        let channels = self.b.dim(0)?;
        let mut st = self.lock();
        let check = |want: usize| {
            if values.len() == want {
                Ok(())
            } else {
                Err(candle_core::Error::msg(format!("state `{key}` has {} values, this layer needs {want}", values.len())))
            }
        };
        match key {
            IMPORTANCE_KEY | KAPPA_KEY => {
                if !values.is_empty() {
                    check(channels)?;
                }
                if key == IMPORTANCE_KEY {
                    st.importance = values;
                } else {
                    st.kappa = values;
                }
            }
            MASK_KEY => {
                check(channels)?;
                st.mask = values;
            }
            STEP_SCALE_KEY => {
                check(channels)?;
                st.step_scale = values;
            }
            COUNTS_KEY => {
                check(2)?;
                st.ema_updates = values[0] as usize;
                st.mask_updates = values[1] as usize;
            }
            other => candle_core::bail!("NA-LoRA keeps no state `{other}`"),
        }
        Ok(())
    }

    fn step_scales(&self) -> Result<Vec<(Var, Tensor)>> {
        let scales = self.lock().step_scale.clone();
        if scales.iter().all(|&s| s == 1.0) {
            return Ok(Vec::new());
        }
        Ok(vec![(self.b.clone(), self.column(&scales)?)])
    }

    fn after_step(&self, steps_done: usize) -> Result<()> {
        self.advance(steps_done);
        Ok(())
    }
}
