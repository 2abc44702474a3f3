//! The real SmolLM2-135M against `tests/reference/smollm2_reference.json`
//! (transformers in f32 on the same GGUF, dequantized by its own loader; `just reference`).
//!
//! Needs the offline assets, so it is ignored by default: run `just test-assets`.

use candle_core::{Device, IndexOp, Tensor};
use loran_model::generate::{generate, perplexity, Decoding, GenerateOptions};
use loran_model::tokenizer::encode;
use loran_model::{load_by_name, Kernels, LoadOptions, LoadedModel};
use serde_json::Value;
use std::path::PathBuf;

fn reference() -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/reference/smollm2_reference.json");
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).unwrap()
}

fn ids_of(v: &Value) -> Vec<u32> {
    v.as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as u32).collect()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
}

fn smollm2() -> LoadedModel {
    load_by_name("smollm2-135m", &LoadOptions::default()).expect("run `just assets` first")
}

#[test]
#[ignore = "needs the real SmolLM2 asset: run `just test-assets`"]
fn smollm2_matches_the_transformers_reference() {
    let reference = reference();
    let loaded = smollm2();
    let tok = &loaded.tokenizer;

    for case in reference["tokenization"]["cases"].as_array().unwrap() {
        let text = case["text"].as_str().unwrap();
        let ids = encode(tok, text).unwrap();
        assert_eq!(ids, ids_of(&case["ids"]), "tokenization of case {}", case["name"]);
        assert_eq!(tok.decode(&ids, false).unwrap(), text, "round trip of case {}", case["name"]);
    }

    let ppl_ref = &reference["perplexity"];
    let text = reference["tokenization"]["cases"][0]["text"].as_str().unwrap();
    let ids = encode(tok, text).unwrap();
    let p = perplexity(&loaded.model, &ids).unwrap();
    let expected_ppl = ppl_ref["ppl"].as_f64().unwrap();
    assert!((p.ppl - expected_ppl).abs() < 1e-3, "ppl {} vs {expected_ppl}", p.ppl);
    for (i, (a, b)) in p.nll_per_token.iter().zip(floats(&ppl_ref["nll_per_token"])).enumerate() {
        assert!((a - b).abs() < 2e-3, "NLL of token {i}: {a} vs {b}");
    }

    let mut model = loaded.model.clone();
    model.set_kernels(Kernels::Fused);
    let input = Tensor::new(ids.as_slice(), &Device::Cpu).unwrap().unsqueeze(0).unwrap();
    let logits = model.forward(&input, 0, None).unwrap().squeeze(0).unwrap();
    let pos0: Vec<f32> = logits.i((0, 0..5)).unwrap().to_vec1().unwrap();
    for (a, b) in pos0.iter().zip(floats(&ppl_ref["logits_pos0_ids0to4_f32"])) {
        assert!((*a as f64 - b).abs() < 5e-4, "logit {a} vs {b}");
    }
    for (_, top) in reference["top10"].as_object().unwrap() {
        let pos = top["position"].as_u64().unwrap() as usize;
        let row: Vec<f32> = logits.get(pos).unwrap().to_vec1().unwrap();
        let mut order: Vec<usize> = (0..row.len()).collect();
        order.sort_by(|&a, &b| row[b].total_cmp(&row[a]));
        let got: Vec<u32> = order[..10].iter().map(|&i| i as u32).collect();
        assert_eq!(got, ids_of(&top["top10_ids"]), "top-10 at position {pos}");
    }

    let greedy = &reference["greedy"];
    let opts = GenerateOptions { max_new_tokens: 16, decoding: Decoding::Greedy, stop_tokens: vec![] };
    let out = generate(&loaded.model, &ids_of(&greedy["prompt_ids"]), &opts).unwrap();
    assert_eq!(out.tokens, ids_of(&greedy["new_ids"]));
    let answer_len = greedy["first_eos_index"].as_u64().unwrap() as usize;
    let answer = tok.decode(&out.tokens[..answer_len], true).unwrap();
    assert_eq!(answer, greedy["answer_until_eos"].as_str().unwrap());
}
