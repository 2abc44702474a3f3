//! Hugging Face model folders: `config.json`, `tokenizer.json` and safetensors weights.

use crate::error::{ModelError, Result};
use candle_core::safetensors::MmapedSafetensors;
use safetensors::Dtype;
use std::path::{Path, PathBuf};

/// The weight files of an HF folder: the shards named by `model.safetensors.index.json`,
/// else `model.safetensors`.
pub fn safetensors_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let index = dir.join("model.safetensors.index.json");
    if index.exists() {
        let text = std::fs::read_to_string(&index)
            .map_err(|e| ModelError::BadWeights { file: index.clone(), detail: e.to_string() })?;
        let parsed: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| ModelError::BadWeights { file: index.clone(), detail: format!("not valid JSON: {e}") })?;
        let map = parsed.get("weight_map").and_then(|m| m.as_object()).ok_or_else(|| ModelError::BadWeights {
            file: index.clone(),
            detail: "missing `weight_map` object".into(),
        })?;
        let mut shards: Vec<String> = map.values().filter_map(|v| v.as_str().map(str::to_string)).collect();
        shards.sort();
        shards.dedup();
        return Ok(shards.into_iter().map(|s| dir.join(s)).collect());
    }
    Ok(vec![dir.join("model.safetensors")])
}

/// Weight types a safetensors file may store: floats, which candle converts to the load dtype.
pub const ACCEPTED_DTYPES: &[Dtype] = &[Dtype::F32, Dtype::F16, Dtype::BF16, Dtype::F64];

/// Memory-maps the weight files after checking each one: a regular file (a FIFO would block
/// the open), a header that parses, and float tensors only, so a bad file is named.
pub fn open_safetensors(files: &[PathBuf]) -> Result<MmapedSafetensors> {
    for file in files {
        crate::load::check_regular(file, "a safetensors weights file", "model weights")?;
        // SAFETY: the file is opened read-only and not modified while mapped.
        let mapped = unsafe { MmapedSafetensors::new(file) }.map_err(|e| ModelError::CorruptSafetensors {
            file: file.clone(),
            detail: loran_io::one_line(&e.to_string()),
        })?;
        check_dtypes(file, &mapped)?;
    }
    // SAFETY: as above; every file parsed successfully just now.
    Ok(unsafe { MmapedSafetensors::multi(files) }?)
}

/// Refuses the first tensor (by name order) whose type is not in [`ACCEPTED_DTYPES`].
fn check_dtypes(file: &Path, mapped: &MmapedSafetensors) -> Result<()> {
    let mut tensors = mapped.tensors();
    tensors.sort_by(|a, b| a.0.cmp(&b.0));
    match tensors.into_iter().find(|(_, view)| !ACCEPTED_DTYPES.contains(&view.dtype())) {
        None => Ok(()),
        Some((tensor, view)) => Err(ModelError::UnsupportedDtype {
            file: file.to_path_buf(),
            tensor,
            dtype: dtype_name(view.dtype()),
            accepted: ACCEPTED_DTYPES.iter().map(|d| dtype_name(*d)).collect::<Vec<_>>().join(", "),
        }),
    }
}

/// `i64`, `bf16`, `f8_e4m3`: the names safetensors' own header uses, lowercased.
fn dtype_name(dtype: Dtype) -> String {
    format!("{dtype:?}").to_lowercase()
}
