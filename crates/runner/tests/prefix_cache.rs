//! Training from cached frozen-prefix states computes the same loss and gradients
//! as the full forward.

use crate::common;
use common::examples;
use loran_adapters::{AdapterConfig, AdapterSet, LayerSelection};
use loran_datasets::BatchIter;
use loran_model::fixtures::{random_weights, tiny_config, uniform, write_hf_folder};
use loran_model::{load, Kernels, LoadOptions, ModelSource};
use loran_train::loss::target_loss;
use loran_train::prefix::PrefixCache;

#[test]
fn cached_prefix_gives_the_same_loss_and_gradients() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = tiny_config();
    write_hf_folder(dir.path(), &cfg, &random_weights(&cfg, 31)).unwrap();
    let mut model = load(&ModelSource::HfFolder(dir.path().to_path_buf()), &LoadOptions::default()).unwrap().model;
    model.set_kernels(Kernels::Differentiable);
    let adapter = AdapterConfig { r: 4, alpha: 8.0, dropout: 0.0, layers: Some(LayerSelection::Last { last: 1 }), ..AdapterConfig::default() };
    let set = AdapterSet::attach(&mut model, &adapter, 0).unwrap();
    for (i, (name, var)) in set.named_parameters().into_iter().enumerate() {
        if name.ends_with("lora_B.weight") {
            var.set(&uniform(var.dims(), 0.3, 50 + i as u64)).unwrap();
        }
    }
    assert_eq!(set.lowest_layer(), Some(1));
    let examples = examples();
    let cache = PrefixCache::new(1);
    let mut batches = BatchIter::new(examples.clone(), 3, 2, 0);
    for round in 0..3 {
        let batch = batches.next().unwrap();
        let (full, n_full) = target_loss(&model, &batch, None).unwrap();
        let (cached, n_cached) = target_loss(&model, &batch, Some((&cache, &examples))).unwrap();
        assert_eq!(n_full, n_cached);
        let (a, b) = (full.to_scalar::<f32>().unwrap(), cached.to_scalar::<f32>().unwrap());
        assert!((a - b).abs() < 1e-5, "round {round}: loss {a} vs {b}");
        let (ga, gb) = (full.backward().unwrap(), cached.backward().unwrap());
        for (name, var) in set.named_parameters() {
            let (x, y) = (ga.get(var.as_tensor()).unwrap(), gb.get(var.as_tensor()).unwrap());
            let diff = (x - y).unwrap().abs().unwrap().flatten_all().unwrap().max(0).unwrap().to_scalar::<f32>().unwrap();
            assert!(diff < 1e-5, "round {round}: gradient of {name} differs by {diff}");
        }
    }
    assert!(cache.len() >= 3 && cache.len() <= 6);
}

#[test]
fn evaluation_prompts_cached_below_the_adapters_decode_as_without_the_cache() {
    use loran_model::generate::{generate_batch, generate_batch_from, Decoding, GenerateOptions};
    use loran_train::prefix::PromptPrefixes;
    use std::sync::Arc;
    let base = loran_model::fixtures::tiny_model(32).unwrap();
    let mut tuned = base.clone();
    let adapter = AdapterConfig { r: 4, alpha: 8.0, dropout: 0.0, layers: Some(LayerSelection::Last { last: 1 }), ..AdapterConfig::default() };
    let set = AdapterSet::attach(&mut tuned, &adapter, 0).unwrap();
    for (i, (name, var)) in set.named_parameters().into_iter().enumerate() {
        if name.ends_with("lora_B.weight") {
            var.set(&uniform(var.dims(), 0.5, 70 + i as u64)).unwrap();
        }
    }
    let cut = set.lowest_layer().unwrap();
    let prompts = vec![vec![3u32, 14, 15, 92], vec![65, 35], vec![89, 79, 32, 38, 46]];
    let opts = GenerateOptions { max_new_tokens: 8, decoding: Decoding::Greedy, stop_tokens: vec![] };

    // The first cell (the base model here) fills the cache; a tuned cell reads it.
    let prefixes = PromptPrefixes::new(cut);
    let first = prefixes.batch(0, &base, &prompts).unwrap();
    let again = prefixes.batch(0, &tuned, &prompts).unwrap();
    assert!(Arc::ptr_eq(&first, &again), "same prompts, same batch: computed once");
    let cached = generate_batch_from(&tuned, &prompts, &opts, Some(&again)).unwrap();
    assert_eq!(cached, generate_batch(&tuned, &prompts, &opts).unwrap());
    assert_ne!(cached, generate_batch(&base, &prompts, &opts).unwrap(), "the adapter changes the answers");

    // Other prompts under the same batch index are recomputed, not served stale.
    let other = vec![vec![1u32, 2, 3]];
    assert_eq!(prefixes.batch(0, &base, &other).unwrap().rows(), 1);
}
