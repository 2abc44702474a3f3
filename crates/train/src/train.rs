//! The training loop: AdamW, warm-up + schedule, global-norm clipping, NaN guard.

use crate::config::TrainConfig;
use crate::loss::target_loss;
use crate::prefix::PrefixCache;
use crate::record::StepRecord;
use crate::schedule::lr_at;
use anyhow::{Context, Result};
use candle_core::backprop::GradStore;
use candle_core::Var;
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use loran_adapters::{AdapterSet, StepHook, ValidTokens};
use loran_datasets::{BatchIter, TokenizedExample};
use loran_model::{Kernels, Llama};
use std::time::Instant;

/// How training ended.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainOutcome {
    /// Optimizer steps completed.
    pub steps: usize,
    /// Mean loss of the last ≤10 steps (NaN when no step ran).
    pub final_loss: f64,
    /// Target tokens scored over all steps.
    pub target_tokens: u64,
    /// Set when the loss became NaN or infinite: the step and the value.
    pub diverged: Option<String>,
}

/// Global L2 norm of the gradients of `vars` (missing gradients count as zero).
pub fn grad_norm(grads: &GradStore, vars: &[Var]) -> Result<f64> {
    let mut sum = 0.0f64;
    for v in vars {
        if let Some(g) = grads.get(v.as_tensor()) {
            sum += g.sqr()?.sum_all()?.to_dtype(candle_core::DType::F64)?.to_scalar::<f64>()?;
        }
    }
    Ok(sum.sqrt())
}

/// Scales every gradient by `max_norm / norm` when `norm > max_norm` (PyTorch's `clip_grad_norm_`).
pub fn clip_grads(grads: &mut GradStore, vars: &[Var], norm: f64, max_norm: f64) -> Result<()> {
    if max_norm <= 0.0 || norm <= max_norm {
        return Ok(());
    }
    let factor = max_norm / (norm + 1e-6);
    for v in vars {
        if let Some(g) = grads.remove(v.as_tensor()) {
            grads.insert(v.as_tensor(), (g * factor)?);
        }
    }
    Ok(())
}

/// One optimizer step's figures.
#[derive(Debug, Clone, PartialEq)]
pub struct StepFigures {
    /// Mean loss over the step's target tokens.
    pub loss: f64,
    /// Target tokens scored.
    pub tokens: usize,
    /// Global gradient norm before clipping.
    pub grad_norm: f64,
    /// Learning rate used.
    pub lr: f64,
    /// The frozen base's loss on the same batch, when the job has a base and a prefix
    /// cache (see [`PrefixCache::base_loss`]).
    pub base_loss: Option<f64>,
}

/// What one training run works on: the model with its adapters attached, the examples,
/// the settings, and where batches and padding come from. Built with [`TrainJob::new`]
/// (seed 0, pad id 0, no prefix cache, no base) and the setters.
pub struct TrainJob<'a> {
    model: &'a Llama,
    set: &'a AdapterSet,
    examples: Vec<TokenizedExample>,
    cfg: &'a TrainConfig,
    seed: u64,
    pad_id: u32,
    prefix: Option<&'a PrefixCache>,
    base: Option<&'a Llama>,
}

impl<'a> TrainJob<'a> {
    /// Training of the adapters of `set` (attached to `model`) on `examples` as `cfg` says.
    pub fn new(model: &'a Llama, set: &'a AdapterSet, examples: Vec<TokenizedExample>, cfg: &'a TrainConfig) -> Self {
        Self { model, set, examples, cfg, seed: 0, pad_id: 0, prefix: None, base: None }
    }

    /// The seed of the batch order.
    pub fn seed(self, seed: u64) -> Self {
        Self { seed, ..self }
    }

    /// The token that pads a batch's shorter examples.
    pub fn pad_id(self, pad_id: u32) -> Self {
        Self { pad_id, ..self }
    }

    /// The cache of the frozen blocks below the lowest adapter (see [`PrefixCache`]).
    pub fn prefix(self, prefix: Option<&'a PrefixCache>) -> Self {
        Self { prefix, ..self }
    }

    /// The model without adapters, whose loss on each batch is recorded beside the
    /// training loss (needs the prefix cache, which keeps it per example).
    pub fn base(self, base: Option<&'a Llama>) -> Self {
        Self { base, ..self }
    }
}

/// What one optimizer step did.
#[derive(Debug, Clone, PartialEq)]
pub enum StepOutcome {
    /// The parameters moved; the step's figures.
    Stepped(StepFigures),
    /// The loss or the gradient norm was not finite, so the parameters were left
    /// untouched; why, naming the step.
    Diverged(String),
}

/// A training run in progress: the optimizer, the batch stream and the step count.
/// [`train`] drives one to the end; benchmarks step two of them in turn.
pub struct Trainer<'a> {
    model: Llama,
    hook: StepHook,
    valid: ValidTokens,
    vars: Vec<Var>,
    opt: AdamW,
    batches: BatchIter,
    prefix: Option<(&'a PrefixCache, Vec<TokenizedExample>)>,
    base: Option<&'a Llama>,
    cfg: TrainConfig,
    step: usize,
}

impl<'a> Trainer<'a> {
    /// A trainer for `job`; batches are drawn in an order fixed by the job's seed.
    pub fn new(job: TrainJob<'a>) -> Result<Self> {
        let TrainJob { model, set, examples, cfg, seed, pad_id, prefix, base } = job;
        let mut model = model.clone();
        model.set_kernels(Kernels::Differentiable);
        model.set_checkpointing(cfg.gradient_checkpointing);
        let vars = set.trainable_vars();
        let params = ParamsAdamW { lr: lr_at(cfg, 0), beta1: cfg.beta1, beta2: cfg.beta2, eps: cfg.eps, weight_decay: cfg.weight_decay };
        let opt = AdamW::new(vars.clone(), params)?;
        let prefix = prefix.map(|cache| (cache, examples.clone()));
        let batches = BatchIter::new(examples, cfg.batch_size, pad_id, seed);
        set.set_training(true);
        Ok(Self { model, hook: set.step_hook(), valid: set.valid_tokens(), vars, opt, batches, prefix, base, cfg: cfg.clone(), step: 0 })
    }

    /// Steps taken so far.
    pub fn steps_done(&self) -> usize {
        self.step
    }

    /// One optimizer step, or why it diverged.
    pub fn step(&mut self) -> Result<StepOutcome> {
        let batch = self.batches.next().context("the training split is empty")?;
        // Adapters that average over positions (NA-LoRA's gate statistics) skip the padding.
        self.valid.set(Some(batch.valid_tokens()));
        let (loss, tokens) = target_loss(&self.model, &batch, self.prefix.as_ref().map(|(c, e)| (*c, e.as_slice())))?;
        let mut loss_value = loss.to_scalar::<f32>()? as f64;
        if let Some(injected) = crate::faults::value("train-loss") {
            loss_value = injected.parse().with_context(|| format!("FAILPOINTS: train-loss=return({injected}) is not a number"))?;
        }
        if !loss_value.is_finite() {
            return Ok(StepOutcome::Diverged(format!("loss is {loss_value} at step {}", self.step + 1)));
        }
        let mut grads = loss.backward()?;
        // Checkpointed blocks report their parameters' gradients on the side.
        let mut side = self.model.take_checkpoint_grads();
        for var in &self.vars {
            if let Some(g) = side.remove(&var.as_tensor().id()) {
                let sum = match grads.remove(var.as_tensor()) {
                    Some(old) => (old + g)?,
                    None => g,
                };
                grads.insert(var.as_tensor(), sum);
            }
        }
        let base_loss = match (self.base, &self.prefix) {
            (Some(base), Some((cache, examples))) => Some(cache.base_loss(base, &batch, examples)?),
            _ => None,
        };
        let norm = grad_norm(&grads, &self.vars)?;
        if !norm.is_finite() {
            return Ok(StepOutcome::Diverged(format!("gradient norm is {norm} at step {}", self.step + 1)));
        }
        clip_grads(&mut grads, &self.vars, norm, self.cfg.max_grad_norm)?;
        let lr = lr_at(&self.cfg, self.step);
        self.opt.set_learning_rate(lr);
        // The adapters' rules around the step (e.g. NA-LoRA's step scaling) run inside the hook.
        self.hook.run(self.step + 1, || self.opt.step(&grads))?;
        self.step += 1;
        Ok(StepOutcome::Stepped(StepFigures { loss: loss_value, tokens, grad_norm: norm, lr, base_loss }))
    }
}

/// Runs `job` for its `cfg.steps` steps; `on_step` receives one record per step (for
/// `metrics.jsonl` and progress).
pub fn train(job: TrainJob, on_step: &mut dyn FnMut(&StepRecord) -> Result<()>) -> Result<TrainOutcome> {
    let mut outcome = TrainOutcome { steps: 0, final_loss: f64::NAN, target_tokens: 0, diverged: None };
    let (cfg, set) = (job.cfg, job.set);
    if cfg.steps == 0 || set.is_empty() {
        return Ok(outcome);
    }
    let mut trainer = Trainer::new(job)?;
    let start = Instant::now();
    let mut recent: Vec<f64> = Vec::new();
    for step in 0..cfg.steps {
        crate::stop::check(step, cfg.steps)?;
        let figures = match trainer.step()? {
            StepOutcome::Stepped(f) => f,
            StepOutcome::Diverged(why) => {
                outcome.diverged = Some(why);
                break;
            }
        };
        outcome.steps = step + 1;
        outcome.target_tokens += figures.tokens as u64;
        recent.push(figures.loss);
        if recent.len() > 10 {
            recent.remove(0);
        }
        on_step(&StepRecord {
            step: step + 1,
            loss: figures.loss,
            lr: figures.lr,
            grad_norm: figures.grad_norm,
            tokens: figures.tokens as u64,
            elapsed_s: start.elapsed().as_secs_f64(),
            base_loss: figures.base_loss,
        })?;
        crate::faults::point("train-step")?;
    }
    set.set_training(false);
    set.valid_tokens().set(None);
    if !recent.is_empty() {
        outcome.final_loss = recent.iter().sum::<f64>() / recent.len() as f64;
    }
    Ok(outcome)
}
