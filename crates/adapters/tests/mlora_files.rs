//! LoRAN adapter files in the official fork's MLORA format: round trip, fields, errors.

use candle_core::{Device, Tensor};
use loran_adapters::activations::ActivationConfig;
use loran_adapters::{mlora, AdapterConfig, AdapterSet, LayerSelection};
use loran_model::fixtures::{random_weights, tiny_config, uniform, write_hf_folder};
use loran_model::{load, LoadOptions, ModelSource};
use std::path::Path;

fn tiny_model(dir: &Path) -> loran_model::Llama {
    load(&ModelSource::HfFolder(dir.to_path_buf()), &LoadOptions::default()).unwrap().model
}

fn model_folder(seed: u64) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let cfg = tiny_config();
    write_hf_folder(dir.path(), &cfg, &random_weights(&cfg, seed)).unwrap();
    dir
}

fn ids() -> Tensor {
    Tensor::new(&[[5u32, 77, 140, 9, 200, 33], [2, 3, 4, 5, 6, 7]], &Device::Cpu).unwrap()
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f32 {
    (a - b).unwrap().abs().unwrap().flatten_all().unwrap().max(0).unwrap().to_scalar::<f32>().unwrap()
}

fn loran(r: usize, activation: ActivationConfig) -> AdapterConfig {
    AdapterConfig { method: "loran".into(), r, alpha: 16.0, dropout: 0.2, ..AdapterConfig::default() }.with("activation", activation).unwrap()
}

fn perturb(set: &AdapterSet) {
    for (i, (name, var)) in set.named_parameters().into_iter().enumerate() {
        if name.ends_with("mlora_B") {
            var.set(&uniform(var.dims(), 0.5, 500 + i as u64)).unwrap();
        }
    }
}

fn bits(t: &Tensor) -> Vec<u32> {
    t.flatten_all().unwrap().to_vec1::<f32>().unwrap().into_iter().map(f32::to_bits).collect()
}

/// Saves a trained-looking set for `cfg` and returns (model folder, adapter folder, expected logits, parameters).
fn saved(cfg: &AdapterConfig) -> (tempfile::TempDir, tempfile::TempDir, Tensor, Vec<(String, Vec<u32>)>) {
    let model_dir = model_folder(6);
    let mut model = tiny_model(model_dir.path());
    let set = AdapterSet::attach(&mut model, cfg, 11).unwrap();
    perturb(&set);
    let expected = model.forward(&ids(), 0, None).unwrap();
    let out = tempfile::tempdir().unwrap();
    mlora::save(&set, &model, out.path(), Some("tiny-llama")).unwrap();
    let params = set.named_parameters().into_iter().map(|(n, v)| (n, bits(v.as_tensor()))).collect();
    (model_dir, out, expected, params)
}

#[test]
fn sinter_adapter_round_trips_bit_for_bit() {
    let cfg = AdapterConfig { layers: Some(LayerSelection::Last { last: 1 }), ..loran(4, ActivationConfig::default()) };
    let (model_dir, out, expected, params) = saved(&cfg);

    let mut fresh = tiny_model(model_dir.path());
    let loaded = mlora::load(out.path(), &mut fresh, 999).unwrap();
    assert_eq!(loaded.config(), &AdapterConfig { layers: Some(LayerSelection::Indices(vec![1])), ..cfg });
    let reloaded: Vec<(String, Vec<u32>)> = loaded.named_parameters().into_iter().map(|(n, v)| (n, bits(v.as_tensor()))).collect();
    assert_eq!(reloaded, params);
    assert_eq!(
        reloaded.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        vec![
            "model.layers.1.self_attn.q_proj.mlora_A",
            "model.layers.1.self_attn.q_proj.mlora_B",
            "model.layers.1.self_attn.v_proj.mlora_A",
            "model.layers.1.self_attn.v_proj.mlora_B",
        ]
    );
    assert_eq!(max_abs_diff(&fresh.forward(&ids(), 0, None).unwrap(), &expected), 0.0);
}

#[test]
fn config_file_has_the_forks_fields() {
    let (_m, out, _, _) = saved(&loran(4, ActivationConfig::default()));
    let text = std::fs::read_to_string(out.path().join("adapter_config.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let hidden = tiny_config().hidden_size as u64;
    assert_eq!(json["peft_type"], "MLORA");
    assert_eq!(json["r"], serde_json::json!([4, hidden]));
    assert_eq!(json["mlora_alpha"], 16.0);
    assert_eq!(json["mlora_dropout"], 0.2);
    assert_eq!(json["mlora_af"], "Sin");
    assert_eq!(json["mlora_af_sin_A"], 5e-5);
    assert_eq!(json["mlora_af_sin_omega"], 1e4);
    assert_eq!(json["mlora_use_P"], false);
    assert_eq!(json["mlora_use_b"], false);
    assert_eq!(json["target_modules"], serde_json::json!(["q_proj", "v_proj"]));
    assert_eq!(json["layers_to_transform"], serde_json::Value::Null);
    assert_eq!(json["bias"], "none");
    assert_eq!(json["fan_in_fan_out"], false);
    assert_eq!(json["init_mlora_weights"], true);
    assert_eq!(json["task_type"], "CAUSAL_LM");
    assert_eq!(json["base_model_name_or_path"], "tiny-llama");
    assert_eq!(json["loran_lab_activation"], serde_json::json!({"name": "sinter", "amplitude": 5e-5, "omega": 1e4}));

    // The weights file holds exactly the fork's keys, with A [r, d_in] and B [out, r].
    let bytes = std::fs::read(out.path().join("adapter_model.safetensors")).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut keys: Vec<(String, Vec<usize>)> = st.tensors().into_iter().map(|(k, v)| (k, v.shape().to_vec())).collect();
    keys.sort();
    let c = tiny_config();
    let kv = c.num_key_value_heads * c.head_dim;
    assert_eq!(keys[0], ("base_model.model.model.layers.0.self_attn.q_proj.mlora_A".into(), vec![4, c.hidden_size]));
    assert_eq!(keys[1], ("base_model.model.model.layers.0.self_attn.q_proj.mlora_B".into(), vec![c.hidden_size, 4]));
    assert_eq!(keys[3], ("base_model.model.model.layers.0.self_attn.v_proj.mlora_B".into(), vec![kv, 4]));
    assert_eq!(keys.len(), 8);
}

#[test]
fn parameters_the_fork_has_no_field_for_round_trip() {
    let swish = ActivationConfig::named("swish").unwrap().with("beta", 7.5).unwrap();
    let (model_dir, out, expected, _) = saved(&loran(2, swish.clone()));
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.path().join("adapter_config.json")).unwrap()).unwrap();
    assert_eq!(json["mlora_af"], "swish", "the fork has no swish: our registry name is written");
    let mut fresh = tiny_model(model_dir.path());
    let loaded = mlora::load(out.path(), &mut fresh, 0).unwrap();
    assert_eq!(loran_adapters::loran::activation(loaded.config()), swish);
    assert_eq!(max_abs_diff(&fresh.forward(&ids(), 0, None).unwrap(), &expected), 0.0);

    // Tanh maps to the fork's own name.
    let (_m, out, _, _) = saved(&loran(2, ActivationConfig::named("tanh").unwrap()));
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.path().join("adapter_config.json")).unwrap()).unwrap();
    assert_eq!(json["mlora_af"], "Tanh");
}

/// A config as the fork writes it (no `loran_lab_activation`) reads from `mlora_af` and the Sin fields.
#[test]
fn reads_the_forks_own_config() {
    let sinter = ActivationConfig::default().with("omega", 1000.0).unwrap().with("amplitude", 5e-4).unwrap();
    let (model_dir, out, expected, _) = saved(&loran(4, sinter.clone()));
    let path = out.path().join("adapter_config.json");
    let mut json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    json.as_object_mut().unwrap().remove("loran_lab_activation");
    std::fs::write(&path, serde_json::to_string(&json).unwrap()).unwrap();
    let mut fresh = tiny_model(model_dir.path());
    let loaded = mlora::load(out.path(), &mut fresh, 0).unwrap();
    assert_eq!(loran_adapters::loran::activation(loaded.config()), sinter);
    assert_eq!(max_abs_diff(&fresh.forward(&ids(), 0, None).unwrap(), &expected), 0.0);
}

#[test]
fn bad_folders_give_clear_errors() {
    let (model_dir, out, _, _) = saved(&loran(2, ActivationConfig::default()));
    let config_path = out.path().join("adapter_config.json");
    let weights_path = out.path().join("adapter_model.safetensors");
    let original = std::fs::read_to_string(&config_path).unwrap();
    let mut model = tiny_model(model_dir.path());

    // A bad mlora_af (in a fork-written file, without our activation key).
    let mut json: serde_json::Value = serde_json::from_str(&original).unwrap();
    json.as_object_mut().unwrap().remove("loran_lab_activation");
    json["mlora_af"] = "Sinus".into();
    std::fs::write(&config_path, serde_json::to_string(&json).unwrap()).unwrap();
    let err = mlora::load(out.path(), &mut model, 0).unwrap_err().to_string();
    assert!(err.contains("adapter_config.json") && err.contains("mlora_af `Sinus` is not supported") && err.contains("Sin;"), "{err}");
    assert!(model.linears().iter().all(|l| l.adapter().is_none()));

    // mlora_af that disagrees with our key.
    let mut json: serde_json::Value = serde_json::from_str(&original).unwrap();
    json["mlora_af"] = "Tanh".into();
    std::fs::write(&config_path, serde_json::to_string(&json).unwrap()).unwrap();
    let err = mlora::load(out.path(), &mut model, 0).unwrap_err().to_string();
    assert!(err.contains("mlora_af `Tanh` disagrees with loran_lab_activation `sinter`"), "{err}");

    // P matrices are not supported.
    let mut json: serde_json::Value = serde_json::from_str(&original).unwrap();
    json["mlora_use_P"] = true.into();
    std::fs::write(&config_path, serde_json::to_string(&json).unwrap()).unwrap();
    let err = mlora::load(out.path(), &mut model, 0).unwrap_err().to_string();
    assert!(err.contains("mlora_use_P"), "{err}");
    std::fs::write(&config_path, &original).unwrap();

    // A missing key names the file and the key; the model keeps no adapters.
    let mut tensors = candle_core::safetensors::load(&weights_path, &Device::Cpu).unwrap();
    let gone = "base_model.model.model.layers.1.self_attn.v_proj.mlora_B";
    let removed = tensors.remove(gone).unwrap();
    candle_core::safetensors::save(&tensors, &weights_path).unwrap();
    let err = mlora::load(out.path(), &mut model, 0).unwrap_err().to_string();
    assert!(err.contains("adapter_model.safetensors") && err.contains(&format!("missing key `{gone}`")), "{err}");
    assert!(model.linears().iter().all(|l| l.adapter().is_none()));

    // An extra key, and a mis-shaped one.
    tensors.insert(gone.into(), removed.clone());
    tensors.insert("base_model.model.model.layers.0.mlp.up_proj.mlora_A".into(), removed.clone());
    candle_core::safetensors::save(&tensors, &weights_path).unwrap();
    let err = mlora::load(out.path(), &mut model, 0).unwrap_err().to_string();
    assert!(err.contains("key `base_model.model.model.layers.0.mlp.up_proj.mlora_A` matches no adapted module"), "{err}");
    tensors.remove("base_model.model.model.layers.0.mlp.up_proj.mlora_A");
    tensors.insert(gone.into(), removed.t().unwrap().contiguous().unwrap());
    candle_core::safetensors::save(&tensors, &weights_path).unwrap();
    let err = mlora::load(out.path(), &mut model, 0).unwrap_err().to_string();
    assert!(err.contains(gone) && err.contains("shape"), "{err}");

    // A file that is not a LoRAN file.
    std::fs::write(&config_path, original.replace("\"MLORA\"", "\"LORA\"")).unwrap();
    let err = mlora::load(out.path(), &mut model, 0).unwrap_err().to_string();
    assert!(err.contains("peft_type `LORA`"), "{err}");
}

#[test]
fn what_the_format_cannot_hold_is_refused_on_save() {
    let model_dir = model_folder(9);
    let mut model = tiny_model(model_dir.path());
    let out = tempfile::tempdir().unwrap();

    let set = AdapterSet::attach(&mut model, &AdapterConfig { rslora: true, ..loran(2, ActivationConfig::default()) }, 0).unwrap();
    let err = mlora::save(&set, &model, out.path(), None).unwrap_err().to_string();
    assert!(err.starts_with("adapter.rslora:"), "{err}");
    set.detach(&mut model).unwrap();

    let mixed = AdapterConfig { targets: vec!["q_proj".into(), "down_proj".into()], ..loran(2, ActivationConfig::default()) };
    let set = AdapterSet::attach(&mut model, &mixed, 0).unwrap();
    let err = mlora::save(&set, &model, out.path(), None).unwrap_err().to_string();
    assert!(err.starts_with("adapter.targets:") && err.contains("input widths 32, 64"), "{err}");
    set.detach(&mut model).unwrap();

    let set = AdapterSet::attach(&mut model, &AdapterConfig { method: "lora".into(), ..loran(2, ActivationConfig::default()) }, 0).unwrap();
    let err = mlora::save(&set, &model, out.path(), None).unwrap_err().to_string();
    assert!(err.starts_with("adapter.method:") && err.contains("`lora`"), "{err}");
    assert!(!out.path().join("adapter_config.json").exists());
}
