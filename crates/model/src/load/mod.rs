//! Turning a model name into a loaded model and tokenizer.

pub mod gguf;
pub mod hf_folder;
pub mod hub;

use crate::config::LlamaConfig;
use crate::error::{ModelError, Result};
use crate::llama::Llama;
use crate::registry::{find_model, known_keys, Location};
use crate::tokenizer::{tokenizer_from_file, tokenizer_from_gguf};
use candle_core::{DType, Device};
use candle_nn::VarBuilder;
use hub::HubRepo;
use std::path::{Path, PathBuf};
use tokenizers::Tokenizer;

/// Where a model is loaded from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelSource {
    /// An HF folder with `config.json`, `tokenizer.json` and safetensors.
    HfFolder(PathBuf),
    /// A hub repo, read through the hub cache.
    Hub(HubRepo),
    /// A GGUF file (weights dequantized at load time).
    Gguf(PathBuf),
}

impl std::fmt::Display for ModelSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ModelSource::HfFolder(p) => write!(f, "HF folder {}", p.display()),
            ModelSource::Hub(r) => write!(f, "hub repo {}@{}", r.id, r.revision),
            ModelSource::Gguf(p) => write!(f, "GGUF file {}", p.display()),
        }
    }
}

/// How to load: device, dtype and hub cache.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// Device for the weights. Default: CPU.
    pub device: Device,
    /// Dtype of the frozen weights. Default: f32 (CPU has no fast bf16 GEMM).
    pub dtype: DType,
    /// Hub cache folder. Default: hf-hub's (`HF_HOME`/hub or `~/.cache/huggingface/hub`).
    pub hub_cache: Option<PathBuf>,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self { device: Device::Cpu, dtype: DType::F32, hub_cache: None }
    }
}

/// A loaded base model with its tokenizer.
pub struct LoadedModel {
    /// The network.
    pub model: Llama,
    /// Its tokenizer.
    pub tokenizer: Tokenizer,
    /// Where it came from.
    pub source: ModelSource,
}

/// Resolves a registry key, a path (HF folder or `.gguf`), or a hub id (`org/name[@rev]`).
pub fn resolve(name: &str, store: &loran_assets::Store) -> Result<ModelSource> {
    if let Some(entry) = find_model(name) {
        return Ok(match entry.location {
            Location::Asset { asset, file } => {
                let asset = loran_assets::find(asset).expect("registry names a catalogued asset");
                ModelSource::Gguf(store.file(asset, file)?)
            }
            Location::Hub(spec) => ModelSource::Hub(HubRepo::parse(spec).expect("registry hub ids are valid")),
        });
    }
    let path = Path::new(name);
    if path.is_dir() {
        return Ok(ModelSource::HfFolder(path.to_path_buf()));
    }
    if path.is_file() {
        if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("gguf")) {
            return Ok(ModelSource::Gguf(path.to_path_buf()));
        }
        return Err(ModelError::BadConfig {
            file: path.to_path_buf(),
            detail: "a model file must be a .gguf; for safetensors pass the folder that holds config.json".into(),
        });
    }
    if let Ok(meta) = std::fs::metadata(path) {
        return Err(ModelError::NotAFile {
            path: path.to_path_buf(),
            kind: loran_io::kind_name(&meta.file_type()),
            expected: "a model folder or a .gguf file".into(),
        });
    }
    let looks_like_path = name.starts_with(['/', '.', '~']) || name.ends_with(".gguf") || name.contains(std::path::MAIN_SEPARATOR_STR) && name.matches('/').count() > 1;
    if looks_like_path {
        return Err(ModelError::MissingFile { path: path.to_path_buf(), what: "model folder or .gguf file".into() });
    }
    if let Some(repo) = HubRepo::parse(name) {
        return Ok(ModelSource::Hub(repo));
    }
    Err(ModelError::UnknownModel { name: name.into(), known: known_keys() })
}

/// Loads a model from a resolved source.
pub fn load(source: &ModelSource, opts: &LoadOptions) -> Result<LoadedModel> {
    let (model, tokenizer) = match source {
        ModelSource::HfFolder(dir) => load_hf_folder(dir, opts)?,
        ModelSource::Hub(repo) => {
            let cache = opts.hub_cache.clone().unwrap_or_else(hub::default_hub_cache);
            let snapshot = hub::fetch_model_files(&cache, repo)?;
            load_hf_folder(&snapshot, opts)?
        }
        ModelSource::Gguf(path) => load_gguf(path, opts)?,
    };
    Ok(LoadedModel { model, tokenizer, source: source.clone() })
}

/// Resolves `name` against the default asset store and loads it.
pub fn load_by_name(name: &str, opts: &LoadOptions) -> Result<LoadedModel> {
    load(&resolve(name, &loran_assets::Store::from_env())?, opts)
}

/// Loads an HF folder: `config.json`, `tokenizer.json`, safetensors.
pub fn load_hf_folder(dir: &Path, opts: &LoadOptions) -> Result<(Llama, Tokenizer)> {
    if !dir.is_dir() {
        return Err(ModelError::MissingFile { path: dir.to_path_buf(), what: "HF model folder".into() });
    }
    let cfg = LlamaConfig::from_hf_file(&dir.join("config.json"))?;
    let tokenizer = tokenizer_from_file(&dir.join("tokenizer.json"))?;
    let files = hf_folder::safetensors_files(dir)?;
    let weights = hf_folder::open_safetensors(&files)?;
    let vb = VarBuilder::from_backend(Box::new(weights), opts.dtype, opts.device.clone());
    let model = Llama::load(vb, &cfg).map_err(|e| weights_error(&files[0], e))?;
    Ok((model, tokenizer))
}

/// Loads a GGUF file: metadata → config, tensors dequantized and un-permuted, tokenizer from its vocab.
pub fn load_gguf(path: &Path, opts: &LoadOptions) -> Result<(Llama, Tokenizer)> {
    let mut file = gguf::open_gguf(path)?;
    let cfg = file.llama_config(path)?;
    let tokenizer = tokenizer_from_gguf(&file.content, path)?;
    let tensors = file.hf_tensors(&cfg, path, opts.dtype, &opts.device)?;
    let vb = VarBuilder::from_tensors(tensors, opts.dtype, &opts.device);
    let model = Llama::load(vb, &cfg).map_err(|e| weights_error(path, e))?;
    Ok((model, tokenizer))
}

/// `Ok` when `path` is a regular file; [`ModelError::MissingFile`] (with `what`) when it is
/// absent, [`ModelError::NotAFile`] (naming what it is, against `expected`) when it is a
/// FIFO, a device or a folder. Opening does not block on a FIFO, so this never hangs.
pub(crate) fn check_regular(path: &Path, expected: &str, what: &str) -> Result<()> {
    match loran_io::open_regular(path) {
        Ok(_) => Ok(()),
        Err(e) if e.is_not_found() => Err(ModelError::MissingFile { path: path.to_path_buf(), what: what.into() }),
        Err(loran_io::NotReadable::NotRegular { kind }) => {
            Err(ModelError::NotAFile { path: path.to_path_buf(), kind, expected: expected.into() })
        }
        // Permission and other errors surface, with their own words, where the file is read.
        Err(_) => Ok(()),
    }
}

fn weights_error(file: &Path, e: candle_core::Error) -> ModelError {
    let detail = loran_io::one_line(&e.to_string());
    ModelError::BadWeights { file: file.to_path_buf(), detail: format!("weights do not fit the config: {detail}") }
}
