//! Errors of the adapters crate: one line each, naming the key, file and fix.

use std::path::PathBuf;

/// Result alias for this crate.
pub type Result<T> = std::result::Result<T, AdapterError>;

/// What can go wrong while building, loading or saving adapters.
#[derive(Debug, thiserror::Error)]
pub enum AdapterError {
    /// `adapter.method` names no registered method.
    #[error("adapter.method: unknown method `{name}` (known: {known})")]
    UnknownMethod { name: String, known: String },
    /// A target matched no linear layer of the model.
    #[error("adapter.targets: `{target}` matches no linear layer of the model (its linears end in: {available})")]
    UnknownTarget { target: String, available: String },
    /// A config value is out of range.
    #[error("adapter.{key}: {detail}")]
    BadConfig { key: String, detail: String },
    /// An adapter file is missing, unreadable or inconsistent.
    #[error("{file}: {detail}")]
    BadFile { file: PathBuf, detail: String },
    /// A tensor operation failed.
    #[error("tensor error: {0}")]
    Candle(#[from] candle_core::Error),
}

impl AdapterError {
    pub(crate) fn config(key: &str, detail: impl Into<String>) -> Self {
        AdapterError::BadConfig { key: key.into(), detail: detail.into() }
    }

    pub(crate) fn file(file: &std::path::Path, detail: impl Into<String>) -> Self {
        AdapterError::BadFile { file: file.to_path_buf(), detail: detail.into() }
    }
}
