//! Loading a tiny random LLaMA from an HF folder, the hub cache layout and GGUF.

use candle_core::quantized::GgmlDType;
use candle_core::{Device, Tensor};
use loran_model::fixtures::{random_weights, tiny_config, tiny_vocab, write_hf_folder, write_hub_cache};
use loran_model::load::gguf::{open_gguf, permute_qk, write_gguf};
use loran_model::load::hub::HubRepo;
use loran_model::{load, resolve, Kernels, LoadOptions, ModelSource};
use std::path::Path;

fn ids() -> Tensor {
    Tensor::new(&[[5u32, 77, 140, 9, 200, 33, 1, 260], [2, 3, 4, 5, 6, 7, 8, 9]], &Device::Cpu).unwrap()
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f32 {
    (a - b).unwrap().abs().unwrap().flatten_all().unwrap().max(0).unwrap().to_scalar::<f32>().unwrap()
}

fn store() -> loran_assets::Store {
    loran_assets::Store::new("/nonexistent/loran-home")
}

#[test]
fn hf_folder_and_hub_cache_give_identical_models() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = tiny_config();
    let weights = random_weights(&cfg, 1);
    let folder = dir.path().join("tiny");
    write_hf_folder(&folder, &cfg, &weights).unwrap();

    let source = resolve(folder.to_str().unwrap(), &store()).unwrap();
    assert_eq!(source, ModelSource::HfFolder(folder.clone()));
    let from_folder = load(&source, &LoadOptions::default()).unwrap();
    assert_eq!(from_folder.model.config(), &cfg);

    let cache = dir.path().join("hub");
    write_hub_cache(&cache, "loran-test/tiny-llama", "0123456789abcdef0123456789abcdef01234567", &folder).unwrap();
    let source = resolve("loran-test/tiny-llama", &store()).unwrap();
    assert_eq!(source, ModelSource::Hub(HubRepo::parse("loran-test/tiny-llama").unwrap()));
    let opts = LoadOptions { hub_cache: Some(cache.clone()), ..LoadOptions::default() };
    let from_hub = load(&source, &opts).unwrap();

    // A pinned commit resolves through its snapshot folder.
    let pinned = ModelSource::Hub(HubRepo::parse("loran-test/tiny-llama@0123456789abcdef0123456789abcdef01234567").unwrap());
    let from_commit = load(&pinned, &opts).unwrap();

    let a = from_folder.model.forward(&ids(), 0, None).unwrap();
    let b = from_hub.model.forward(&ids(), 0, None).unwrap();
    let c = from_commit.model.forward(&ids(), 0, None).unwrap();
    assert_eq!(a.dims(), &[2, 8, cfg.vocab_size]);
    assert_eq!(max_abs_diff(&a, &b), 0.0);
    assert_eq!(max_abs_diff(&a, &c), 0.0);
    // The loaded weights are the written ones.
    let q = from_hub.model.linears()[0].base().weight().unwrap();
    assert_eq!(max_abs_diff(&q, &weights["model.layers.0.self_attn.q_proj.weight"]), 0.0);
    assert_eq!(from_hub.model.linears()[0].name(), "model.layers.0.self_attn.q_proj");
}

#[test]
fn hub_file_missing_from_cache_is_an_offline_error_naming_repo_and_file() {
    let dir = tempfile::tempdir().unwrap();
    std::env::set_var("HF_HUB_OFFLINE", "1");
    let opts = LoadOptions { hub_cache: Some(dir.path().to_path_buf()), ..LoadOptions::default() };
    let source = ModelSource::Hub(HubRepo::parse("nobody/absent-model").unwrap());
    let err = load(&source, &opts).err().expect("must fail").to_string();
    assert!(err.contains("nobody/absent-model") && err.contains("config.json") && err.contains("HF_HUB_OFFLINE"), "{err}");
}

fn write_gguf_fixture(dir: &Path, dtype: GgmlDType) -> (std::path::PathBuf, std::path::PathBuf) {
    let cfg = tiny_config();
    let weights = random_weights(&cfg, 2);
    let folder = dir.join("hf");
    write_hf_folder(&folder, &cfg, &weights).unwrap();
    let gguf = dir.join(format!("tiny-{dtype:?}.gguf"));
    write_gguf(&gguf, &cfg, &weights, dtype, Some(&tiny_vocab())).unwrap();
    (folder, gguf)
}

#[test]
fn gguf_round_trip_undoes_the_qk_permutation() {
    let dir = tempfile::tempdir().unwrap();
    let (folder, gguf) = write_gguf_fixture(dir.path(), GgmlDType::F32);
    let cfg = tiny_config();
    let weights = random_weights(&cfg, 2);

    // On disk, Q and K rows are in llama.cpp's interleaved order.
    let mut file = open_gguf(&gguf).unwrap();
    let mut reader = std::fs::File::open(&gguf).unwrap();
    let raw_q = file.content.tensor(&mut reader, "blk.1.attn_q.weight", &Device::Cpu).unwrap().dequantize(&Device::Cpu).unwrap();
    let raw_k = file.content.tensor(&mut reader, "blk.1.attn_k.weight", &Device::Cpu).unwrap().dequantize(&Device::Cpu).unwrap();
    let hf_q = &weights["model.layers.1.self_attn.q_proj.weight"];
    let hf_k = &weights["model.layers.1.self_attn.k_proj.weight"];
    assert_eq!(max_abs_diff(&raw_q, &permute_qk(hf_q, cfg.num_attention_heads).unwrap()), 0.0);
    assert_eq!(max_abs_diff(&raw_k, &permute_qk(hf_k, cfg.num_key_value_heads).unwrap()), 0.0);
    assert!(max_abs_diff(&raw_q, hf_q) > 0.0, "the stored Q must differ from HF order");
    assert_eq!(file.llama_config(&gguf).unwrap(), cfg);
    let _ = &mut file;

    // Loaded back, every weight is the original HF one and the logits agree exactly.
    let loaded = load(&ModelSource::Gguf(gguf.clone()), &LoadOptions::default()).unwrap();
    for lin in loaded.model.linears() {
        let original = &weights[&format!("{}.weight", lin.name())];
        assert_eq!(max_abs_diff(&lin.base().weight().unwrap(), original), 0.0, "{}", lin.name());
    }
    let hf = load(&ModelSource::HfFolder(folder), &LoadOptions::default()).unwrap();
    let a = hf.model.forward(&ids(), 0, None).unwrap();
    let b = loaded.model.forward(&ids(), 0, None).unwrap();
    assert_eq!(max_abs_diff(&a, &b), 0.0);
}

#[test]
fn quantized_gguf_dequantizes_close_to_the_f32_model() {
    let dir = tempfile::tempdir().unwrap();
    let (folder, gguf) = write_gguf_fixture(dir.path(), GgmlDType::Q8_0);
    let hf = load(&ModelSource::HfFolder(folder), &LoadOptions::default()).unwrap();
    let q8 = load(&ModelSource::Gguf(gguf), &LoadOptions::default()).unwrap();
    let a = hf.model.forward(&ids(), 0, None).unwrap();
    let b = q8.model.forward(&ids(), 0, None).unwrap();
    let scale = a.abs().unwrap().flatten_all().unwrap().max(0).unwrap().to_scalar::<f32>().unwrap();
    let diff = max_abs_diff(&a, &b);
    assert!(diff > 0.0, "Q8_0 must not be lossless");
    assert!(diff < 0.02 * scale, "Q8_0 logits drift {diff} (scale {scale})");
}

#[test]
fn kv_cache_decoding_matches_the_full_forward() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = tiny_config();
    write_hf_folder(dir.path(), &cfg, &random_weights(&cfg, 3)).unwrap();
    let mut model = load(&ModelSource::HfFolder(dir.path().to_path_buf()), &LoadOptions::default()).unwrap().model;
    model.set_kernels(Kernels::Fused);
    let ids = ids();
    let full = model.forward(&ids, 0, None).unwrap();
    let mut cache = model.new_cache(2);
    let first = model.forward(&ids.narrow(1, 0, 5).unwrap(), 0, Some(&mut cache)).unwrap();
    let mut pieces = vec![first];
    for t in 5..8 {
        pieces.push(model.forward(&ids.narrow(1, t, 1).unwrap(), t, Some(&mut cache)).unwrap());
    }
    assert_eq!(cache.seq_len(), 8);
    let incremental = Tensor::cat(&pieces, 1).unwrap();
    assert!(max_abs_diff(&full, &incremental) < 1e-5);
}

#[test]
fn fused_and_differentiable_kernels_agree() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = tiny_config();
    write_hf_folder(dir.path(), &cfg, &random_weights(&cfg, 4)).unwrap();
    let mut model = load(&ModelSource::HfFolder(dir.path().to_path_buf()), &LoadOptions::default()).unwrap().model;
    model.set_kernels(Kernels::Differentiable);
    let a = model.forward(&ids(), 0, None).unwrap();
    model.set_kernels(Kernels::Fused);
    let b = model.forward(&ids(), 0, None).unwrap();
    assert!(max_abs_diff(&a, &b) < 1e-5);
}

#[test]
fn untied_head_is_loaded_and_used() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = tiny_config();
    cfg.tie_word_embeddings = false;
    let weights = random_weights(&cfg, 5);
    write_hf_folder(dir.path(), &cfg, &weights).unwrap();
    let model = load(&ModelSource::HfFolder(dir.path().to_path_buf()), &LoadOptions::default()).unwrap().model;
    let hidden = model.forward_hidden(&ids(), 0, None, None).unwrap();
    let expected = hidden.broadcast_matmul(&weights["lm_head.weight"].t().unwrap()).unwrap();
    assert!(max_abs_diff(&model.logits(&hidden).unwrap(), &expected) < 1e-5);
}

/// Cross-check against candle-transformers' own LLaMA on the same safetensors.
#[test]
fn logits_match_candle_transformers_llama() {
    use candle_transformers::models::llama as reference;
    let dir = tempfile::tempdir().unwrap();
    let cfg = tiny_config();
    write_hf_folder(dir.path(), &cfg, &random_weights(&cfg, 6)).unwrap();
    let ours = load(&ModelSource::HfFolder(dir.path().to_path_buf()), &LoadOptions::default()).unwrap().model;

    let json = std::fs::read_to_string(dir.path().join("config.json")).unwrap();
    let ref_cfg: reference::LlamaConfig = serde_json::from_str(&json).unwrap();
    let ref_cfg = ref_cfg.into_config(false);
    let vb = unsafe {
        candle_nn::VarBuilder::from_mmaped_safetensors(&[dir.path().join("model.safetensors")], candle_core::DType::F32, &Device::Cpu)
    }
    .unwrap();
    let theirs = reference::Llama::load(vb, &ref_cfg).unwrap();
    let ids = ids().narrow(0, 0, 1).unwrap();
    let mut cache = reference::Cache::new(false, candle_core::DType::F32, &ref_cfg, &Device::Cpu).unwrap();
    let their_last = theirs.forward(&ids, 0, &mut cache).unwrap().squeeze(0).unwrap();
    let our_all = ours.forward(&ids, 0, None).unwrap();
    let our_last = our_all.squeeze(0).unwrap().get(7).unwrap();
    let diff = max_abs_diff(&our_last, &their_last);
    assert!(diff < 1e-4, "max |Δlogit| = {diff}");
}

#[test]
fn batched_generation_matches_one_prompt_at_a_time() {
    use loran_model::generate::{generate, generate_batch, Decoding, GenerateOptions};
    let dir = tempfile::tempdir().unwrap();
    let cfg = tiny_config();
    write_hf_folder(dir.path(), &cfg, &random_weights(&cfg, 9)).unwrap();
    let model = load(&ModelSource::HfFolder(dir.path().to_path_buf()), &LoadOptions::default()).unwrap().model;
    let prompts = vec![vec![5u32, 77, 140], vec![9, 200, 33, 1, 260, 17, 18], vec![42]];
    // A stop token that random weights emit now and then, so rows end at different steps.
    let single_runs: Vec<_> = prompts
        .iter()
        .map(|p| generate(&model, p, &GenerateOptions { max_new_tokens: 12, decoding: Decoding::Greedy, stop_tokens: vec![] }).unwrap())
        .collect();
    let stop = single_runs[0].tokens[4];
    let opts = GenerateOptions { max_new_tokens: 12, decoding: Decoding::Greedy, stop_tokens: vec![stop] };
    let batched = generate_batch(&model, &prompts, &opts).unwrap();
    for (p, got) in prompts.iter().zip(&batched) {
        let alone = generate(&model, p, &opts).unwrap();
        assert_eq!(got, &alone, "prompt {p:?}");
    }
    let first_stop = single_runs[0].tokens.iter().position(|&t| t == stop).unwrap();
    assert!(batched[0].stopped && batched[0].tokens.len() == first_stop);
}
