//! The NoLoRA-style (reconstructed) and Sine-LoRA baselines: gradients against f64
//! finite differences, NoLoRA = LoRA at init, merge behaviour, Sine-LoRA's first-order
//! match with LoRA and its formula, gradients through a tiny model, parameter counts.

use candle_core::{DType, Device, Tensor, Var};
use loran_adapters::dropout::{SeededDropout, TrainingFlag};
use loran_adapters::nolora::NoLoraLinear;
use loran_adapters::registry::{find_method, BuildFn, LayerSpec};
use loran_adapters::seeding::stream;
use loran_adapters::sine_lora::SineLoraLinear;
use loran_adapters::{Adapter, AdapterConfig, AdapterSet};
use loran_model::fixtures::{tiny_config, tiny_model, uniform};
use loran_model::{FrozenLinear, Kernels, LinearAdapter};
use std::sync::Arc;

type Mat = Vec<Vec<f64>>;

fn ids() -> Tensor {
    Tensor::new(&[[5u32, 77, 140, 9, 200, 33], [2, 3, 4, 5, 6, 7]], &Device::Cpu).unwrap()
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f32 {
    (a - b).unwrap().abs().unwrap().flatten_all().unwrap().max(0).unwrap().to_scalar::<f32>().unwrap()
}

/// Any tensor as rows of its last dimension, in f64 (a vector is one row).
fn mat(t: &Tensor) -> Mat {
    let t = t.to_dtype(DType::F64).unwrap();
    let cols = *t.dims().last().unwrap();
    t.reshape((t.elem_count() / cols, cols)).unwrap().to_vec2::<f64>().unwrap()
}

fn bits(t: &Tensor) -> Vec<u32> {
    t.flatten_all().unwrap().to_vec1::<f32>().unwrap().iter().map(|v| v.to_bits()).collect()
}

fn no_dropout() -> SeededDropout {
    SeededDropout::new(0.0, stream(0, "proj", "dropout"), TrainingFlag::default())
}

fn cfg(method: &str, r: usize) -> AdapterConfig {
    AdapterConfig { method: method.into(), r, alpha: 2.0 * r as f64, dropout: 0.0, ..AdapterConfig::default() }
}

/// Builds one layer's adapter with `build` over `base`, seed 7, layer name `proj`.
fn build_layer(build: BuildFn, cfg: &AdapterConfig, base: &FrozenLinear, training: TrainingFlag) -> Arc<dyn Adapter> {
    let spec = LayerSpec {
        name: "proj",
        in_features: base.in_features(),
        out_features: base.out_features(),
        config: cfg,
        seed: 7,
        training,
        valid_tokens: Default::default(),
        device: &Device::Cpu,
        base,
        gate: None,
    };
    build(&spec).unwrap()
}

fn param(adapter: &dyn Adapter, key: &str) -> Var {
    adapter.parameters().into_iter().find(|(k, _)| k == key).unwrap_or_else(|| panic!("no parameter {key}")).1
}

/// Checks the autograd gradient of every parameter against central differences of `loss`
/// (an f64 function of all parameters as matrices), perturbing one entry at a time.
fn check_gradients(what: &str, vars: &[(&str, Var)], grads: &candle_core::backprop::GradStore, loss: &dyn Fn(&[Mat]) -> f64, h: f64, tol: f64) {
    let values: Vec<Mat> = vars.iter().map(|(_, v)| mat(v.as_tensor())).collect();
    for (p, (name, var)) in vars.iter().enumerate() {
        let grad = mat(grads.get(var.as_tensor()).unwrap_or_else(|| panic!("{what}: no gradient for {name}")));
        let (mut worst, mut largest) = (0.0f64, 0.0f64);
        for row in 0..values[p].len() {
            for col in 0..values[p][0].len() {
                let mut plus = values.clone();
                plus[p][row][col] += h;
                let mut minus = values.clone();
                minus[p][row][col] -= h;
                let fd = (loss(&plus) - loss(&minus)) / (2.0 * h);
                worst = worst.max((fd - grad[row][col]).abs());
                largest = largest.max(fd.abs());
            }
        }
        assert!(largest > 1e-3, "{what}: dL/d{name} is trivially small ({largest})");
        assert!(worst <= tol * largest.max(1.0), "{what}: dL/d{name} differs from finite differences by {worst} (largest {largest})");
    }
}

/// `Σ g ⊙ (s·B·[m ⊙ (z + β⊙tanh(γ⊙z))])`, z = A·x per token, in f64. `p` = [A, B, β, γ, m].
fn nolora_loss(p: &[Mat], x: &Mat, g: &Mat, s: f64) -> f64 {
    let (a, b, beta, gamma, m) = (&p[0], &p[1], &p[2][0], &p[3][0], &p[4][0]);
    let mut loss = 0.0;
    for (x, g) in x.iter().zip(g) {
        let h: Vec<f64> = (0..a.len())
            .map(|k| {
                let z: f64 = a[k].iter().zip(x).map(|(a, x)| a * x).sum();
                m[k] * (z + beta[k] * (gamma[k] * z).tanh())
            })
            .collect();
        for (o, g) in g.iter().enumerate() {
            loss += g * s * b[o].iter().zip(&h).map(|(b, h)| b * h).sum::<f64>();
        }
    }
    loss
}

/// `sin(ω·B·A)/g` `[out, in]` in f64.
fn sine_delta(a: &Mat, b: &Mat, omega: f64, gain: f64) -> Mat {
    b.iter().map(|b| (0..a[0].len()).map(|i| (omega * (0..a.len()).map(|k| b[k] * a[k][i]).sum::<f64>()).sin() / gain).collect()).collect()
}

/// `Σ g ⊙ (x·ΔWᵀ)` for Sine-LoRA in f64. `p` = [A, B].
fn sine_loss(p: &[Mat], x: &Mat, g: &Mat, omega: f64, gain: f64) -> f64 {
    let dw = sine_delta(&p[0], &p[1], omega, gain);
    let mut loss = 0.0;
    for (x, g) in x.iter().zip(g) {
        for (o, g) in g.iter().enumerate() {
            loss += g * dw[o].iter().zip(x).map(|(w, x)| w * x).sum::<f64>();
        }
    }
    loss
}

/// NoLoRA's autograd gradients of A, B, β, γ and m match central differences of an
/// f64 re-implementation, with β, γ, m moved away from init so the tanh terms matter.
#[test]
fn nolora_gradients_match_central_differences() {
    let (r, inp, out, s) = (3, 5, 4, 0.7);
    let a = Var::from_tensor(&uniform(&[r, inp], 0.8, 1)).unwrap();
    let b = Var::from_tensor(&uniform(&[out, r], 0.8, 2)).unwrap();
    let beta = Var::from_tensor(&uniform(&[r], 0.9, 3)).unwrap();
    let gamma = Var::from_tensor(&(uniform(&[r], 0.5, 4) + 1.0).unwrap()).unwrap();
    let m = Var::from_tensor(&(uniform(&[r], 0.5, 5) + 1.0).unwrap()).unwrap();
    let x = uniform(&[2, 3, inp], 1.0, 6);
    let g = uniform(&[2, 3, out], 1.0, 7);
    let base = FrozenLinear::new(uniform(&[out, inp], 0.3, 8));
    let layer = NoLoraLinear::new(a.clone(), b.clone(), beta.clone(), gamma.clone(), m.clone(), s, no_dropout());

    let loss = (layer.forward(&x, &base).unwrap() * &g).unwrap().sum_all().unwrap();
    let grads = loss.backward().unwrap();
    let vars = [("A", a), ("B", b), ("beta", beta), ("gamma", gamma), ("m", m)];
    let (x64, g64) = (mat(&x), mat(&g));
    let reference = |p: &[Mat]| nolora_loss(p, &x64, &g64, s);

    let params: Vec<Mat> = vars.iter().map(|(_, v)| mat(v.as_tensor())).collect();
    let base_loss = (base.forward(&x).unwrap() * &g).unwrap().sum_all().unwrap().to_scalar::<f32>().unwrap() as f64;
    let (got, want) = (loss.to_scalar::<f32>().unwrap() as f64, reference(&params) + base_loss);
    assert!((got - want).abs() < 1e-4 * (1.0 + want.abs()), "loss {got} vs reference {want}");
    // The nonlinearity is in play: with β = 0 the loss would differ.
    let mut linear = params.clone();
    linear[2][0].iter_mut().for_each(|v| *v = 0.0);
    assert!((reference(&linear) - reference(&params)).abs() > 0.1, "the tanh terms should matter here");

    check_gradients("nolora", &vars, &grads, &reference, 1e-5, 1e-5);
}

/// Sine-LoRA's autograd gradients of A and B (B nonzero) match central differences of
/// an f64 re-implementation, at a low frequency and at the default ω = 100 with g = ω/s.
#[test]
fn sine_lora_gradients_match_central_differences() {
    let (r, inp, out) = (3, 5, 4);
    // (ω, g, step, tolerance): at ω = 100 the sine's period in B·A is 0.06, so smaller steps,
    // and f32's rounding of B·A (~1e-7) moves the phase by ~1e-5 rad.
    for (omega, gain, h, tol) in [(4.0, 1.5, 1e-5, 1e-5), (100.0, 100.0 / 0.7, 1e-6, 1e-4)] {
        let a = Var::from_tensor(&uniform(&[r, inp], 0.8, 11)).unwrap();
        let b = Var::from_tensor(&uniform(&[out, r], 0.8, 12)).unwrap();
        let x = uniform(&[2, 3, inp], 1.0, 13);
        let g = uniform(&[2, 3, out], 1.0, 14);
        let base = FrozenLinear::new(uniform(&[out, inp], 0.3, 15));
        let layer = SineLoraLinear::new(a.clone(), b.clone(), omega, gain, no_dropout());

        let loss = (layer.forward(&x, &base).unwrap() * &g).unwrap().sum_all().unwrap();
        let grads = loss.backward().unwrap();
        let (x64, g64) = (mat(&x), mat(&g));
        let reference = |p: &[Mat]| sine_loss(p, &x64, &g64, omega, gain);
        let base_loss = (base.forward(&x).unwrap() * &g).unwrap().sum_all().unwrap().to_scalar::<f32>().unwrap() as f64;
        let (got, want) = (loss.to_scalar::<f32>().unwrap() as f64, reference(&[mat(a.as_tensor()), mat(b.as_tensor())]) + base_loss);
        assert!((got - want).abs() < 1e-4 * (1.0 + want.abs()), "ω = {omega}: loss {got} vs reference {want}");
        check_gradients(&format!("sine-lora ω = {omega}"), &[("A", a), ("B", b)], &grads, &reference, h, tol);
    }
}

/// At init (β = 0, γ = 1, m = 1) NoLoRA is LoRA bit for bit: the same A from the same
/// seed, and for the same nonzero B the same outputs, with and without dropout.
#[test]
fn nolora_at_init_equals_lora_exactly() {
    let (inp, out) = (12, 10);
    let base = FrozenLinear::new(uniform(&[out, inp], 0.3, 21));
    let config = AdapterConfig { dropout: 0.3, ..cfg("nolora", 4) };
    let (lora_flag, nolora_flag) = (TrainingFlag::default(), TrainingFlag::default());
    let lora = build_layer(find_method("lora").unwrap().build.unwrap(), &config, &base, lora_flag.clone());
    let nolora = build_layer(find_method("nolora").unwrap().build.unwrap(), &config, &base, nolora_flag.clone());
    assert_eq!(bits(param(&*lora, "lora_A.weight").as_tensor()), bits(param(&*nolora, "lora_A.weight").as_tensor()));
    let b = uniform(&[out, 4], 0.5, 22);
    param(&*lora, "lora_B.weight").set(&b).unwrap();
    param(&*nolora, "lora_B.weight").set(&b).unwrap();
    let x = uniform(&[2, 3, inp], 1.0, 23);
    let (y_lora, y_nolora) = (lora.forward(&x, &base).unwrap(), nolora.forward(&x, &base).unwrap());
    assert!(max_abs_diff(&y_lora, &base.forward(&x).unwrap()) > 1e-2, "B should change the output");
    assert_eq!(bits(&y_lora), bits(&y_nolora));
    // Training mode: both draw the same dropout mask from the layer's seeded stream.
    lora_flag.set(true);
    nolora_flag.set(true);
    let (y_lora, y_nolora) = (lora.forward(&x, &base).unwrap(), nolora.forward(&x, &base).unwrap());
    assert_eq!(bits(&y_lora), bits(&y_nolora));
}

/// Gives every B (and NoLoRA's β) a seeded nonzero value, the same for the same module name.
fn perturb(set: &AdapterSet) {
    for (name, var) in set.named_parameters() {
        let seed = name.bytes().fold(0u64, |h, c| h.wrapping_mul(31).wrapping_add(c as u64));
        if name.ends_with("lora_B.weight") || name.ends_with("nolora_beta") {
            var.set(&uniform(var.dims(), 0.5, seed)).unwrap();
        }
    }
}

#[test]
fn nolora_and_lora_give_the_same_logits_on_a_tiny_model() {
    let mut lora_model = tiny_model(1).unwrap();
    let mut nolora_model = tiny_model(1).unwrap();
    let lora = AdapterSet::attach(&mut lora_model, &cfg("lora", 4), 7).unwrap();
    let nolora = AdapterSet::attach(&mut nolora_model, &cfg("nolora", 4), 7).unwrap();
    // Only B: β stays at 0, so NoLoRA is at its LoRA-equivalent init.
    for set in [&lora, &nolora] {
        for (name, var) in set.named_parameters() {
            if name.ends_with("lora_B.weight") {
                let seed = name.bytes().fold(0u64, |h, c| h.wrapping_mul(31).wrapping_add(c as u64));
                var.set(&uniform(var.dims(), 0.5, seed)).unwrap();
            }
        }
    }
    let plain = tiny_model(1).unwrap().forward(&ids(), 0, None).unwrap();
    let (l, n) = (lora_model.forward(&ids(), 0, None).unwrap(), nolora_model.forward(&ids(), 0, None).unwrap());
    assert!(max_abs_diff(&l, &plain) > 1e-3, "the adapters should change the logits");
    assert_eq!(max_abs_diff(&l, &n), 0.0);
}

#[test]
fn nolora_cannot_be_merged() {
    let mut model = tiny_model(3).unwrap();
    let mut set = AdapterSet::attach(&mut model, &cfg("nolora", 4), 0).unwrap();
    perturb(&set);
    let before = model.forward(&ids(), 0, None).unwrap();
    let err = set.merge(&mut model).unwrap_err().to_string();
    assert!(err.contains("cannot be merged") && err.contains("nolora") && err.contains("per token"), "{err}");
    assert!(!set.is_merged());
    assert!(model.linears().iter().filter(|l| l.adapter().is_some()).count() == set.adapters().len());
    assert_eq!(max_abs_diff(&model.forward(&ids(), 0, None).unwrap(), &before), 0.0);
}

#[test]
fn sine_lora_merge_equals_the_unmerged_forward_and_unmerge_restores_exactly() {
    for sine in [None, Some((30.0, 2.0))] {
        let mut model = tiny_model(3).unwrap();
        let originals: Vec<Tensor> = model.linears().iter().map(|l| l.base().weight().unwrap()).collect();
        let mut config = AdapterConfig { dropout: 0.3, ..cfg("sine-lora", 4) };
        if let Some((omega, gain)) = sine {
            config = config.with("sine.omega", omega).unwrap().with("sine.gain", gain).unwrap();
        }
        let mut set = AdapterSet::attach(&mut model, &config, 0).unwrap();
        perturb(&set);
        set.set_training(false);
        let plain = tiny_model(3).unwrap().forward(&ids(), 0, None).unwrap();
        let unmerged = model.forward(&ids(), 0, None).unwrap();
        assert!(max_abs_diff(&unmerged, &plain) > 1e-3, "{sine:?}: the adapters should change the output");
        set.merge(&mut model).unwrap();
        assert!(model.linears().iter().all(|l| l.adapter().is_none()));
        let merged = model.forward(&ids(), 0, None).unwrap();
        assert!(max_abs_diff(&merged, &unmerged) < 1e-5, "{sine:?}: merge drift {}", max_abs_diff(&merged, &unmerged));
        set.unmerge(&mut model).unwrap();
        for (l, w) in model.linears().iter().zip(&originals) {
            assert_eq!(max_abs_diff(&l.base().weight().unwrap(), w), 0.0);
        }
        assert_eq!(max_abs_diff(&model.forward(&ids(), 0, None).unwrap(), &unmerged), 0.0);
    }
}

/// `s·B·A` `[out, in]` in f64.
fn lora_delta(a: &Mat, b: &Mat, s: f64) -> Mat {
    b.iter().map(|b| (0..a[0].len()).map(|i| s * (0..a.len()).map(|k| b[k] * a[k][i]).sum::<f64>()).collect()).collect()
}

/// Largest |p − q| and largest |q| over two matrices.
fn worst_and_largest(p: &Mat, q: &Mat) -> (f64, f64) {
    let pairs = p.iter().flatten().zip(q.iter().flatten());
    pairs.fold((0.0f64, 0.0f64), |(w, l), (p, q)| (w.max((p - q).abs()), l.max(q.abs())))
}

/// With the default g = ω/s, a small B·A gives ΔW ≈ s·B·A (LoRA to first order); a large
/// one does not (so the comparison can fail).
#[test]
fn sine_lora_default_gain_matches_lora_to_first_order() {
    let (inp, out) = (16, 6);
    let base = FrozenLinear::new(uniform(&[out, inp], 0.3, 31));
    let config = AdapterConfig { alpha: 8.0, ..cfg("sine-lora", 4) }; // s = 2, ω = 100, g = 50
    let s = config.scale();
    let sine = build_layer(loran_adapters::sine_lora::build, &config, &base, TrainingFlag::default());
    let lora = build_layer(loran_adapters::lora::build, &config, &base, TrainingFlag::default());
    let x = uniform(&[5, inp], 1.0, 32);
    for (b_scale, close) in [(1e-4, true), (0.5, false)] {
        let b = uniform(&[out, 4], b_scale, 33);
        param(&*sine, "lora_B.weight").set(&b).unwrap();
        param(&*lora, "lora_B.weight").set(&b).unwrap();
        let a = mat(param(&*sine, "lora_A.weight").as_tensor());
        let dw = mat(&sine.merged_delta(&base).unwrap().unwrap());
        let (worst, largest) = worst_and_largest(&dw, &lora_delta(&a, &mat(&b), s));
        // sin(u)/u − 1 ≈ −u²/6 with u = ω·|BA| ≲ 1e-2 here: relative error below 2e-5.
        assert_eq!(worst <= 1e-4 * largest, close, "B scale {b_scale}: |ΔW − s·BA| ≤ {worst}, |s·BA| ≤ {largest}");
        if close {
            let (ys, yl) = (sine.forward(&x, &base).unwrap(), lora.forward(&x, &base).unwrap());
            let shift = max_abs_diff(&yl, &base.forward(&x).unwrap());
            assert!(shift > 0.0 && max_abs_diff(&ys, &yl) <= 1e-4 * shift + 5e-7, "forward: {} vs shift {shift}", max_abs_diff(&ys, &yl));
        }
    }
}

/// With an explicit gain, ΔW = sin(ω·B·A)/g element-wise, in the merge and in the forward.
#[test]
fn sine_lora_explicit_gain_follows_the_formula() {
    let (inp, out) = (16, 6);
    let base = FrozenLinear::new(uniform(&[out, inp], 0.3, 41));
    let (omega, gain) = (7.0, 0.5);
    let config = cfg("sine-lora", 4).with("sine.omega", omega).unwrap().with("sine.gain", gain).unwrap();
    let sine = build_layer(loran_adapters::sine_lora::build, &config, &base, TrainingFlag::default());
    let b = uniform(&[out, 4], 0.8, 42);
    param(&*sine, "lora_B.weight").set(&b).unwrap();
    let want = sine_delta(&mat(param(&*sine, "lora_A.weight").as_tensor()), &mat(&b), omega, gain);
    let dw = mat(&sine.merged_delta(&base).unwrap().unwrap());
    let (worst, largest) = worst_and_largest(&dw, &want);
    assert!(largest > 0.5, "ω·B·A should reach the nonlinear range ({largest})");
    assert!(worst < 1e-5, "ΔW differs from sin(ω·BA)/g by {worst}");
    // The forward adds x·ΔWᵀ.
    let x = uniform(&[5, inp], 1.0, 43);
    let shift = mat(&(sine.forward(&x, &base).unwrap() - base.forward(&x).unwrap()).unwrap());
    let expected: Mat = mat(&x).iter().map(|x| want.iter().map(|w| w.iter().zip(x).map(|(w, x)| w * x).sum::<f64>()).collect()).collect();
    let (worst, _) = worst_and_largest(&shift, &expected);
    assert!(worst < 1e-4, "forward differs from x·ΔWᵀ by {worst}");
}

/// Training mode with dropout and the differentiable kernels: every Var of both methods
/// gets a nonzero gradient (B and β moved off zero first, since γ's gradient carries β).
#[test]
fn every_trainable_var_receives_a_gradient() {
    let targets = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"];
    for (method, per_module) in [("nolora", 5), ("sine-lora", 2)] {
        let mut model = tiny_model(2).unwrap();
        model.set_kernels(Kernels::Differentiable);
        let config = AdapterConfig { targets: targets.iter().map(|s| s.to_string()).collect(), dropout: 0.2, ..cfg(method, 2) };
        let set = AdapterSet::attach(&mut model, &config, 0).unwrap();
        perturb(&set);
        set.set_training(true);
        let loss = model.forward(&ids(), 0, None).unwrap().sqr().unwrap().mean_all().unwrap();
        let grads = loss.backward().unwrap();
        assert_eq!(set.named_parameters().len(), per_module * 7 * tiny_config().num_hidden_layers);
        for (name, var) in set.named_parameters() {
            let g = grads.get(var.as_tensor()).unwrap_or_else(|| panic!("{method}: {name} got no gradient"));
            let norm = g.sqr().unwrap().sum_all().unwrap().to_scalar::<f32>().unwrap();
            assert!(norm > 0.0, "{method}: {name} has a zero gradient");
        }
    }
}

/// NoLoRA adds 3r scalars (β, γ, m) per module to LoRA's; Sine-LoRA has LoRA's count.
#[test]
fn parameter_counts() {
    let r = 4;
    let count = |method: &str| {
        let mut model = tiny_model(1).unwrap();
        let set = AdapterSet::attach(&mut model, &cfg(method, r), 0).unwrap();
        (set.num_parameters(), set.adapters().len(), set.named_parameters())
    };
    let (lora, modules, _) = count("lora");
    let (nolora, nolora_modules, names) = count("nolora");
    let (sine, _, _) = count("sine-lora");
    assert_eq!(modules, 2 * tiny_config().num_hidden_layers);
    assert_eq!(nolora_modules, modules);
    assert_eq!(nolora, lora + 3 * r * modules);
    assert_eq!(sine, lora);
    for key in ["nolora_beta", "nolora_gamma", "nolora_m"] {
        let vars: Vec<_> = names.iter().filter(|(n, _)| n.ends_with(key)).collect();
        assert_eq!(vars.len(), modules, "{key}");
        assert!(vars.iter().all(|(_, v)| v.dims() == [r]), "{key}");
    }
}

#[test]
fn both_methods_are_registered_and_nolora_is_labelled_reconstructed() {
    assert!(find_method("nolora").unwrap().description.contains("reconstructed"));
    assert!(find_method("sine-lora").unwrap().build.is_some());
}
