//! Models, tasks and frozen-prefix caches loaded once and shared by the cells of a grid,
//! under typed keys: two cells share an entry exactly when every field of its key agrees.

use crate::config::RunConfig;
use crate::prefix::{PrefixCache, PromptPrefixes};
use anyhow::{Context, Result};
use loran_datasets::{load_task, LoadedTask, TaskOptions};
use loran_model::{ComputeDtype, LoadOptions, LoadedModel, QuantMode};
use std::collections::HashMap;
use std::sync::Arc;

/// A base model as stored for training: its name and the storage of its linears.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct ModelKey {
    name: String,
    quant: QuantMode,
}

/// A task with its data options. The options hold floats, so they are compared by their
/// canonical JSON, which is also how the config hash sees them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct TaskKey {
    name: String,
    options: String,
}

impl TaskKey {
    fn new(name: &str, options: &TaskOptions) -> Result<Self> {
        Ok(Self { name: name.to_string(), options: serde_json::to_string(options)? })
    }
}

/// Which examples a frozen-prefix cache holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Split {
    /// The training examples, teacher-forced.
    Train,
    /// The scored test examples, teacher-forced (the test loss).
    Test,
    /// The scored validation examples, teacher-forced (the validation loss).
    Validation,
    /// The test prompts that generation starts from.
    Prompts,
}

/// What the frozen-prefix caches of one split share besides the cut: the model, its
/// storage and compute dtype, the task and its data, and the token limits.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct PrefixKey {
    split: Split,
    model: ModelKey,
    compute: ComputeDtype,
    task: TaskKey,
    max_len: usize,
    max_target_tokens: usize,
}

impl PrefixKey {
    fn new(cfg: &RunConfig, split: Split) -> Result<Self> {
        let compute = if split == Split::Train { cfg.train.compute_dtype } else { cfg.eval_compute_dtype() };
        Ok(Self {
            split,
            model: ModelKey { name: cfg.model.clone(), quant: cfg.quant },
            compute,
            task: TaskKey::new(&cfg.task, &cfg.data)?,
            max_len: cfg.train.max_len,
            max_target_tokens: cfg.train.max_target_tokens,
        })
    }
}

/// What evaluation-prompt caches share besides the cut: the prompts' prefix key plus the
/// examples scored and how they are batched.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct PromptKey {
    prefix: PrefixKey,
    max_examples: usize,
    batch_size: usize,
}

impl PromptKey {
    fn new(cfg: &RunConfig) -> Result<Self> {
        Ok(Self { prefix: PrefixKey::new(cfg, Split::Prompts)?, max_examples: cfg.eval.max_examples, batch_size: cfg.eval.batch_size })
    }
}

/// Models and tasks loaded once and shared by the cells of a grid.
pub struct Resources {
    store: loran_assets::Store,
    models: HashMap<ModelKey, Arc<LoadedModel>>,
    tasks: HashMap<TaskKey, Arc<LoadedTask>>,
    prefixes: HashMap<(PrefixKey, usize), Arc<PrefixCache>>,
    prompt_prefixes: HashMap<(PromptKey, usize), Arc<PromptPrefixes>>,
}

/// The largest cut cached in `map` under `key`: where a cell without adapters can start
/// (every block of the base model is frozen, so any cut gives the same states).
fn largest_cut<K: PartialEq, T>(map: &HashMap<(K, usize), T>, key: &K) -> Option<usize> {
    map.keys().filter(|(k, _)| k == key).map(|(_, cut)| *cut).max()
}

impl Resources {
    /// Empty caches over the given asset store.
    pub fn new(store: loran_assets::Store) -> Self {
        Self { store, models: HashMap::new(), tasks: HashMap::new(), prefixes: HashMap::new(), prompt_prefixes: HashMap::new() }
    }

    /// The model `name` with its base linears stored as `quant` (loaded and quantized once).
    pub fn model(&mut self, name: &str, quant: QuantMode) -> Result<Arc<LoadedModel>> {
        let key = ModelKey { name: name.to_string(), quant };
        if let Some(m) = self.models.get(&key) {
            return Ok(m.clone());
        }
        let dense_key = ModelKey { quant: QuantMode::None, ..key.clone() };
        let dense = match self.models.get(&dense_key) {
            Some(m) => m.clone(),
            None => {
                let source = loran_model::resolve(name, &self.store)?;
                let loaded = Arc::new(loran_model::load(&source, &LoadOptions::default()).with_context(|| format!("loading model `{name}`"))?);
                self.models.insert(dense_key, loaded.clone());
                loaded
            }
        };
        if quant == QuantMode::None {
            return Ok(dense);
        }
        let mut model = dense.model.clone();
        model.quantize_for_qlora(quant).with_context(|| format!("quantizing model `{name}` (key `quant`)"))?;
        let quantized = Arc::new(LoadedModel { model, tokenizer: dense.tokenizer.clone(), source: dense.source.clone() });
        self.models.insert(key, quantized.clone());
        Ok(quantized)
    }

    /// The task `name` with data options `opts` (loaded once).
    pub(crate) fn task(&mut self, name: &str, opts: &TaskOptions) -> Result<Arc<LoadedTask>> {
        let key = TaskKey::new(name, opts)?;
        if let Some(t) = self.tasks.get(&key) {
            return Ok(t.clone());
        }
        let task = Arc::new(load_task(name, &self.store, opts)?);
        self.tasks.insert(key, task.clone());
        Ok(task)
    }

    /// The prefix cache shared by cells with the same model, data, token limits and cut,
    /// for the examples of `split`.
    pub(crate) fn prefix(&mut self, cfg: &RunConfig, cut: usize, split: Split) -> Result<Arc<PrefixCache>> {
        let key = (PrefixKey::new(cfg, split)?, cut);
        Ok(self.prefixes.entry(key).or_insert_with(|| Arc::new(PrefixCache::new(cut))).clone())
    }

    /// The cut a cell without adapters uses for `split`: the largest one already cached
    /// for its model and data (so zero-shot cells reuse what adapted cells computed), or
    /// `layers` (every block) when nothing is cached yet.
    pub(crate) fn base_cut(&self, cfg: &RunConfig, split: Split, layers: usize) -> Result<usize> {
        Ok(largest_cut(&self.prefixes, &PrefixKey::new(cfg, split)?).unwrap_or(layers))
    }

    /// The evaluation-prompt prefixes shared by cells with the same model, data, prompt
    /// limits, evaluation batches and cut.
    pub(crate) fn prompt_prefixes(&mut self, cfg: &RunConfig, cut: usize) -> Result<Arc<PromptPrefixes>> {
        let key = (PromptKey::new(cfg)?, cut);
        Ok(self.prompt_prefixes.entry(key).or_insert_with(|| Arc::new(PromptPrefixes::new(cut))).clone())
    }

    /// The evaluation-prompt cut already cached for a cell without adapters, if any.
    pub(crate) fn base_prompt_cut(&self, cfg: &RunConfig) -> Result<Option<usize>> {
        Ok(largest_cut(&self.prompt_prefixes, &PromptKey::new(cfg)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> RunConfig {
        RunConfig::default()
    }

    #[test]
    fn prefix_keys_differ_by_split_compute_dtype_and_token_limits_only_where_they_should() {
        let a = cfg();
        let same = cfg();
        assert_eq!(PrefixKey::new(&a, Split::Train).unwrap(), PrefixKey::new(&same, Split::Train).unwrap());
        assert_ne!(PrefixKey::new(&a, Split::Train).unwrap(), PrefixKey::new(&a, Split::Test).unwrap());
        let mut bf16 = cfg();
        bf16.train.compute_dtype = ComputeDtype::Bf16;
        assert_ne!(PrefixKey::new(&a, Split::Train).unwrap(), PrefixKey::new(&bf16, Split::Train).unwrap());
        let mut longer = cfg();
        longer.train.max_len += 1;
        assert_ne!(PrefixKey::new(&a, Split::Test).unwrap(), PrefixKey::new(&longer, Split::Test).unwrap());
        // The adapter and the seed do not touch the frozen prefix: cells share it.
        let mut other_seed = cfg();
        other_seed.seed += 1;
        other_seed.adapter.r = 4;
        assert_eq!(PrefixKey::new(&a, Split::Train).unwrap(), PrefixKey::new(&other_seed, Split::Train).unwrap());
    }

    #[test]
    fn the_largest_cut_is_found_per_key() {
        let a = PrefixKey::new(&cfg(), Split::Test).unwrap();
        let b = PrefixKey::new(&cfg(), Split::Train).unwrap();
        let mut map: HashMap<(PrefixKey, usize), ()> = HashMap::new();
        for (k, cut) in [(&a, 3), (&a, 7), (&b, 9)] {
            map.insert((k.clone(), cut), ());
        }
        assert_eq!(largest_cut(&map, &a), Some(7));
        assert_eq!(largest_cut(&map, &b), Some(9));
        let c = PromptKey::new(&cfg()).unwrap();
        let empty: HashMap<(PromptKey, usize), ()> = HashMap::new();
        assert_eq!(largest_cut(&empty, &c), None);
    }
}
