//! Writing adapter folders: atomic file replacement ([`loran_io::write_atomic`]) and the
//! weights file, shared by the PEFT and MLORA layouts.

use crate::error::{AdapterError, Result};
use candle_core::{Tensor, Var};
use std::collections::HashMap;
use std::path::Path;

/// Writes `bytes` to `path` through a temporary sibling, synced, and a rename.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    loran_io::write_atomic(path, bytes).map_err(|e| AdapterError::file(path, format!("cannot write: {e}")))
}

/// Writes `params` as safetensors at `path` (atomically), each key prefixed by `prefix`.
pub(crate) fn write_weights(path: &Path, prefix: &str, params: Vec<(String, Var)>) -> Result<()> {
    write_tensors(path, prefix, params.into_iter().map(|(name, var)| (name, var.as_tensor().clone())).collect())
}

/// Writes `tensors` as safetensors at `path` (atomically), each key prefixed by `prefix`.
/// The file is built in memory (the bytes `candle_core::safetensors::save` would stream)
/// so that it goes through the one atomic writer; adapter weights are small next to the
/// model they adapt.
pub(crate) fn write_tensors(path: &Path, prefix: &str, tensors: Vec<(String, Tensor)>) -> Result<()> {
    let tensors: HashMap<String, Tensor> = tensors.into_iter().map(|(name, t)| (format!("{prefix}{name}"), t)).collect();
    let bytes = safetensors::serialize(&tensors, None).map_err(|e| AdapterError::file(path, format!("cannot encode the weights: {e}")))?;
    write_atomic(path, &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn weights_read_back_and_no_temporary_is_left() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("adapter_model.safetensors");
        let a = Tensor::new(&[[1f32, 2.], [3., 4.]], &Device::Cpu).unwrap();
        write_tensors(&path, "base.", vec![("a".into(), a.clone())]).unwrap();
        write_tensors(&path, "base.", vec![("a".into(), (a * 2.0).unwrap())]).unwrap();
        let back = candle_core::safetensors::load(&path, &Device::Cpu).unwrap();
        assert_eq!(back["base.a"].to_vec2::<f32>().unwrap(), [[2., 4.], [6., 8.]]);
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, ["adapter_model.safetensors"]);
    }

    #[test]
    fn a_failed_write_names_the_file() {
        let path = std::path::PathBuf::from("/nonexistent-loran-dir/adapter_config.json");
        let err = write_atomic(&path, b"{}").unwrap_err().to_string();
        assert!(err.starts_with("/nonexistent-loran-dir/adapter_config.json: cannot write: No such file"), "{err}");
    }
}
