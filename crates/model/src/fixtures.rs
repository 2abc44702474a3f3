//! Tiny, deterministic models and tokenizers for tests (here and in other crates).
//!
//! Nothing here touches the network or the real assets: a test writes the
//! fixture it needs into a temporary folder in milliseconds. Built for this crate's
//! tests and, through the `test-support` feature, for other crates' tests only.

use crate::config::LlamaConfig;
pub use crate::synthetic::{random_model, random_weights, smollm2_135m_config, uniform};
pub use crate::tiny::{byte_to_char, tiny_config, tiny_model, tiny_tokenizer, tiny_vocab, MERGES, SPECIAL_TOKENS};
use candle_core::Tensor;
use std::collections::HashMap;
use std::path::Path;

/// Writes an HF folder: `config.json`, `tokenizer.json` (the fixture's), `model.safetensors`.
pub fn write_hf_folder(dir: &Path, cfg: &LlamaConfig, weights: &HashMap<String, Tensor>) -> std::io::Result<()> {
    crate::save::write_hf_files(dir, cfg, &tiny_tokenizer(), weights).map_err(std::io::Error::other)
}

/// Lays an HF folder's files out as the hub cache does:
/// `<cache>/models--org--name/{refs/main, snapshots/<commit>/...}`. Returns the snapshot folder.
pub fn write_hub_cache(cache: &Path, repo_id: &str, commit: &str, from_folder: &Path) -> std::io::Result<std::path::PathBuf> {
    let repo_dir = cache.join(format!("models--{}", repo_id.replace('/', "--")));
    let snapshot = repo_dir.join("snapshots").join(commit);
    std::fs::create_dir_all(&snapshot)?;
    std::fs::create_dir_all(repo_dir.join("refs"))?;
    std::fs::write(repo_dir.join("refs").join("main"), commit)?;
    for entry in std::fs::read_dir(from_folder)? {
        let entry = entry?;
        std::fs::copy(entry.path(), snapshot.join(entry.file_name()))?;
    }
    Ok(snapshot)
}

/// Largest absolute difference (checks of fused ops against their compositions).
pub fn max_diff(a: &Tensor, b: &Tensor) -> f32 {
    (a - b).unwrap().abs().unwrap().flatten_all().unwrap().max(0).unwrap().to_scalar::<f32>().unwrap()
}

/// Values and input gradients (under the weights `g`) of `f` at `inputs`.
pub fn value_and_grads(inputs: &[Tensor], g: &Tensor, f: impl Fn(&[Tensor]) -> Tensor) -> (Tensor, Vec<Tensor>) {
    let vars: Vec<candle_core::Var> = inputs.iter().map(|x| candle_core::Var::from_tensor(x).unwrap()).collect();
    let ts: Vec<Tensor> = vars.iter().map(|v| v.as_tensor().clone()).collect();
    let y = f(&ts);
    let grads = (&y * g).unwrap().sum_all().unwrap().backward().unwrap();
    let gs = ts.iter().map(|t| grads.get(t).expect("a gradient for every input").clone()).collect();
    (y, gs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_is_deterministic_and_bounded() {
        let a = uniform(&[1000], 0.5, 7).to_vec1::<f32>().unwrap();
        let b = uniform(&[1000], 0.5, 7).to_vec1::<f32>().unwrap();
        assert_eq!(a, b);
        assert!(a.iter().all(|v| (-0.5..0.5).contains(v)));
        let mean = a.iter().sum::<f32>() / a.len() as f32;
        assert!(mean.abs() < 0.05, "mean {mean}");
    }
}
