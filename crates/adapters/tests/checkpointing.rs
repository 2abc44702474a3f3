//! Activation checkpointing gives the same gradients as keeping every
//! activation, dropout included (the recomputation replays the forward's masks),
//! for LoRA and LoRAN over dense and NF4 bases.

use candle_core::{Device, Tensor};
use loran_adapters::{ActivationConfig, AdapterConfig, AdapterSet};
use loran_model::fixtures::{tiny_model, uniform};
use loran_model::{Kernels, Llama, QuantMode};
use std::collections::HashMap;

/// Gradients of `sum(hidden ⊙ g)` for every adapter parameter, with or without checkpointing.
fn gradients(base: &Llama, adapter: &AdapterConfig, checkpointing: bool) -> HashMap<String, Vec<f32>> {
    let mut model = base.clone();
    model.set_kernels(Kernels::Differentiable);
    let set = AdapterSet::attach(&mut model, adapter, 3).unwrap();
    for (i, (name, var)) in set.named_parameters().into_iter().enumerate() {
        if name.contains("_B") {
            var.set(&uniform(var.dims(), 0.3, 500 + i as u64)).unwrap();
        }
    }
    model.set_checkpointing(checkpointing);
    set.set_training(true);
    let ids = Tensor::new(&[[5u32, 77, 140, 9, 200, 33, 12], [2, 3, 4, 5, 6, 7, 8]], &Device::Cpu).unwrap();
    let hidden = model.forward_hidden(&ids, 0, None, None).unwrap();
    let g = uniform(hidden.dims(), 1.0, 99);
    let mut grads = (hidden * g).unwrap().sum_all().unwrap().backward().unwrap();
    let side = model.take_checkpoint_grads();
    assert_eq!(side.is_empty(), !checkpointing, "checkpointed blocks report their gradients on the side");
    // Only parameters' gradients, cut from the recomputed graphs (which must die with each block's backward).
    let params: std::collections::HashSet<_> = set.named_parameters().iter().map(|(_, v)| v.as_tensor().id()).collect();
    for (id, g) in &side {
        assert!(params.contains(id), "a side gradient of a non-parameter tensor, shape {:?}", g.dims());
        assert!(!g.track_op(), "a side gradient still holds its recomputed graph");
    }
    set.named_parameters()
        .into_iter()
        .map(|(name, var)| {
            let mut g = grads.remove(var.as_tensor());
            if let Some(extra) = side.get(&var.as_tensor().id()) {
                g = Some(match g {
                    Some(old) => (old + extra).unwrap(),
                    None => extra.clone(),
                });
            }
            let g = g.unwrap_or_else(|| panic!("{name} got no gradient"));
            (name, g.flatten_all().unwrap().to_vec1::<f32>().unwrap())
        })
        .collect()
}

fn assert_same(a: &HashMap<String, Vec<f32>>, b: &HashMap<String, Vec<f32>>) {
    assert_eq!(a.len(), b.len());
    for (name, ga) in a {
        let gb = &b[name];
        let scale = ga.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-6);
        let diff = ga.iter().zip(gb).fold(0f32, |m, (x, y)| m.max((x - y).abs()));
        assert!(diff / scale < 1e-5, "{name}: max diff {diff} (scale {scale})");
        assert!(scale > 1e-6, "{name}: zero gradient");
    }
}

fn all_linears(method: &str) -> AdapterConfig {
    AdapterConfig {
        method: method.into(),
        r: 4,
        alpha: 8.0,
        dropout: 0.3,
        targets: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"].iter().map(|s| s.to_string()).collect(),
        ..AdapterConfig::default()
    }
    .with("activation", ActivationConfig::named("tanh").unwrap())
    .unwrap()
}

#[test]
fn lora_gradients_with_checkpointing_equal_the_stored_activation_ones() {
    let model = tiny_model(17).unwrap();
    let cfg = all_linears("lora");
    assert_same(&gradients(&model, &cfg, false), &gradients(&model, &cfg, true));
}

#[test]
fn loran_over_nf4_gradients_with_checkpointing_equal_the_stored_activation_ones() {
    let mut model = tiny_model(17).unwrap();
    model.quantize_linears(QuantMode::Nf4).unwrap();
    let cfg = all_linears("loran");
    assert_same(&gradients(&model, &cfg, false), &gradients(&model, &cfg, true));
}
