//! The NA-LoRA-style adapter of a gate projection: LoRA whose B rows carry a
//! neuron-importance mask, whose forward records the gate statistics while
//! training (real tokens only), and whose B steps are scaled per gate class, masked
//! rows not stepping at all.

use super::config::NaLoraConfig;
use super::stats::{channel_means, class_of, ema_update, mask_from_importance, step_scale};
use crate::adapter::Adapter;
use crate::dropout::{SeededDropout, TrainingFlag};
use crate::valid_tokens::ValidTokens;
use candle_core::{DType, Result, Tensor, Var};
use loran_model::linear::matmul_t;
use loran_model::{FrozenLinear, GateActivation, LinearAdapter};
use std::sync::Mutex;

/// State keys in adapter files (each `[out]` f32, except the counters `[1]`).
pub const IMPORTANCE_KEY: &str = "na_lora_importance";
/// EMA of the mean gate openness σ(z) per channel.
pub const OPENNESS_KEY: &str = "na_lora_openness";
/// The mask on B's rows.
pub const MASK_KEY: &str = "na_lora_mask";
/// The per-row step multipliers of B by class (a masked row does not step, whatever its class).
pub const STEP_SCALE_KEY: &str = "na_lora_step_scale";
/// `[EMA updates, mask updates]`.
pub const COUNTS_KEY: &str = "na_lora_counts";

/// The mutable part of the adapter (statistics, mask, step scales).
#[derive(Debug)]
struct GateState {
    /// EMA of mean |φ′(z)| per channel (the importance I).
    importance: Vec<f64>,
    /// EMA of mean σ(z) per channel.
    openness: Vec<f64>,
    /// EMA updates so far.
    ema_updates: usize,
    /// Mask on B's rows (all ones until the first mask update).
    mask: Vec<f64>,
    /// Step multiplier per row of B (all ones until the first mask update).
    step_scale: Vec<f64>,
    /// Mask updates so far.
    mask_updates: usize,
    /// The last training forward's (mean |φ′|, mean σ), folded in by `after_step`.
    pending: Option<(Vec<f64>, Vec<f64>)>,
}

impl GateState {
    fn new(channels: usize) -> Self {
        Self {
            importance: Vec::new(),
            openness: Vec::new(),
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
    valid_tokens: ValidTokens,
    gate: GateActivation,
    cfg: NaLoraConfig,
    state: Mutex<GateState>,
}

impl NaLoraLinear {
    /// Wraps A `[r, in]` and B `[out, r]` (f32).
    pub fn new(a: Var, b: Var, scale: f64, dropout: SeededDropout, training: TrainingFlag, gate: GateActivation, cfg: NaLoraConfig) -> Self {
        let channels = b.dim(0).expect("B is [out, r]");
        Self { a, b, scale, dropout, training, valid_tokens: ValidTokens::default(), gate, cfg, state: Mutex::new(GateState::new(channels)) }
    }

    /// Reads which positions are real tokens from `valid` (the set's), so that padding
    /// stays out of the statistics; without it every position counts.
    pub fn with_valid_tokens(self, valid: ValidTokens) -> Self {
        Self { valid_tokens: valid, ..self }
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
    /// (`[..., out]`) over its real tokens. A checkpointed block's recomputation sees the
    /// same `z` and overwrites the same values, so each step counts once. A batch of
    /// padding only records nothing.
    fn record(&self, z: &Tensor) -> Result<()> {
        let channels = z.dim(z.rank() - 1)?;
        let rows = z.elem_count() / channels.max(1);
        let valid = self.valid_tokens.get();
        if let Some(v) = &valid {
            if v.len() != rows {
                candle_core::bail!("NA-LoRA: the batch's valid-token mask has {} positions but the gate forward has {rows}", v.len());
            }
        }
        let flat = z.detach().to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?;
        let means = match self.gate {
            GateActivation::Silu => channel_means(&flat, channels, valid.as_deref()),
        };
        self.lock().pending = means;
        Ok(())
    }

    /// Folds the pending statistics into the EMAs; on a due step, recomputes the mask
    /// and the step classes. Public for tests that drive the schedule by hand.
    pub fn advance(&self, steps_done: usize) {
        let mut st = self.lock();
        if let Some((slope, openness)) = st.pending.take() {
            let first = st.ema_updates == 0;
            ema_update(&mut st.importance, &slope, self.cfg.ema, first);
            ema_update(&mut st.openness, &openness, self.cfg.ema, first);
            st.ema_updates += 1;
        }
        if st.ema_updates > 0 && self.cfg.mask_due(steps_done) {
            st.mask = mask_from_importance(&st.importance, &self.cfg);
            st.step_scale = st.openness.iter().map(|&o| step_scale(class_of(o, &self.cfg), &self.cfg)).collect();
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
            (OPENNESS_KEY.into(), vec1(&st.openness)?),
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
            IMPORTANCE_KEY | OPENNESS_KEY => {
                if !values.is_empty() {
                    check(channels)?;
                }
                if key == IMPORTANCE_KEY {
                    st.importance = values;
                } else {
                    st.openness = values;
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

    /// Each row's class factor, or 0 for a masked row: the hook then keeps the row as
    /// it was, so AdamW's momentum and weight decay cannot move it while it is masked
    /// (its gradient is already 0, as the forward uses m ⊙ B).
    fn step_scales(&self) -> Result<Vec<(Var, Tensor)>> {
        let st = self.lock();
        let scales: Vec<f64> = st.step_scale.iter().zip(&st.mask).map(|(&s, &m)| if m == 0.0 { 0.0 } else { s }).collect();
        drop(st);
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
