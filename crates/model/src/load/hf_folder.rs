//! Hugging Face model folders: `config.json`, `tokenizer.json` and safetensors weights.

use crate::error::{ModelError, Result};
use candle_core::safetensors::MmapedSafetensors;
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

/// Memory-maps the weight files after checking each one's header, so a bad file is named.
pub fn open_safetensors(files: &[PathBuf]) -> Result<MmapedSafetensors> {
    for file in files {
        if !file.exists() {
            return Err(ModelError::MissingFile { path: file.clone(), what: "model weights".into() });
        }
        // SAFETY: the file is opened read-only and not modified while mapped.
        unsafe { MmapedSafetensors::new(file) }.map_err(|e| ModelError::CorruptSafetensors {
            file: file.clone(),
            detail: loran_io::one_line(&e.to_string()),
        })?;
    }
    // SAFETY: as above; every file parsed successfully just now.
    Ok(unsafe { MmapedSafetensors::multi(files) }?)
}
