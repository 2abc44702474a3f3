//! Writing adapter folders: atomic file replacement and the weights file, shared by
//! the PEFT and MLORA layouts.

use crate::error::{AdapterError, Result};
use candle_core::{Tensor, Var};
use std::collections::HashMap;
use std::path::Path;

/// Writes `bytes` to `path` through a temporary file and a rename.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).map_err(|e| AdapterError::file(&tmp, e.to_string()))?;
    std::fs::rename(&tmp, path).map_err(|e| AdapterError::file(path, e.to_string()))
}

/// Writes `params` as safetensors at `path` (atomically), each key prefixed by `prefix`.
pub(crate) fn write_weights(path: &Path, prefix: &str, params: Vec<(String, Var)>) -> Result<()> {
    write_tensors(path, prefix, params.into_iter().map(|(name, var)| (name, var.as_tensor().clone())).collect())
}

/// Writes `tensors` as safetensors at `path` (atomically), each key prefixed by `prefix`.
pub(crate) fn write_tensors(path: &Path, prefix: &str, tensors: Vec<(String, Tensor)>) -> Result<()> {
    let tensors: HashMap<String, Tensor> = tensors.into_iter().map(|(name, t)| (format!("{prefix}{name}"), t)).collect();
    let tmp = path.with_extension("safetensors.tmp");
    candle_core::safetensors::save(&tensors, &tmp).map_err(|e| AdapterError::file(&tmp, e.to_string()))?;
    std::fs::rename(&tmp, path).map_err(|e| AdapterError::file(path, e.to_string()))
}
