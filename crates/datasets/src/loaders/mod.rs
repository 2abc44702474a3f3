//! Loaders of the offline stand-in tasks, and what they share: the filter
//! log and the final split/cap step.

pub mod mailing_list_topics;
pub mod news_standfirst;

use crate::error::DatasetError;
use crate::options::TaskOptions;
use crate::prompt::PromptTemplate;
use crate::split::split_examples;
use crate::task::{Example, FilterStep, LoadedTask, TaskKind};
use crate::text::truncate_chars;

/// Records each filter's survivors and fails as soon as one leaves nothing.
#[derive(Debug, Clone)]
pub(crate) struct FilterLog {
    task: String,
    origin: String,
    steps: Vec<FilterStep>,
}

impl FilterLog {
    pub(crate) fn new(task: &str, origin: &str) -> Self {
        Self {
            task: task.to_string(),
            origin: origin.to_string(),
            steps: Vec::new(),
        }
    }

    /// Notes that `kept` examples passed `filter`; an error when none did.
    pub(crate) fn record(&mut self, filter: &str, kept: usize) -> Result<(), DatasetError> {
        self.steps.push(FilterStep {
            filter: filter.to_string(),
            kept,
        });
        if kept == 0 {
            return Err(DatasetError::EmptyDataset {
                task: self.task.clone(),
                origin: self.origin.clone(),
                filter: filter.to_string(),
            });
        }
        Ok(())
    }

    /// Keeps the items passing `keep`, and records the step.
    pub(crate) fn retain<T>(
        &mut self,
        items: &mut Vec<T>,
        filter: &str,
        keep: impl FnMut(&T) -> bool,
    ) -> Result<(), DatasetError> {
        items.retain(keep);
        self.record(filter, items.len())
    }
}

/// What a loader hands over once its examples are ready.
pub(crate) struct Loaded {
    pub name: &'static str,
    pub kind: TaskKind,
    pub examples: Vec<Example>,
    pub data_sha256: String,
    pub source: String,
    pub template: PromptTemplate,
    pub log: FilterLog,
}

/// Caps the inputs, splits, caps the splits.
pub(crate) fn finish(loaded: Loaded, opts: &TaskOptions) -> Result<LoadedTask, DatasetError> {
    let Loaded {
        name,
        kind,
        mut examples,
        data_sha256,
        source,
        template,
        log,
    } = loaded;
    for ex in &mut examples {
        ex.input = truncate_chars(&ex.input, opts.max_input_chars);
    }
    let mut splits = split_examples(
        examples,
        opts.split_seed,
        opts.validation_fraction,
        opts.test_fraction,
    );
    let cap = |v: &mut Vec<Example>, max: Option<usize>| {
        if let Some(max) = max {
            v.truncate(max);
        }
    };
    cap(&mut splits.train, opts.max_train_examples);
    cap(&mut splits.validation, opts.max_validation_examples);
    cap(&mut splits.test, opts.max_test_examples);
    if splits.train.is_empty() {
        return Err(DatasetError::EmptyDataset {
            task: name.to_string(),
            origin: log.origin.clone(),
            filter: format!(
                "the train split (seed {}, validation {}, test {})",
                opts.split_seed, opts.validation_fraction, opts.test_fraction
            ),
        });
    }
    Ok(LoadedTask {
        name: name.to_string(),
        kind,
        splits,
        data_sha256,
        source,
        template,
        filters: log.steps,
    })
}
