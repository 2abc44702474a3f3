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

/// Trains `adapter` on the tiny fixture for 6 steps with a prefix cache and the base,
/// returning each step's (loss, base loss) and the batches' example indices.
fn paired_steps(model: &loran_model::Llama, adapter: &AdapterConfig, cache: &PrefixCache) -> Vec<(f64, f64)> {
    use loran_train::config::TrainConfig;
    use loran_train::train::{train, TrainJob};
    let mut tuned = model.clone();
    let set = AdapterSet::attach(&mut tuned, adapter, 0).unwrap();
    let cfg = TrainConfig { steps: 6, lr: 3e-2, batch_size: 3, warmup_ratio: 0.0, ..TrainConfig::default() };
    let mut seen = Vec::new();
    let job = TrainJob::new(&tuned, &set, examples(), &cfg).pad_id(2).prefix(Some(cache)).base(Some(model));
    train(job, &mut |r| {
        seen.push((r.loss, r.base_loss.expect("a job with a base and a prefix cache records the base loss")));
        Ok(())
    })
    .unwrap();
    seen
}

#[test]
fn the_base_loss_beside_each_step_is_the_frozen_model_on_that_batch() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = tiny_config();
    write_hf_folder(dir.path(), &cfg, &random_weights(&cfg, 31)).unwrap();
    let base = load(&ModelSource::HfFolder(dir.path().to_path_buf()), &LoadOptions::default()).unwrap().model;
    let lora = AdapterConfig { r: 4, alpha: 8.0, dropout: 0.1, layers: Some(LayerSelection::Last { last: 1 }), ..AdapterConfig::default() };
    let cache = PrefixCache::new(1);
    let lora_steps = paired_steps(&base, &lora, &cache);

    // Independently: the same batch order (seed 0) through the base with no cache at all.
    let mut batches = BatchIter::new(examples(), 3, 2, 0);
    for (i, &(loss, base_loss)) in lora_steps.iter().enumerate() {
        let (expected, _) = target_loss(&base, &batches.next().unwrap(), None).unwrap();
        let expected = f64::from(expected.to_scalar::<f32>().unwrap());
        assert!((base_loss - expected).abs() < 1e-5, "step {}: base loss {base_loss} vs {expected}", i + 1);
        if i == 0 {
            // LoRA's B starts at zero: before the first update the adapter adds nothing.
            assert!((loss - base_loss).abs() < 1e-5, "step 1: loss {loss} vs base {base_loss}");
        }
    }
    let last = lora_steps.last().unwrap();
    assert!(last.0 < last.1 - 1e-3, "after 5 updates at a high rate LoRA beats the base on its batch: {last:?}");

    // Another adapter on the same seed sees the same batches: the same base losses, bit for bit,
    // whether read from the cache or (with a fresh cache) computed again.
    let loran = AdapterConfig { method: "loran".into(), ..lora.clone() };
    for cache in [&cache, &PrefixCache::new(1)] {
        let other: Vec<f64> = paired_steps(&base, &loran, cache).iter().map(|s| s.1).collect();
        assert_eq!(other, lora_steps.iter().map(|s| s.1).collect::<Vec<_>>());
    }
}
