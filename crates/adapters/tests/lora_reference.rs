//! LoRA against PEFT: outputs, gradients and merge from `tests/reference/lora_reference.*`.

use candle_core::{Device, Tensor, Var};
use loran_adapters::dropout::{SeededDropout, TrainingFlag};
use loran_adapters::lora::LoraLinear;
use loran_adapters::seeding::stream;
use loran_adapters::Adapter;
use loran_model::{FrozenLinear, LinearAdapter};
use std::collections::HashMap;
use std::path::PathBuf;

fn reference() -> (serde_json::Value, HashMap<String, Tensor>) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/reference");
    let json = std::fs::read_to_string(dir.join("lora_reference.json")).expect("tests/reference (regenerate with `just reference`)");
    let tensors = candle_core::safetensors::load(dir.join("lora_reference.safetensors"), &Device::Cpu).unwrap();
    (serde_json::from_str(&json).unwrap(), tensors)
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f32 {
    (a - b).unwrap().abs().unwrap().flatten_all().unwrap().max(0).unwrap().to_scalar::<f32>().unwrap()
}

#[test]
fn lora_matches_peft_outputs_gradients_and_merge() {
    let (meta, t) = reference();
    let scale = meta["scaling"].as_f64().unwrap();
    assert_eq!(scale, meta["lora_alpha"].as_f64().unwrap() / meta["r"].as_f64().unwrap());
    let base = FrozenLinear::new(t["W"].clone()).with_bias(t["b"].clone());
    let a = Var::from_tensor(&t["A"]).unwrap();
    let b = Var::from_tensor(&t["B"]).unwrap();
    let dropout = SeededDropout::new(0.0, stream(0, "proj", "dropout"), TrainingFlag::default());
    let lora = LoraLinear::new(a.clone(), b.clone(), scale, dropout);

    let x = Var::from_tensor(&t["x"]).unwrap();
    let y = lora.forward(x.as_tensor(), &base).unwrap();
    assert!(max_abs_diff(&y, &t["y"]) < 1e-5, "y differs by {}", max_abs_diff(&y, &t["y"]));

    let loss = (&y * &t["g"]).unwrap().sum_all().unwrap();
    let expected_loss = t["L"].flatten_all().unwrap().to_vec1::<f32>().unwrap()[0];
    assert!((loss.to_scalar::<f32>().unwrap() - expected_loss).abs() < 1e-4);
    let grads = loss.backward().unwrap();
    for (var, key) in [(&a, "dL_dA"), (&b, "dL_dB"), (&x, "dL_dx")] {
        let g = grads.get(var.as_tensor()).unwrap_or_else(|| panic!("no gradient for {key}"));
        let diff = max_abs_diff(g, &t[key]);
        assert!(diff < 1e-5, "{key} differs by {diff}");
    }

    let merged = (t["W"].clone() + lora.merged_delta(&base).unwrap().unwrap()).unwrap();
    assert!(max_abs_diff(&merged, &t["W_merged"]) < 1e-5);
}
