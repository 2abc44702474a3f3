//! Loaders of the offline stand-in tasks and of the hub-backed paper tasks,
//! and what they share: the filter log and the final split/cap step.

pub mod bydate;
pub mod mailing_list_topics;
pub mod news_standfirst;
pub mod newsgroups20;
pub mod samsum;
pub mod split_files;

use crate::error::DatasetError;
use crate::options::TaskOptions;
use crate::prompt::PromptTemplate;
use crate::split::split_examples;
use crate::task::{Example, FilterStep, LoadedTask, Splits, TaskKind};
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

/// A loader's examples: one pool to split by seeded hash, or the dataset's
/// own splits, where a split without its own file is carved from train.
pub(crate) enum Pool {
    /// Split everything by hash with the task options' fractions.
    Pooled(Vec<Example>),
    /// The dataset's own splits.
    Presplit {
        train: Vec<Example>,
        validation: Option<Vec<Example>>,
        test: Option<Vec<Example>>,
    },
}

impl From<Vec<Example>> for Pool {
    fn from(examples: Vec<Example>) -> Self {
        Pool::Pooled(examples)
    }
}

impl Pool {
    /// Every example, whichever split it is in.
    fn examples_mut(&mut self) -> impl Iterator<Item = &mut Example> {
        let (a, b, c): (
            &mut Vec<Example>,
            Option<&mut Vec<Example>>,
            Option<&mut Vec<Example>>,
        ) = match self {
            Pool::Pooled(all) => (all, None, None),
            Pool::Presplit {
                train,
                validation,
                test,
            } => (train, validation.as_mut(), test.as_mut()),
        };
        a.iter_mut()
            .chain(b.into_iter().flatten())
            .chain(c.into_iter().flatten())
    }

    /// The splits: the pool split by hash, or the given splits in hash order
    /// (a missing validation or test split is carved from train by hash).
    fn split(self, seed: u64, validation_fraction: f64, test_fraction: f64) -> Splits {
        match self {
            Pool::Pooled(all) => split_examples(all, seed, validation_fraction, test_fraction),
            Pool::Presplit {
                train,
                validation,
                test,
            } => {
                let carve_validation = if validation.is_none() {
                    validation_fraction
                } else {
                    0.0
                };
                let carve_test = if test.is_none() { test_fraction } else { 0.0 };
                let carved = split_examples(train, seed, carve_validation, carve_test);
                let in_hash_order = |v: Vec<Example>| split_examples(v, seed, 0.0, 0.0).train;
                Splits {
                    train: carved.train,
                    validation: validation.map(in_hash_order).unwrap_or(carved.validation),
                    test: test.map(in_hash_order).unwrap_or(carved.test),
                }
            }
        }
    }
}

/// What a loader hands over once its examples are ready.
pub(crate) struct Loaded {
    pub name: &'static str,
    pub kind: TaskKind,
    pub examples: Pool,
    pub data_sha256: String,
    pub source: String,
    pub template: PromptTemplate,
    pub log: FilterLog,
}

/// Caps the inputs, splits, caps the splits. Errors: a classification
/// example whose label is not one of the task's labels
/// ([`DatasetError::UnknownLabel`]), and an empty train split
/// ([`DatasetError::EmptySplit`]). Empty validation and test splits are
/// allowed (see [`LoadedTask::split_warnings`]).
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
    for ex in examples.examples_mut() {
        if let Some(labels) = kind.labels() {
            if !labels.contains(&ex.target) {
                return Err(DatasetError::UnknownLabel {
                    task: name.to_string(),
                    example: format!("`{}` of {}", ex.id, log.origin),
                    label: ex.target.clone(),
                    labels: labels.join(", "),
                });
            }
        }
        ex.input = truncate_chars(&ex.input, opts.max_input_chars);
    }
    // Caps are positive for train (`TaskOptions::validate`), so only the
    // split itself can leave train empty.
    let mut splits = examples.split(
        opts.split_seed,
        opts.validation_fraction,
        opts.test_fraction,
    );
    if splits.train.is_empty() {
        return Err(DatasetError::EmptySplit {
            task: name.to_string(),
            detail: format!(
                "the {} examples of {} all went to validation ({}) or test ({}) \
                 (`data.split_seed` {}, `data.validation_fraction` {}, `data.test_fraction` {})",
                splits.len(),
                log.origin,
                splits.validation.len(),
                splits.test.len(),
                opts.split_seed,
                opts.validation_fraction,
                opts.test_fraction
            ),
        });
    }
    let cap = |v: &mut Vec<Example>, max: Option<usize>| {
        if let Some(max) = max {
            v.truncate(max);
        }
    };
    cap(&mut splits.train, opts.max_train_examples);
    cap(&mut splits.validation, opts.max_validation_examples);
    cap(&mut splits.test, opts.max_test_examples);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prompt::PromptStyle;

    fn loaded(targets: &[&str]) -> Loaded {
        let labels: Vec<String> = ["fork", "ilug"].iter().map(|s| s.to_string()).collect();
        let examples: Vec<Example> = targets
            .iter()
            .enumerate()
            .map(|(i, t)| Example {
                id: format!("row-{i}"),
                input: format!("text {i}"),
                target: t.to_string(),
            })
            .collect();
        Loaded {
            name: "topics",
            kind: TaskKind::Classification {
                labels: labels.clone(),
            },
            examples: examples.into(),
            data_sha256: String::new(),
            source: "src".into(),
            template: PromptTemplate::classification(PromptStyle::Plain, "Which?", "Text", &labels),
            log: FilterLog::new("topics", "data/topics.jsonl"),
        }
    }

    #[test]
    fn a_label_outside_the_task_labels_is_an_error_naming_example_and_labels() {
        let opts = TaskOptions::default();
        let task = finish(loaded(&["fork", "ilug", "fork"]), &opts).unwrap();
        assert_eq!(task.splits.len(), 3);
        let err = finish(loaded(&["fork", "Fork", "ilug"]), &opts)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "task `topics`: example `row-1` of data/topics.jsonl has the label \"Fork\", which is not one of \
             the task's labels (fork, ilug); fix the data, or the loader's label mapping"
        );
    }
}
