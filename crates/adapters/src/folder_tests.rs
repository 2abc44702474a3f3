use super::*;
use crate::config::AdapterConfig;
use candle_core::{Device, Tensor};
use loran_model::fixtures::{tiny_model, uniform};
use std::collections::BTreeMap;
use std::path::PathBuf;

fn cfg(method: &str) -> AdapterConfig {
    AdapterConfig { method: method.into(), r: 4, alpha: 8.0, dropout: 0.0, ..AdapterConfig::default() }
}

/// A set on the tiny model with every parameter randomised (as if trained).
fn trained(model: &mut Llama, cfg: &AdapterConfig) -> AdapterSet {
    let set = AdapterSet::attach(model, cfg, 3).unwrap();
    for (i, (_, var)) in set.named_parameters().into_iter().enumerate() {
        var.set(&uniform(var.dims(), 0.5, 100 + i as u64)).unwrap();
    }
    set
}

/// Saves a trained set of `cfg` with [`save`] and returns the folder and what was written.
fn saved(cfg: &AdapterConfig) -> (tempfile::TempDir, Saved, Vec<(String, Vec<f32>)>) {
    let mut model = tiny_model(1).unwrap();
    let set = trained(&mut model, cfg);
    let dir = tempfile::tempdir().unwrap();
    let saved = save(&set, &model, dir.path(), "tiny", QuantMode::Nf4Dq).unwrap();
    (dir, saved, values(&set))
}

fn values(set: &AdapterSet) -> Vec<(String, Vec<f32>)> {
    set.named_parameters().into_iter().map(|(n, v)| (n, v.as_tensor().flatten_all().unwrap().to_vec1().unwrap())).collect()
}

fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

fn keys(dir: &Path) -> Vec<String> {
    let tensors: BTreeMap<String, Tensor> = candle_core::safetensors::load(dir.join(peft::WEIGHTS_FILE), &Device::Cpu).unwrap().into_iter().collect();
    tensors.into_keys().collect()
}

fn json(path: PathBuf) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Loads `dir` onto a fresh tiny model and returns the layout and the parameters.
fn reload(dir: &Path) -> (Layout, Vec<(String, Vec<f32>)>) {
    let mut model = tiny_model(1).unwrap();
    let set = load(dir, &mut model, 9).unwrap();
    (detect(dir).unwrap(), values(&set))
}

#[test]
fn lora_and_dora_folders_are_peft_folders_sharing_one_weights_file() {
    for (method, suffixes) in [("lora", vec!["lora_A.weight", "lora_B.weight"]), ("dora", vec!["lora_A.weight", "lora_B.weight", "lora_magnitude_vector"])] {
        let (dir, saved, expected) = saved(&cfg(method));
        assert_eq!(saved, Saved { layouts: vec![Layout::Native, Layout::Peft], skipped: None });
        assert_eq!(files(dir.path()), ["adapter_config.json", "adapter_model.safetensors", "loran_adapter.json"]);
        let config = json(dir.path().join("adapter_config.json"));
        assert_eq!((config["peft_type"].as_str(), config["use_dora"].as_bool()), (Some("LORA"), Some(method == "dora")));
        assert_eq!((config["r"].as_u64(), config["lora_alpha"].as_f64()), (Some(4), Some(8.0)));
        // PEFT's keys: two layers × q and v × the method's tensors.
        let keys = keys(dir.path());
        assert_eq!(keys.len(), 4 * suffixes.len(), "{keys:?}");
        assert!(keys.iter().all(|k| k.starts_with("base_model.model.model.layers.") && suffixes.iter().any(|s| k.ends_with(&format!("_proj.{s}")))), "{keys:?}");
        // The shared file is byte for byte the one PEFT's own writer makes.
        let mut model = tiny_model(1).unwrap();
        let set = trained(&mut model, &cfg(method));
        let alone = tempfile::tempdir().unwrap();
        peft::save(&set, &model, alone.path(), Some("tiny")).unwrap();
        let weights = |d: &Path| std::fs::read(d.join(peft::WEIGHTS_FILE)).unwrap();
        assert_eq!(weights(dir.path()), weights(alone.path()), "{method}");
        // Native first; read as PEFT's once loran-lab's config is gone, with the same tensors.
        assert_eq!(reload(dir.path()), (Layout::Native, expected.clone()));
        std::fs::remove_file(dir.path().join(native::CONFIG_FILE)).unwrap();
        assert_eq!(reload(dir.path()), (Layout::Peft, expected));
        assert_eq!(recorded_base(dir.path()).unwrap(), RecordedBase { model: Some("tiny".into()), quant: None });
    }
}

#[test]
fn a_loran_folder_is_also_the_forks_mlora_folder() {
    let (dir, saved, expected) = saved(&cfg("loran"));
    assert_eq!(saved.layouts, [Layout::Native, Layout::Mlora]);
    assert_eq!(files(dir.path()), ["adapter_config.json", "adapter_model.safetensors", "loran_adapter.json"]);
    let config = json(dir.path().join("adapter_config.json"));
    assert_eq!((config["peft_type"].as_str(), config["r"].clone()), (Some("MLORA"), serde_json::json!([4, 32])));
    assert!(keys(dir.path()).iter().all(|k| k.ends_with(".mlora_A") || k.ends_with(".mlora_B")));
    assert_eq!(reload(dir.path()), (Layout::Native, expected.clone()));
    std::fs::remove_file(dir.path().join(native::CONFIG_FILE)).unwrap();
    assert_eq!(reload(dir.path()), (Layout::Mlora, expected));
}

#[test]
fn native_only_methods_and_loran_without_an_mlora_form_get_loran_labs_layout_alone() {
    for method in ["nolora", "sine-lora"] {
        let (dir, saved, expected) = saved(&cfg(method));
        assert_eq!(saved, Saved { layouts: vec![Layout::Native], skipped: None }, "{method}");
        assert_eq!(files(dir.path()), ["adapter_model.safetensors", "loran_adapter.json"], "{method}");
        assert_eq!(reload(dir.path()), (Layout::Native, expected), "{method}");
    }
    // The MLORA format has no rsLoRA: the run still keeps its adapter, and says why.
    let (dir, saved, _) = saved(&AdapterConfig { rslora: true, ..cfg("loran") });
    assert_eq!(saved.layouts, [Layout::Native]);
    assert!(saved.skipped.as_deref().unwrap().contains("no MLORA form") && saved.skipped.as_deref().unwrap().contains("rsLoRA"), "{saved:?}");
    assert_eq!(files(dir.path()), ["adapter_model.safetensors", "loran_adapter.json"]);
}

#[test]
fn the_native_config_records_the_base_and_its_quantization() {
    let (dir, _, _) = saved(&cfg("lora"));
    assert_eq!(recorded_base(dir.path()).unwrap(), RecordedBase { model: Some("tiny".into()), quant: Some(QuantMode::Nf4Dq) });
    assert_eq!(json(dir.path().join(native::CONFIG_FILE))["base_quant"], "nf4-dq");
    // Folders written before the field existed still load, with the quantization unknown.
    let path = dir.path().join(native::CONFIG_FILE);
    let mut old = json(path.clone());
    old.as_object_mut().unwrap().remove("base_quant");
    std::fs::write(&path, old.to_string()).unwrap();
    assert_eq!(recorded_base(dir.path()).unwrap().quant, None);
    reload(dir.path());
}

#[test]
fn loran_labs_config_wins_over_a_foreign_one() {
    let (dir, _, expected) = saved(&cfg("lora"));
    std::fs::write(dir.path().join(peft::CONFIG_FILE), "{ not json").unwrap();
    assert_eq!(reload(dir.path()), (Layout::Native, expected));
}

#[test]
fn folders_that_hold_no_adapter_are_one_line_errors_naming_the_folder_and_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let line = |d: &Path| load(d, &mut tiny_model(1).unwrap(), 0).unwrap_err().to_string();
    let err = line(dir.path());
    assert_eq!(
        err,
        format!(
            "{}: not an adapter folder: it has neither `loran_adapter.json` (loran-lab) nor `adapter_config.json` (PEFT or the LoRAN fork); pass a run's `adapter/` folder",
            dir.path().display()
        )
    );
    let missing = dir.path().join("nowhere");
    assert_eq!(line(&missing), format!("{}: no such adapter folder", missing.display()));
    std::fs::write(dir.path().join("adapter_config.json"), r#"{"peft_type": "IA3"}"#).unwrap();
    let err = line(dir.path());
    assert!(err.starts_with(&format!("{}: peft_type `IA3`: only `LORA`", dir.path().join("adapter_config.json").display())), "{err}");
    // A PEFT config without its weights names the weights file.
    let (lora, _, _) = saved(&cfg("lora"));
    std::fs::remove_file(lora.path().join(native::CONFIG_FILE)).unwrap();
    std::fs::remove_file(lora.path().join(peft::WEIGHTS_FILE)).unwrap();
    assert_eq!(line(lora.path()), format!("{}: file not found", lora.path().join(peft::WEIGHTS_FILE).display()));
    for err in [line(dir.path()), line(lora.path())] {
        assert!(!err.contains('\n'), "{err}");
    }
}
