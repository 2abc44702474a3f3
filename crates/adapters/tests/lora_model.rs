//! LoRA on a tiny LLaMA: attach, gradients, merge, save/load.

use candle_core::{Device, Tensor};
use loran_adapters::{peft, AdapterConfig, AdapterSet, LayerSelection};
use loran_model::fixtures::{tiny_config, tiny_model, uniform};
use loran_model::Kernels;

fn ids() -> Tensor {
    Tensor::new(&[[5u32, 77, 140, 9, 200, 33], [2, 3, 4, 5, 6, 7]], &Device::Cpu).unwrap()
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f32 {
    (a - b).unwrap().abs().unwrap().flatten_all().unwrap().max(0).unwrap().to_scalar::<f32>().unwrap()
}

fn cfg(r: usize) -> AdapterConfig {
    AdapterConfig { r, alpha: 2.0 * r as f64, dropout: 0.0, ..AdapterConfig::default() }
}

/// Gives every B a non-zero value so that the adapters change the output.
fn perturb(set: &AdapterSet) {
    for (i, (name, var)) in set.named_parameters().into_iter().enumerate() {
        if name.ends_with("lora_B.weight") {
            var.set(&uniform(var.dims(), 0.5, 1000 + i as u64)).unwrap();
        }
    }
}

#[test]
fn fresh_lora_is_the_base_model_and_counts_parameters() {
    let mut model = tiny_model(1).unwrap();
    let base = model.forward(&ids(), 0, None).unwrap();
    let set = AdapterSet::attach(&mut model, &cfg(4), 0).unwrap();
    let c = tiny_config();
    let q_out = c.num_attention_heads * c.head_dim;
    let v_out = c.num_key_value_heads * c.head_dim;
    let per_layer = 4 * (c.hidden_size + q_out) + 4 * (c.hidden_size + v_out);
    assert_eq!(set.num_parameters(), c.num_hidden_layers * per_layer);
    assert_eq!(set.module_names(), vec![
        "model.layers.0.self_attn.q_proj",
        "model.layers.0.self_attn.v_proj",
        "model.layers.1.self_attn.q_proj",
        "model.layers.1.self_attn.v_proj",
    ]);
    assert_eq!(max_abs_diff(&model.forward(&ids(), 0, None).unwrap(), &base), 0.0);
}

#[test]
fn every_trainable_var_receives_a_gradient() {
    let mut model = tiny_model(2).unwrap();
    model.set_kernels(Kernels::Differentiable);
    let all = AdapterConfig { targets: vec!["q_proj".into(), "k_proj".into(), "v_proj".into(), "o_proj".into(), "gate_proj".into(), "up_proj".into(), "down_proj".into()], ..cfg(2) };
    let set = AdapterSet::attach(&mut model, &all, 0).unwrap();
    perturb(&set);
    let loss = model.forward(&ids(), 0, None).unwrap().sqr().unwrap().mean_all().unwrap();
    let grads = loss.backward().unwrap();
    for (name, var) in set.named_parameters() {
        let g = grads.get(var.as_tensor()).unwrap_or_else(|| panic!("{name} got no gradient"));
        let norm = g.sqr().unwrap().sum_all().unwrap().to_scalar::<f32>().unwrap();
        assert!(norm > 0.0, "{name} has a zero gradient");
    }
}

#[test]
fn fused_kernels_cut_the_graph_which_is_why_training_uses_differentiable_ones() {
    let mut model = tiny_model(2).unwrap();
    model.set_kernels(Kernels::Fused);
    let set = AdapterSet::attach(&mut model, &cfg(2), 0).unwrap();
    perturb(&set);
    let loss = model.forward(&ids(), 0, None).unwrap().sqr().unwrap().mean_all().unwrap();
    let grads = loss.backward().unwrap();
    let reached = set.named_parameters().iter().filter(|(_, v)| grads.get(v.as_tensor()).is_some()).count();
    assert!(reached < set.named_parameters().len(), "candle's fused kernels now propagate gradients; revisit Kernels");
}

#[test]
fn merge_equals_the_unmerged_forward_and_unmerge_restores_exactly() {
    let mut model = tiny_model(3).unwrap();
    let originals: Vec<Tensor> = model.linears().iter().map(|l| l.base().weight().unwrap()).collect();
    let mut set = AdapterSet::attach(&mut model, &AdapterConfig { dropout: 0.3, ..cfg(4) }, 0).unwrap();
    perturb(&set);
    set.set_training(false);
    let unmerged = model.forward(&ids(), 0, None).unwrap();
    set.merge(&mut model).unwrap();
    assert!(model.linears().iter().all(|l| l.adapter().is_none()));
    let merged = model.forward(&ids(), 0, None).unwrap();
    assert!(max_abs_diff(&merged, &unmerged) < 1e-5, "merge drift {}", max_abs_diff(&merged, &unmerged));
    set.unmerge(&mut model).unwrap();
    for (l, w) in model.linears().iter().zip(&originals) {
        assert_eq!(max_abs_diff(&l.base().weight().unwrap(), w), 0.0);
    }
    assert_eq!(max_abs_diff(&model.forward(&ids(), 0, None).unwrap(), &unmerged), 0.0);
}

#[test]
fn dropout_acts_only_in_training() {
    let mut model = tiny_model(4).unwrap();
    let set = AdapterSet::attach(&mut model, &AdapterConfig { dropout: 0.5, ..cfg(4) }, 0).unwrap();
    perturb(&set);
    let eval_a = model.forward(&ids(), 0, None).unwrap();
    let eval_b = model.forward(&ids(), 0, None).unwrap();
    assert_eq!(max_abs_diff(&eval_a, &eval_b), 0.0);
    set.set_training(true);
    let train = model.forward(&ids(), 0, None).unwrap();
    assert!(max_abs_diff(&train, &eval_a) > 1e-4);
}

#[test]
fn same_seed_same_init_other_seed_other_init() {
    let a_of = |seed| {
        let mut model = tiny_model(5).unwrap();
        let set = AdapterSet::attach(&mut model, &cfg(4), seed).unwrap();
        set.named_parameters()[0].1.as_tensor().flatten_all().unwrap().to_vec1::<f32>().unwrap()
    };
    assert_eq!(a_of(1), a_of(1));
    assert_ne!(a_of(1), a_of(2));
}

#[test]
fn saved_and_loaded_adapter_gives_identical_outputs() {
    let mut model = tiny_model(6).unwrap();
    let config = AdapterConfig { layers: Some(LayerSelection::Last { last: 1 }), rslora: true, ..cfg(4) };
    let set = AdapterSet::attach(&mut model, &config, 11).unwrap();
    perturb(&set);
    let expected = model.forward(&ids(), 0, None).unwrap();
    let out = tempfile::tempdir().unwrap();
    peft::save(&set, &model, out.path(), Some("tiny")).unwrap();

    let files = peft::inspect(out.path()).unwrap();
    assert_eq!(files.modules(), vec!["model.layers.1.self_attn.q_proj", "model.layers.1.self_attn.v_proj"]);
    assert_eq!(files.config.layers_to_transform, Some(vec![1]));
    assert!(files.config.use_rslora);

    let mut fresh = tiny_model(6).unwrap();
    let loaded = peft::load(out.path(), &mut fresh, 999).unwrap();
    assert_eq!(loaded.num_parameters(), set.num_parameters());
    assert_eq!(max_abs_diff(&fresh.forward(&ids(), 0, None).unwrap(), &expected), 0.0);
}

#[test]
fn bad_adapter_input_is_named() {
    let mut model = tiny_model(7).unwrap();
    let err = AdapterSet::attach(&mut model, &AdapterConfig { targets: vec!["c_attn".into()], ..cfg(2) }, 0).unwrap_err();
    assert!(err.to_string().contains("`c_attn`"), "{err}");
    let err = AdapterSet::attach(&mut model, &AdapterConfig { method: "lorax".into(), ..cfg(2) }, 0).unwrap_err();
    assert!(err.to_string().contains("`lorax`") && err.to_string().contains("lora"), "{err}");

    // A stored tensor with the wrong shape names the key.
    let set = AdapterSet::attach(&mut model, &cfg(2), 0).unwrap();
    let out = tempfile::tempdir().unwrap();
    peft::save(&set, &model, out.path(), None).unwrap();
    set.detach(&mut model).unwrap();
    let config_path = out.path().join("adapter_config.json");
    let text = std::fs::read_to_string(&config_path).unwrap().replace("\"r\": 2", "\"r\": 3");
    std::fs::write(&config_path, text).unwrap();
    let err = peft::load(out.path(), &mut model, 0).unwrap_err().to_string();
    assert!(err.contains("adapter_model.safetensors") && err.contains("lora_A.weight") && err.contains("shape"), "{err}");
}
