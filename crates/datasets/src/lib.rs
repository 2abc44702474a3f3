//! loran-datasets: tasks (news-standfirst, mailing-list-topics, and the
//! hub-backed samsum and newsgroups20) as
//! prompt/target pairs, their prompt templates, tokenization with a loss mask
//! on the target, and batching. It knows nothing of candle models; the
//! runner feeds its batches to a model.
//!
//! The usual path: [`load_task`] → [`LoadedTask`] (examples in seeded
//! hash-based splits, with the data's sha256) → [`tokenize_for_training`] /
//! [`tokenize_prompt`] with the task's [`PromptTemplate`] (after
//! [`check_limits`]) → [`BatchIter`] for training. Scoring the generated
//! answers (label parsing included) belongs to the task kind's scorer in
//! `loran-metrics`, found by [`TaskKind::name`].

pub mod batching;
pub mod error;
#[cfg(any(test, feature = "test-support"))]
pub mod fixtures;
pub mod hashing;
pub mod hub;
pub mod hub_options;
pub mod limits;
pub mod loaders;
pub mod mail;
pub mod options;
pub mod prompt;
pub mod registry;
pub mod split;
pub mod table;
pub mod task;
pub mod text;
pub mod tokenize;

pub use batching::{batches_in_order, collate, Batch, BatchIter};
pub use error::DatasetError;
pub use limits::check_limits;
pub use options::{
    MailingListOptions, NewsStandfirstOptions, Newsgroups20Options, SamsumOptions, TaskOptions,
};
pub use prompt::{PromptParts, PromptStyle, PromptTemplate};
pub use registry::{find_task, load_task, task_names, TaskInfo, TASKS};
pub use split::{assign_split, split_examples, split_unit, Split};
pub use task::{label_counts, mean_input_chars, Example, FilterStep, LoadedTask, Splits, TaskKind};
pub use tokenize::{tokenize_for_training, tokenize_prompt, TokenLimits, TokenizedExample};
