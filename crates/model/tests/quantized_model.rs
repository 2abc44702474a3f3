//! A whole model with NF4 decoder linears: storage, forward, gradients, bad weights.

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::VarBuilder;
use loran_model::fixtures::{random_weights, tiny_config};
use loran_model::{Kernels, Llama, QuantMode};
use std::collections::HashMap;

fn tiny_model(weights: HashMap<String, Tensor>) -> Llama {
    let vb = VarBuilder::from_tensors(weights, DType::F32, &Device::Cpu);
    Llama::load(vb, &tiny_config()).unwrap()
}

fn ids() -> Tensor {
    Tensor::new(&[[5u32, 77, 140, 9, 200, 33]], &Device::Cpu).unwrap()
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f32 {
    (a - b).unwrap().abs().unwrap().flatten_all().unwrap().max(0).unwrap().to_scalar::<f32>().unwrap()
}

#[test]
fn quantize_linears_shrinks_every_decoder_linear_and_keeps_the_rest_dense() {
    let mut model = tiny_model(random_weights(&tiny_config(), 1));
    let dense_logits = model.forward(&ids(), 0, None).unwrap();
    let params = model.linear_param_count();
    assert_eq!(model.linear_storage_bytes(), 4 * params);
    let dense = model.clone();

    for (mode, bits) in [(QuantMode::Nf4, 4.5), (QuantMode::Nf4Dq, 4.13)] {
        let mut q = dense.clone();
        q.quantize_linears(mode).unwrap();
        assert!(q.linears().iter().all(|l| l.base().is_quantized()));
        assert_eq!(q.linears().len(), 2 * 7);
        assert_eq!(q.linear_storage(), (q.linear_storage_bytes(), params));
        let got = 8.0 * q.linear_storage_bytes() as f64 / params as f64;
        assert!((got - bits).abs() < 0.05, "{mode}: {got} bits/param");
        // NF4 error on logits is small but non-zero; the dense original is untouched.
        let logits = q.forward(&ids(), 0, None).unwrap();
        let diff = max_abs_diff(&logits, &dense_logits);
        let scale = dense_logits.abs().unwrap().flatten_all().unwrap().max(0).unwrap().to_scalar::<f32>().unwrap();
        println!("{mode}: max |logit| {scale}, NF4 moved logits by up to {diff}");
        assert!(diff > 0.0 && diff < 0.25 * scale, "{mode}: logits moved by {diff} (max |logit| {scale})");
        assert_eq!(max_abs_diff(&dense.forward(&ids(), 0, None).unwrap(), &dense_logits), 0.0);
        // A clone shares the packed codes.
        let twin = q.clone();
        let a = q.linears()[0].base().nf4().unwrap().packed().as_ptr();
        assert_eq!(twin.linears()[0].base().nf4().unwrap().packed().as_ptr(), a);
    }
    model.quantize_linears(QuantMode::Nf4).unwrap();
    model.quantize_linears(QuantMode::None).unwrap();
    assert!(model.linears().iter().all(|l| !l.base().is_quantized()));
}

#[test]
fn gradients_flow_through_nf4_layers_to_the_embeddings_input() {
    let mut model = tiny_model(random_weights(&tiny_config(), 2));
    model.quantize_linears(QuantMode::Nf4Dq).unwrap();
    model.set_kernels(Kernels::Differentiable);
    let h = Var::from_tensor(&model.embed(&ids()).unwrap()).unwrap();
    let out = model.forward_from(h.as_tensor(), 0).unwrap();
    let grads = out.sqr().unwrap().mean_all().unwrap().backward().unwrap();
    let g = grads.get(h.as_tensor()).expect("the input of the NF4 blocks receives a gradient");
    assert!(g.sqr().unwrap().sum_all().unwrap().to_scalar::<f32>().unwrap() > 0.0);
}

#[test]
fn a_non_finite_weight_is_an_error_naming_the_layer() {
    let cfg = tiny_config();
    let mut weights = random_weights(&cfg, 3);
    let name = "model.layers.1.mlp.up_proj.weight";
    let mut w = weights[name].to_vec2::<f32>().unwrap();
    w[3][5] = f32::INFINITY;
    weights.insert(name.into(), Tensor::new(w, &Device::Cpu).unwrap());
    let mut model = tiny_model(weights);
    let err = model.quantize_linears(QuantMode::Nf4).unwrap_err().to_string();
    assert!(!err.contains('\n'), "{err}");
    assert!(err.contains("model.layers.1.mlp.up_proj") && err.contains("inf") && err.contains("[3, 5]"), "{err}");
}

#[test]
fn qlora_storage_keeps_the_embedding_in_bf16_and_computes_as_if_widened() {
    let mut qlora = tiny_model(random_weights(&tiny_config(), 4));
    let mut widened = qlora.clone();
    qlora.quantize_for_qlora(QuantMode::Nf4).unwrap();
    assert_eq!((qlora.embedding_dtype(), qlora.dtype()), (DType::BF16, DType::F32));
    // The reference: the same NF4 linears over an f32 embedding holding the bf16-rounded values.
    widened.quantize_linears(QuantMode::Nf4).unwrap();
    widened.set_embedding_dtype(DType::BF16).unwrap();
    widened.set_embedding_dtype(DType::F32).unwrap();
    assert_eq!(widened.embedding_dtype(), DType::F32);
    let (a, b) = (qlora.forward(&ids(), 0, None).unwrap(), widened.forward(&ids(), 0, None).unwrap());
    assert_eq!(a.dtype(), DType::F32);
    assert_eq!(max_abs_diff(&a, &b), 0.0);

    // In a graph the bf16 head passes gradients to the hidden states like the widened one.
    let grad_of = |model: &Llama| {
        let mut model = model.clone();
        model.set_kernels(Kernels::Differentiable);
        let h = Var::from_tensor(&model.embed(&ids()).unwrap()).unwrap();
        let logits = model.logits(&model.forward_from(h.as_tensor(), 0).unwrap()).unwrap();
        let grads = logits.sqr().unwrap().mean_all().unwrap().backward().unwrap();
        grads.get(h.as_tensor()).unwrap().clone()
    };
    let (ga, gb) = (grad_of(&qlora), grad_of(&widened));
    let scale = gb.abs().unwrap().flatten_all().unwrap().max(0).unwrap().to_scalar::<f32>().unwrap();
    assert!(scale > 0.0 && max_abs_diff(&ga, &gb) <= 1e-5 * scale, "{} vs scale {scale}", max_abs_diff(&ga, &gb));

    // `none` leaves everything as loaded.
    let mut dense = tiny_model(random_weights(&tiny_config(), 4));
    dense.quantize_for_qlora(QuantMode::None).unwrap();
    assert_eq!(dense.embedding_dtype(), DType::F32);
}
