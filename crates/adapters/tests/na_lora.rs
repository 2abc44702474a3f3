//! NA-LoRA-style adapters: gradients, the mask and class rules on a hand-made gate
//! input, the schedule, per-class step scaling, merge, save/load, and the error for
//! targets that feed no gated activation.

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use loran_adapters::dropout::{SeededDropout, TrainingFlag};
use loran_adapters::na_lora::layer::{COUNTS_KEY, IMPORTANCE_KEY, MASK_KEY, OPENNESS_KEY, STEP_SCALE_KEY};
use loran_adapters::na_lora::{MaskKind, NaLoraConfig, NaLoraLinear};
use loran_adapters::seeding::stream;
use loran_adapters::{native, Adapter, AdapterConfig, AdapterSet, LayerSelection, StepHook};
use std::sync::Arc;
use loran_model::fixtures::{tiny_model, uniform};
use loran_model::{FrozenLinear, GateActivation, Kernels, LinearAdapter};

fn vec2(t: &Tensor) -> Vec<Vec<f64>> {
    t.to_dtype(DType::F64).unwrap().to_vec2::<f64>().unwrap()
}

fn vec1(t: &Tensor) -> Vec<f64> {
    t.to_dtype(DType::F64).unwrap().flatten_all().unwrap().to_vec1::<f64>().unwrap()
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f32 {
    (a - b).unwrap().abs().unwrap().flatten_all().unwrap().max(0).unwrap().to_scalar::<f32>().unwrap()
}

/// An NA-LoRA layer with the given A, B and settings, no dropout, in training mode.
fn layer(a: &Tensor, b: &Tensor, scale: f64, cfg: NaLoraConfig) -> (NaLoraLinear, TrainingFlag) {
    let training = TrainingFlag::default();
    training.set(true);
    let dropout = SeededDropout::new(0.0, stream(0, "gate", "dropout"), training.clone());
    let l = NaLoraLinear::new(Var::from_tensor(a).unwrap(), Var::from_tensor(b).unwrap(), scale, dropout, training.clone(), GateActivation::Silu, cfg);
    (l, training)
}

fn state(l: &NaLoraLinear, key: &str) -> Vec<f64> {
    vec1(&l.state().unwrap().into_iter().find(|(k, _)| k == key).unwrap().1)
}

/// SiLU's φ′ by central differences of z·σ(z), independent of the crate's closed form.
fn silu_slope_fd(z: f64) -> f64 {
    let phi = |z: f64| z / (1.0 + (-z).exp());
    let h = 1e-6;
    (phi(z + h) - phi(z - h)) / (2.0 * h)
}

/// The gate's openness φ(z)/z = σ(z), from its definition.
fn openness_direct(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// With W0 = I and B = 0 the gate pre-activation is the input itself, so the
/// statistics, the EMA, the quantile, the mask and the classes are known by hand.
#[test]
fn mask_and_classes_follow_the_rule_on_a_hand_made_gate_input() {
    let n = 4;
    let eye = Tensor::eye(n, DType::F32, &Device::Cpu).unwrap();
    let base = FrozenLinear::new(eye);
    let a = uniform(&[2, n], 0.3, 1);
    let b = Tensor::zeros((n, 2), DType::F32, &Device::Cpu).unwrap();
    let cfg = NaLoraConfig { ema: 0.5, warmup: 2, every: 2, quantile: 0.5, ..NaLoraConfig::default() };
    let (l, _) = layer(&a, &b, 1.0, cfg);
    // Two tokens per batch; channel values chosen to land in each class.
    let batch1 = [[4.0f32, -0.5, -4.0, 0.2], [4.0, -0.3, -4.0, 0.2]];
    let batch2 = [[3.0f32, -0.5, -6.0, 0.4], [4.0, -0.7, -4.0, 0.0]];
    let mean = |batches: &[[[f32; 4]; 2]], c: usize, f: &dyn Fn(f64) -> f64| -> f64 {
        // EMA with β = 0.5 after two batches: 0.5·mean(batch1) + 0.5·mean(batch2).
        let m = |b: &[[f32; 4]; 2]| (f(b[0][c] as f64) + f(b[1][c] as f64)) / 2.0;
        0.5 * m(&batches[0]) + 0.5 * m(&batches[1])
    };
    for (step, batch) in [batch1, batch2].iter().enumerate() {
        let x = Tensor::new(batch, &Device::Cpu).unwrap();
        let y = l.forward(&x, &base).unwrap();
        assert_eq!(vec2(&y), vec2(&x), "B = 0: the layer is the base");
        l.after_step(step + 1).unwrap();
        if step == 0 {
            // Before the warm-up ends: statistics only, no mask.
            assert_eq!(state(&l, MASK_KEY), vec![1.0; 4]);
            assert_eq!(state(&l, COUNTS_KEY), vec![1.0, 0.0]);
            assert!(l.step_scales().unwrap().is_empty());
        }
    }
    let importance = state(&l, IMPORTANCE_KEY);
    let openness = state(&l, OPENNESS_KEY);
    let want_i: Vec<f64> = (0..4).map(|c| mean(&[batch1, batch2], c, &|z| silu_slope_fd(z).abs())).collect();
    let want_o: Vec<f64> = (0..4).map(|c| mean(&[batch1, batch2], c, &openness_direct)).collect();
    for c in 0..4 {
        assert!((importance[c] - want_i[c]).abs() < 1e-6, "I[{c}] = {} vs {}", importance[c], want_i[c]);
        assert!((openness[c] - want_o[c]).abs() < 1e-6, "σ[{c}] = {} vs {}", openness[c], want_o[c]);
    }
    // Median of I (numpy linear interpolation) splits {ch0, ch3} (responsive) from {ch1, ch2}.
    let mut sorted = want_i.clone();
    sorted.sort_by(f64::total_cmp);
    let threshold = (sorted[1] + sorted[2]) / 2.0;
    let want_mask: Vec<f64> = want_i.iter().map(|&i| if i >= threshold { 1.0 } else { 0.0 }).collect();
    assert_eq!(want_mask, vec![1.0, 0.0, 0.0, 1.0]);
    assert_eq!(state(&l, MASK_KEY), want_mask);
    // Classes: ch0 saturated-on (mean σ ≈ 0.97 ≥ 0.9), ch1 and ch3 (z near 0) in
    // transition, ch2 closed (mean σ ≈ 0.015 ≤ 0.1).
    assert!(want_o[0] >= 0.9 && want_o[2] <= 0.1 && [1, 3].iter().all(|&c| want_o[c] > 0.1 && want_o[c] < 0.9), "{want_o:?}");
    assert_eq!(state(&l, STEP_SCALE_KEY), vec![1.0, 1.5, 0.5, 1.5]);
    assert_eq!(state(&l, COUNTS_KEY), vec![2.0, 1.0]);
    // Step 3 is not due (every 2 from step 2); step 4 is.
    for step in [3, 4] {
        l.forward(&Tensor::new(&batch2, &Device::Cpu).unwrap(), &base).unwrap();
        l.after_step(step).unwrap();
    }
    assert_eq!(state(&l, COUNTS_KEY), vec![4.0, 2.0]);
    // Evaluation forwards record nothing.
    let (eval_layer, flag) = layer(&a, &b, 1.0, NaLoraConfig::default());
    flag.set(false);
    eval_layer.forward(&Tensor::new(&batch1, &Device::Cpu).unwrap(), &base).unwrap();
    eval_layer.after_step(20).unwrap();
    assert_eq!(state(&eval_layer, COUNTS_KEY), vec![0.0, 0.0]);
}

#[test]
fn soft_mask_is_importance_over_its_max() {
    let n = 3;
    let base = FrozenLinear::new(Tensor::eye(n, DType::F32, &Device::Cpu).unwrap());
    let cfg = NaLoraConfig { mask: MaskKind::Soft, warmup: 1, every: 1, ..NaLoraConfig::default() };
    let (l, _) = layer(&uniform(&[2, n], 0.3, 1), &Tensor::zeros((n, 2), DType::F32, &Device::Cpu).unwrap(), 1.0, cfg);
    let z = [2.0f32, 0.0, -3.0];
    l.forward(&Tensor::new(&[z], &Device::Cpu).unwrap(), &base).unwrap();
    l.after_step(1).unwrap();
    let i: Vec<f64> = z.iter().map(|&v| silu_slope_fd(v as f64).abs()).collect();
    let max = i.iter().cloned().fold(0.0, f64::max);
    for (got, want) in state(&l, MASK_KEY).iter().zip(i.iter().map(|v| v / max)) {
        assert!((got - want).abs() < 1e-6, "{got} vs {want}");
    }
}

/// `L = Σ g ⊙ (x·(s·(m⊙B)·A)ᵀ)` in f64.
fn reference_loss(a: &[Vec<f64>], b: &[Vec<f64>], m: &[f64], x: &[Vec<f64>], g: &[Vec<f64>], s: f64) -> f64 {
    let (out, r, inp) = (b.len(), a.len(), a[0].len());
    let mut loss = 0.0;
    for o in 0..out {
        for i in 0..inp {
            let w: f64 = s * m[o] * (0..r).map(|k| b[o][k] * a[k][i]).sum::<f64>();
            loss += (0..x.len()).map(|t| g[t][o] * x[t][i] * w).sum::<f64>();
        }
    }
    loss
}

/// Gradients through the masked update match central differences (a soft mask, so
/// every row has its own factor).
#[test]
fn gradients_match_central_differences_with_a_mask() {
    let (inp, out, r, s) = (6, 5, 3, 0.7);
    let a = uniform(&[r, inp], 0.5, 3);
    let b = uniform(&[out, r], 0.5, 4);
    let (l, _) = layer(&a, &b, s, NaLoraConfig::default());
    let mask = [0.2, 1.0, 0.0, 0.6, 0.9];
    l.set_state(MASK_KEY, &Tensor::new(&mask.map(|v| v as f32), &Device::Cpu).unwrap()).unwrap();
    let base = FrozenLinear::new(uniform(&[out, inp], 0.3, 5));
    let x = uniform(&[4, inp], 1.0, 6);
    let g = uniform(&[4, out], 1.0, 7);
    let loss = (l.forward(&x, &base).unwrap() * &g).unwrap().sum_all().unwrap();
    let grads = loss.backward().unwrap();
    let params = l.parameters();
    let (av, bv) = (&params[0].1, &params[1].1);
    let (a64, b64, x64, g64) = (vec2(&a), vec2(&b), vec2(&x), vec2(&g));
    let h = 1e-6;
    for (which, var) in [("A", av), ("B", bv)] {
        let got = vec2(grads.get(var.as_tensor()).unwrap());
        let base64 = if which == "A" { &a64 } else { &b64 };
        for (i, row) in base64.iter().enumerate() {
            for j in 0..row.len() {
                let at = |d: f64| {
                    let mut p = base64.clone();
                    p[i][j] += d;
                    if which == "A" {
                        reference_loss(&p, &b64, &mask, &x64, &g64, s)
                    } else {
                        reference_loss(&a64, &p, &mask, &x64, &g64, s)
                    }
                };
                let fd = (at(h) - at(-h)) / (2.0 * h);
                assert!((got[i][j] - fd).abs() < 1e-4 * fd.abs().max(1.0), "d{which}[{i}][{j}] = {} vs {fd}", got[i][j]);
            }
        }
    }
    // A masked row of B (mask 0) gets no gradient.
    assert!(vec2(grads.get(bv.as_tensor()).unwrap())[2].iter().all(|&v| v == 0.0));
}

fn bits(t: &Tensor) -> Vec<u32> {
    t.flatten_all().unwrap().to_vec1::<f32>().unwrap().iter().map(|v| v.to_bits()).collect()
}

/// The step hook around AdamW: each class's rows of B move by the class factor times
/// AdamW's step, bit for bit `p_old + scale ⊙ (p_new − p_old)` (the rule the trainer
/// applied itself before the hook), and A, which has no multiplier, moves exactly as
/// AdamW moves it.
#[test]
fn the_step_hook_multiplies_each_rows_step_by_its_class_factor() {
    let (inp, out, r) = (4, 4, 2);
    let a = uniform(&[r, inp], 0.5, 8);
    let b = uniform(&[out, r], 0.5, 9);
    let (l, _) = layer(&a, &b, 1.0, NaLoraConfig::default());
    let l = Arc::new(l);
    let openness = [0.97f32, 0.5, 0.02, 0.91]; // on, transition, closed, on
    l.set_state(OPENNESS_KEY, &Tensor::new(&openness, &Device::Cpu).unwrap()).unwrap();
    l.set_state(IMPORTANCE_KEY, &Tensor::new(&[1f32, 1., 1., 1.], &Device::Cpu).unwrap()).unwrap();
    l.set_state(COUNTS_KEY, &Tensor::new(&[1f32, 0.], &Device::Cpu).unwrap()).unwrap();
    l.after_step(10).unwrap(); // the default warm-up: classes set (all-equal importance keeps every row)
    assert_eq!(state(&l, STEP_SCALE_KEY), vec![1.0, 1.5, 0.5, 1.0]);
    let scales = l.step_scales().unwrap();
    assert_eq!(scales.len(), 1);
    let (var, scale) = &scales[0];
    let a_var = l.parameters().into_iter().find(|(k, _)| k == "lora_A.weight").unwrap().1;
    let params = ParamsAdamW { lr: 0.01, ..ParamsAdamW::default() };
    let base = FrozenLinear::new(uniform(&[out, inp], 0.3, 10));
    let x = uniform(&[3, inp], 1.0, 11);
    let loss = l.forward(&x, &base).unwrap().sqr().unwrap().sum_all().unwrap();
    let grads = loss.backward().unwrap();
    // Plain AdamW on copies of A and B (a loss linear in each copy whose gradient is the original's).
    let plain = |v: &Var| {
        let copy = Var::from_tensor(&v.as_tensor().copy().unwrap()).unwrap();
        let g = grads.get(v.as_tensor()).unwrap().clone();
        let copy_grads = (copy.as_tensor() * &g).unwrap().sum_all().unwrap().backward().unwrap();
        AdamW::new(vec![copy.clone()], params.clone()).unwrap().step(&copy_grads).unwrap();
        copy
    };
    let (plain_a, plain_b) = (plain(&a_var), plain(var));
    let before = var.as_tensor().copy().unwrap();
    let rule = (&before + (plain_b.as_tensor() - &before).unwrap().broadcast_mul(scale).unwrap()).unwrap();
    // The adapter's own A and B through AdamW inside the hook.
    let mut opt = AdamW::new(vec![a_var.clone(), var.clone()], params).unwrap();
    StepHook::new(vec![l.clone() as Arc<dyn Adapter>]).run(11, || opt.step(&grads)).unwrap();
    assert_eq!(bits(var.as_tensor()), bits(&rule), "B: the rule, bit for bit");
    assert_eq!(bits(a_var.as_tensor()), bits(plain_a.as_tensor()), "A: AdamW's step untouched");
    let moved = vec2(&(var.as_tensor() - &before).unwrap());
    let plain_moved = vec2(&(plain_b.as_tensor() - &before).unwrap());
    for (row, factor) in [1.0, 1.5, 0.5, 1.0].iter().enumerate() {
        for k in 0..r {
            assert!(plain_moved[row][k].abs() > 1e-4);
            assert!((moved[row][k] - factor * plain_moved[row][k]).abs() < 1e-6, "row {row}: {} vs {factor}·{}", moved[row][k], plain_moved[row][k]);
        }
    }
    // The hook told the layer that step 11 finished: the forward's statistics are folded in.
    assert_eq!(state(&l, COUNTS_KEY), vec![2.0, 1.0]);
}

fn gate_cfg() -> AdapterConfig {
    AdapterConfig {
        method: "na-lora".into(),
        r: 4,
        alpha: 8.0,
        dropout: 0.0,
        targets: vec!["q_proj".into(), "gate_proj".into()],
        layers: Some(LayerSelection::Last { last: 1 }),
        ..AdapterConfig::default()
    }
    .with("na_lora", &NaLoraConfig { warmup: 1, every: 1, quantile: 0.5, ..NaLoraConfig::default() })
    .unwrap()
}

fn ids() -> Tensor {
    Tensor::new(&[[5u32, 77, 140, 9, 200, 33], [2, 3, 4, 5, 6, 7]], &Device::Cpu).unwrap()
}

/// Trains-looking state on a tiny model: random B, one recorded training forward, one mask update.
fn with_mask(model: &mut loran_model::Llama) -> AdapterSet {
    let set = AdapterSet::attach(model, &gate_cfg(), 3).unwrap();
    for (i, (name, var)) in set.named_parameters().into_iter().enumerate() {
        if name.ends_with("lora_B.weight") {
            var.set(&uniform(var.dims(), 0.3, 40 + i as u64)).unwrap();
        }
    }
    set.set_training(true);
    model.forward(&ids(), 0, None).unwrap();
    set.step_hook().run(1, || Ok(())).unwrap(); // a step that moves no parameter
    set.set_training(false);
    set
}

#[test]
fn only_the_gate_projection_is_an_na_lora_layer() {
    let mut model = tiny_model(1).unwrap();
    let set = with_mask(&mut model);
    let state = set.named_state().unwrap();
    let names: Vec<&str> = state.iter().map(|(n, _)| n.as_str()).collect();
    assert!(!names.is_empty() && names.iter().all(|n| n.contains(".mlp.gate_proj.na_lora_")), "{names:?}");
    let mask = vec1(&state.iter().find(|(n, _)| n.ends_with(MASK_KEY)).unwrap().1);
    let kept = mask.iter().filter(|&&m| m == 1.0).count();
    assert!(kept >= mask.len() / 2 && kept < mask.len(), "a median mask keeps half: {kept} of {}", mask.len());
    // q_proj stays plain LoRA: LoRA's keys, no state; the gate layer has LoRA's parameter count.
    let lora = AdapterSet::attach(&mut tiny_model(1).unwrap(), &AdapterConfig { method: "lora".into(), ..gate_cfg() }, 3).unwrap();
    assert_eq!(set.num_parameters(), lora.num_parameters());
    let a = |s: &AdapterSet| s.named_parameters().into_iter().map(|(n, v)| (n, vec2(v.as_tensor()))).filter(|(n, _)| n.ends_with("lora_A.weight")).collect::<Vec<_>>();
    assert_eq!(a(&set), a(&lora), "same seed, same A as LoRA");
}

#[test]
fn merge_equals_the_unmerged_forward_with_a_mask() {
    let mut model = tiny_model(2).unwrap();
    let mut set = with_mask(&mut model);
    let unmerged = model.forward(&ids(), 0, None).unwrap();
    set.merge(&mut model).unwrap();
    let merged = model.forward(&ids(), 0, None).unwrap();
    let diff = max_abs_diff(&unmerged, &merged);
    assert!(diff < 1e-5, "merged differs by {diff}");
    set.unmerge(&mut model).unwrap();
    assert_eq!(max_abs_diff(&unmerged, &model.forward(&ids(), 0, None).unwrap()), 0.0);
    // The mask matters: without it the output differs.
    let mut plain_model = tiny_model(2).unwrap();
    let plain = AdapterSet::attach(&mut plain_model, &AdapterConfig { method: "lora".into(), ..gate_cfg() }, 3).unwrap();
    for ((_, p), (_, v)) in plain.named_parameters().into_iter().zip(set.named_parameters()) {
        p.set(v.as_tensor()).unwrap();
    }
    assert!(max_abs_diff(&unmerged, &plain_model.forward(&ids(), 0, None).unwrap()) > 1e-4);
}

#[test]
fn mask_state_round_trips_through_save_and_load() {
    let mut model = tiny_model(4).unwrap();
    let set = with_mask(&mut model);
    let expected = model.forward(&ids(), 0, None).unwrap();
    let dir = tempfile::tempdir().unwrap();
    native::save(&set, dir.path(), Some("tiny"), None).unwrap();
    let mut fresh = tiny_model(4).unwrap();
    let loaded = native::load(dir.path(), &mut fresh, 99).unwrap();
    let dump = |s: &AdapterSet| s.named_state().unwrap().into_iter().map(|(n, t)| (n, vec1(&t))).collect::<Vec<_>>();
    assert_eq!(dump(&loaded), dump(&set));
    assert_eq!(max_abs_diff(&expected, &fresh.forward(&ids(), 0, None).unwrap()), 0.0);
    // A corrupt state entry names the file and the key.
    let weights = dir.path().join("adapter_model.safetensors");
    let mut tensors = candle_core::safetensors::load(&weights, &Device::Cpu).unwrap();
    let key = tensors.keys().find(|k| k.ends_with(MASK_KEY)).unwrap().clone();
    tensors.insert(key.clone(), Tensor::new(&[1f32, 0.0], &Device::Cpu).unwrap());
    candle_core::safetensors::save(&tensors, &weights).unwrap();
    let err = native::load(dir.path(), &mut tiny_model(4).unwrap(), 0).unwrap_err().to_string();
    assert!(err.contains("adapter_model.safetensors") && err.contains(MASK_KEY) && err.contains("has 2 values"), "{err}");
}

#[test]
fn targets_that_feed_no_gated_activation_are_an_error_naming_them() {
    let cfg = AdapterConfig { targets: vec!["q_proj".into(), "up_proj".into()], ..gate_cfg() };
    let err = AdapterSet::attach(&mut tiny_model(1).unwrap(), &cfg, 0).unwrap_err().to_string();
    assert!(err.starts_with("adapter.targets: method `na-lora`"), "{err}");
    assert!(err.contains("self_attn.q_proj") && err.contains("mlp.up_proj") && err.contains("add `gate_proj`"), "{err}");
}

#[test]
fn every_trainable_var_receives_a_gradient() {
    let mut model = tiny_model(5).unwrap();
    model.set_kernels(Kernels::Differentiable);
    let set = with_mask(&mut model);
    set.set_training(true);
    let loss = model.forward(&ids(), 0, None).unwrap().sqr().unwrap().mean_all().unwrap();
    let grads = loss.backward().unwrap();
    for (name, var) in set.named_parameters() {
        let g = grads.get(var.as_tensor()).unwrap_or_else(|| panic!("{name} has no gradient"));
        assert!(g.abs().unwrap().sum_all().unwrap().to_scalar::<f32>().unwrap() > 0.0, "{name}: zero gradient");
    }
}
