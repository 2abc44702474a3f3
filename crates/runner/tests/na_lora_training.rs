//! NA-LoRA-style adapters through the trainer: statistics once per step (also under
//! activation checkpointing) over the real tokens only, masks on schedule, and each
//! class's rows of B stepping by its factor times the optimizer's step.

use crate::common;
use common::examples;
use candle_core::{DType, Tensor};
use loran_adapters::na_lora::NaLoraConfig;
use loran_adapters::{AdapterConfig, AdapterSet, LayerSelection};
use loran_model::fixtures::{random_weights, tiny_config, write_hf_folder};
use loran_model::{load, LoadOptions, ModelSource};
use loran_train::config::TrainConfig;
use loran_train::train::{StepOutcome, TrainJob, Trainer};

/// Trains `steps` steps of NA-LoRA on q_proj and gate_proj of the top layer; returns the
/// set and B of the gate layer after each step.
fn train(na: NaLoraConfig, steps: usize, checkpointing: bool) -> (AdapterSet, Vec<Vec<Vec<f64>>>) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = tiny_config();
    write_hf_folder(dir.path(), &cfg, &random_weights(&cfg, 31)).unwrap();
    let mut model = load(&ModelSource::HfFolder(dir.path().to_path_buf()), &LoadOptions::default()).unwrap().model;
    let adapter = AdapterConfig {
        method: "na-lora".into(),
        r: 4,
        alpha: 8.0,
        dropout: 0.0,
        targets: vec!["q_proj".into(), "gate_proj".into()],
        layers: Some(LayerSelection::Last { last: 1 }),
        ..AdapterConfig::default()
    }
    .with("na_lora", &na)
    .unwrap();
    let set = AdapterSet::attach(&mut model, &adapter, 0).unwrap();
    let train = TrainConfig { steps, lr: 1e-2, batch_size: 3, gradient_checkpointing: checkpointing, cache_frozen_prefix: false, ..TrainConfig::default() };
    let mut trainer = Trainer::new(TrainJob::new(&model, &set, examples(), &train).pad_id(2)).unwrap();
    let gate_b = set.named_parameters().into_iter().find(|(n, _)| n.ends_with("gate_proj.lora_B.weight")).unwrap().1;
    let mut history = Vec::new();
    for _ in 0..steps {
        let StepOutcome::Stepped(_) = trainer.step().unwrap() else { panic!("the step diverged") };
        // The examples differ in length, so every batch of three has padding, and the
        // trainer told the adapters where it is.
        let valid = set.valid_tokens().get().expect("the trainer sets the batch's valid tokens");
        assert!(valid.contains(&false) && valid.contains(&true));
        history.push(gate_b.as_tensor().to_dtype(DType::F64).unwrap().to_vec2::<f64>().unwrap());
    }
    (set, history)
}

fn state(set: &AdapterSet, key: &str) -> Vec<f64> {
    let t: Tensor = set.named_state().unwrap().into_iter().find(|(n, _)| n.ends_with(key)).unwrap().1;
    t.to_dtype(DType::F64).unwrap().to_vec1::<f64>().unwrap()
}

#[test]
fn statistics_count_once_per_step_and_masks_follow_the_schedule() {
    let na = NaLoraConfig { warmup: 3, every: 3, quantile: 0.5, ..NaLoraConfig::default() };
    for checkpointing in [false, true] {
        let (set, _) = train(na.clone(), 7, checkpointing);
        // 7 EMA updates (a checkpointed block's recomputation does not count twice);
        // masks at steps 3 and 6.
        assert_eq!(state(&set, "na_lora_counts"), vec![7.0, 2.0], "checkpointing {checkpointing}");
        let mask = state(&set, "na_lora_mask");
        let kept = mask.iter().filter(|&&m| m == 1.0).count();
        assert!(kept >= mask.len() / 2 && kept < mask.len(), "median mask keeps {kept} of {}", mask.len());
    }
}

#[test]
fn each_class_steps_by_its_factor_after_the_first_mask() {
    // The same run twice, once with every factor 1: identical until the classes are set
    // at step 3, then step 4 moves each row of B by its class factor times the plain step.
    let uniform = NaLoraConfig { warmup: 3, every: 3, quantile: 0.0, scale_on: 1.0, scale_transition: 1.0, scale_closed: 1.0, ..NaLoraConfig::default() };
    // Thresholds that put this model's channels into all three classes: between the
    // lowest third and the rest, and between the highest third and the rest, of the
    // mean openness the classes are set from (after step 3).
    let (at_three, _) = train(uniform.clone(), 3, false);
    let mut open = state(&at_three, "na_lora_openness");
    open.sort_by(f64::total_cmp);
    let (k, n) = (open.len() / 3, open.len());
    let (sigma_closed, sigma_on) = ((open[k - 1] + open[k]) / 2.0, (open[n - k - 1] + open[n - k]) / 2.0);
    let classes = NaLoraConfig { scale_on: 1.0, scale_transition: 2.0, scale_closed: 0.25, sigma_on, sigma_closed, ..uniform.clone() };
    let (plain_set, plain) = train(uniform, 4, false);
    let (set, scaled) = train(classes.clone(), 4, false);
    assert_eq!(plain[2], scaled[2], "identical through step 3");
    // The factors set at step 3 (the class rule itself is checked in the adapters crate).
    let factors = state(&set, "na_lora_step_scale");
    let openness = state(&set, "na_lora_openness");
    assert_eq!(openness, state(&plain_set, "na_lora_openness"));
    for want in [1.0, 2.0, 0.25] {
        assert!(factors.contains(&want), "no channel with factor {want}: σ = {openness:?}");
    }
    let mut checked = 0;
    for (row, f) in factors.iter().enumerate() {
        for k in 0..plain[3][row].len() {
            let (d_plain, d_scaled) = (plain[3][row][k] - plain[2][row][k], scaled[3][row][k] - scaled[2][row][k]);
            if d_plain.abs() > 1e-6 {
                assert!((d_scaled - f * d_plain).abs() < 1e-6 + 1e-4 * d_plain.abs(), "row {row}: {d_scaled} vs {f}·{d_plain}");
                checked += 1;
            }
        }
    }
    assert!(checked > factors.len(), "only {checked} entries moved");
}
