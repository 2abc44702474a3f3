//! Errors of the dataset layer. Each message is one line that names the task,
//! file or setting involved and says how to fix it.

use std::path::{Path, PathBuf};

/// Everything that can go wrong while loading, rendering or tokenizing a task.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    /// The task name is not in the registry.
    #[error("unknown task `{name}`; known tasks: {known}")]
    UnknownTask {
        /// The name asked for.
        name: String,
        /// The registered names, comma-separated.
        known: String,
    },
    /// The asset holding the data is missing (its message says to run `just assets`);
    /// boxed to keep the error small.
    #[error(transparent)]
    Asset(Box<loran_assets::AssetError>),
    /// Reading a file or folder failed.
    #[error("{path}: {source}; run `just assets` if the file is missing")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A zip archive could not be read.
    #[error("{path}: cannot read the archive ({detail}); delete its package folder and run `just assets` again")]
    Archive {
        /// The archive.
        path: PathBuf,
        /// What went wrong.
        detail: String,
    },
    /// A CSV file could not be parsed.
    #[error("{path}: cannot parse the CSV ({detail}); delete its package folder and run `just assets` again")]
    Csv {
        /// The file (for a member of an archive: `archive!member`).
        path: String,
        /// What went wrong.
        detail: String,
    },
    /// A CSV file lacks a column the loader needs.
    #[error(
        "{path}: column `{column}` is missing (columns: {found}); this is not the expected file"
    )]
    MissingColumn {
        /// The file.
        path: String,
        /// The missing column.
        column: String,
        /// The columns that are there.
        found: String,
    },
    /// A JSON file could not be parsed.
    #[error(
        "{path}: invalid JSON ({detail}); delete its package folder and run `just assets` again"
    )]
    Json {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        detail: String,
    },
    /// A file of a hub dataset is neither in the hub cache nor downloadable.
    #[error(transparent)]
    HubFile(Box<HubFileMissing>),
    /// A data file (CSV, JSON, JSON lines, parquet) cannot be read.
    #[error("{path}: cannot read the data file ({detail}); fix the file, or delete it and fetch it again")]
    DataFile {
        /// The file.
        path: String,
        /// What went wrong (with the record number when it is one record).
        detail: String,
    },
    /// A data file holds no records (nothing, a CSV header alone, `[]`).
    #[error(
        "{path}: no records (an empty file, or a header alone); task `{task}` reads its {split} split from it: \
         fill it, or set `data.{task}.{split}_file` to another file{carve}"
    )]
    EmptyFile {
        /// The task.
        task: String,
        /// The file.
        path: String,
        /// The split read from it: `train`, `validation` or `test`.
        split: String,
        /// For validation and test: how to carve the split from train instead.
        carve: String,
    },
    /// A JSON record holds a value of the wrong type in a field the task reads.
    #[error(
        "{path} (record {record}): field `{field}` is {found}, but task `{task}` needs {expected} there; \
         fix the record"
    )]
    FieldType {
        /// The task.
        task: String,
        /// The file.
        path: String,
        /// The record number, from 1 (blank lines of JSON lines are not counted).
        record: usize,
        /// The field.
        field: String,
        /// What the value is, e.g. `a number`.
        found: &'static str,
        /// What the field must hold, e.g. `a string (or null)`.
        expected: &'static str,
    },
    /// A data file lacks a field (column or JSON key) the task reads.
    #[error(
        "{path}: field `{field}` is missing (it has: {found}); task `{task}` reads the fields {needed}, \
         so this is not one of its files; check `data.{task}.path` and the `*_file` options"
    )]
    MissingField {
        /// The task.
        task: String,
        /// The file (for JSON lines, with the record number).
        path: String,
        /// The missing field.
        field: String,
        /// The fields that are there.
        found: String,
        /// The fields the task reads.
        needed: String,
    },
    /// A data file has a format the loader cannot read.
    #[error("{path}: {detail}")]
    FileFormat {
        /// The file.
        path: String,
        /// What is wrong and how to fix it.
        detail: String,
    },
    /// A local data path of a hub-backed task does not hold what it should.
    #[error(
        "task `{task}`: {detail}; fix `data.{task}.path`, or unset it to read the hub dataset"
    )]
    LocalData {
        /// The task.
        task: String,
        /// What is missing or wrong, naming the path.
        detail: String,
    },
    /// Filtering left no examples.
    #[error("task `{task}`: no examples left in {origin} after the filter `{filter}`; check the data and the task options")]
    EmptyDataset {
        /// The task.
        task: String,
        /// The file or folder read.
        origin: String,
        /// The filter that removed the last examples.
        filter: String,
    },
    /// The seeded split left the train split empty (every example went to validation or test).
    #[error(
        "task `{task}`: the train split is empty: {detail}; add data, or lower `data.validation_fraction` \
         and `data.test_fraction`"
    )]
    EmptySplit {
        /// The task.
        task: String,
        /// Where the examples went, naming the data read and the split options.
        detail: String,
    },
    /// A classification example whose target is not one of the task's labels.
    #[error(
        "task `{task}`: example {example} has the label {label:?}, which is not one of the task's \
         labels ({labels}); fix the data, or the loader's label mapping"
    )]
    UnknownLabel {
        /// The task.
        task: String,
        /// The example's id and the data read: `` `<id>` of <origin> ``.
        example: String,
        /// The label found.
        label: String,
        /// The valid labels, comma-separated.
        labels: String,
    },
    /// The asset catalog of `crates/assets` lacks a package a loader needs.
    #[error("asset `{key}` is not in the catalog of crates/assets; add it to crates/assets/src/catalog.rs")]
    NotInCatalog {
        /// The asset key.
        key: String,
    },
    /// The task options are inconsistent.
    #[error("invalid task options: {0}")]
    Options(String),
    /// The tokenizer failed.
    #[error("tokenizer failed on {what}: {detail}")]
    Tokenizer {
        /// What was being tokenized.
        what: String,
        /// The tokenizer's message.
        detail: String,
    },
    /// The fixed prompt tokens do not fit the token limits.
    #[error("token limits too small: {0}")]
    TokenBudget(String),
    /// The ChatML prompt style needs a special token the tokenizer does not have.
    #[error("prompt style `chatml` needs the special token `{token}`, which the tokenizer lacks; use `prompt_style: plain` or a ChatML tokenizer")]
    MissingSpecialToken {
        /// The token text.
        token: String,
    },
}

/// A file of a hub dataset that is neither in the hub cache nor downloadable
/// (boxed in [`DatasetError::HubFile`] to keep the error small).
#[derive(Debug, thiserror::Error)]
#[error(
    "task `{task}`: `{file}` of hub dataset `{repo}` (revision `{revision}`) is not in the hub cache \
     (looked in {cache}) and {why}; run once with network access, or set HF_HOME or \
     `data.{task}.cache_dir` to a hub cache that holds it, or point `data.{task}.path` at local files"
)]
pub struct HubFileMissing {
    /// The task.
    pub task: String,
    /// The dataset repo, `owner/name`.
    pub repo: String,
    /// The revision asked for.
    pub revision: String,
    /// The file inside the repo.
    pub file: String,
    /// The repo's folder in the hub cache.
    pub cache: PathBuf,
    /// Why it was not downloaded.
    pub why: String,
}

impl From<loran_assets::AssetError> for DatasetError {
    fn from(e: loran_assets::AssetError) -> Self {
        DatasetError::Asset(Box::new(e))
    }
}

impl DatasetError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        DatasetError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}
