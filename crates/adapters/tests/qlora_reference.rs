//! QLoRA against bitsandbytes + PEFT: an NF4 base (with and without double
//! quantization) under LoRA, from `tests/reference/qlora_reference.*`.

use candle_core::{DType, Device, Tensor, Var};
use loran_adapters::dropout::{SeededDropout, TrainingFlag};
use loran_adapters::lora::LoraLinear;
use loran_adapters::seeding::stream;
use loran_model::quant::Nf4Absmax;
use loran_model::{FrozenLinear, LinearAdapter, QuantMode};
use std::collections::HashMap;
use std::path::PathBuf;

fn reference() -> (serde_json::Value, HashMap<String, Tensor>) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/reference");
    let json = std::fs::read_to_string(dir.join("qlora_reference.json")).expect("tests/reference (regenerate with `just reference`)");
    let tensors = candle_core::safetensors::load(dir.join("qlora_reference.safetensors"), &Device::Cpu).unwrap();
    (serde_json::from_str(&json).unwrap(), tensors)
}

fn f32s(t: &Tensor) -> Vec<f32> {
    t.flatten_all().unwrap().to_vec1::<f32>().unwrap()
}

fn u8s(t: &Tensor) -> Vec<u8> {
    assert_eq!(t.dtype(), DType::U8);
    t.flatten_all().unwrap().to_vec1::<u8>().unwrap()
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f32 {
    (a - b).unwrap().abs().unwrap().flatten_all().unwrap().max(0).unwrap().to_scalar::<f32>().unwrap()
}

/// LoRA (r=4, α=8, no dropout) over `base`; checks y, L and the gradients against `<prefix>_*`.
fn check_lora_over(base: &FrozenLinear, meta: &serde_json::Value, t: &HashMap<String, Tensor>, prefix: &str) {
    let (r, alpha) = (meta["r"].as_f64().unwrap(), meta["lora_alpha"].as_f64().unwrap());
    assert_eq!((r, alpha), (4.0, 8.0));
    let a = Var::from_tensor(&t["A"]).unwrap();
    let b = Var::from_tensor(&t["B"]).unwrap();
    let dropout = SeededDropout::new(0.0, stream(0, "proj", "dropout"), TrainingFlag::default());
    let lora = LoraLinear::new(a.clone(), b.clone(), alpha / r, dropout);
    let x = Var::from_tensor(&t["x"]).unwrap();
    let y = lora.forward(x.as_tensor(), base).unwrap();
    let diff = max_abs_diff(&y, &t[&format!("{prefix}_y")]);
    assert!(diff < 1e-5, "{prefix}: y differs by {diff}");

    // L = sum(y ⊙ g).
    let loss = (&y * &t["g"]).unwrap().sum_all().unwrap();
    let expected = f32s(&t[&format!("{prefix}_L")])[0];
    let got = loss.to_scalar::<f32>().unwrap();
    assert!((got - expected).abs() <= 1e-5 * expected.abs().max(1.0), "{prefix}: L {got} vs {expected}");
    let grads = loss.backward().unwrap();
    for (var, key) in [(&a, "dL_dA"), (&b, "dL_dB"), (&x, "dL_dx")] {
        let g = grads.get(var.as_tensor()).unwrap_or_else(|| panic!("{prefix}: no gradient for {key}"));
        let diff = max_abs_diff(g, &t[&format!("{prefix}_{key}")]);
        assert!(diff < 1e-5, "{prefix}: {key} differs by {diff}");
    }
}

#[test]
fn qlora_without_double_quant_matches_bitsandbytes_and_peft() {
    let (meta, t) = reference();
    assert_eq!(meta["nodq"]["compress_statistics"], false);
    let base = FrozenLinear::new(t["W"].clone()).with_bias(t["b"].clone()).quantize(QuantMode::Nf4).unwrap();
    let nf4 = base.nf4().expect("quantized");
    assert_eq!(nf4.packed(), u8s(&t["nodq_W_packed"]).as_slice(), "packed codes");
    let Nf4Absmax::F32(absmax) = nf4.absmax() else { panic!("nf4 keeps f32 absmax") };
    assert_eq!(bits(absmax), bits(&f32s(&t["nodq_W_absmax"])), "absmax");
    assert_eq!(bits(&f32s(&base.weight().unwrap())), bits(&f32s(&t["nodq_W_dequant"])), "dequantized W");
    assert_eq!((base.in_features(), base.out_features()), (32, 48));
    check_lora_over(&base, &meta, &t, "nodq");
}

#[test]
fn qlora_with_double_quant_matches_bitsandbytes_and_peft() {
    let (meta, t) = reference();
    assert_eq!(meta["dq"]["compress_statistics"], true);
    let base = FrozenLinear::new(t["W"].clone()).with_bias(t["b"].clone()).quantize(QuantMode::Nf4Dq).unwrap();
    let nf4 = base.nf4().expect("quantized");
    assert_eq!(nf4.packed(), u8s(&t["dq_W_packed"]).as_slice(), "packed codes");
    let Nf4Absmax::Double(dq) = nf4.absmax() else { panic!("nf4-dq double-quantizes the absmax") };
    assert_eq!(dq.offset.to_bits(), f32s(&t["dq_W_offset"])[0].to_bits(), "offset");
    assert_eq!(dq.absmax_q, u8s(&t["dq_W_absmax_q"]), "8-bit absmax");
    assert_eq!(bits(&dq.state2_absmax), bits(&f32s(&t["dq_W_state2_absmax"])), "state2 absmax");
    assert_eq!(bits(&f32s(&base.weight().unwrap())), bits(&f32s(&t["dq_W_dequant"])), "dequantized W");
    check_lora_over(&base, &meta, &t, "dq");
}
