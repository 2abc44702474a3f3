//! LoRAN: gradients against finite differences, identity-LoRAN = LoRA, merge,
//! the sigmoid and relu traps, gradients through a tiny model.

use candle_core::{DType, Device, Tensor, Var};
use loran_adapters::activations::ActivationConfig;
use loran_adapters::dropout::{SeededDropout, TrainingFlag};
use loran_adapters::lora::LoraLinear;
use loran_adapters::loran::LoranLinear;
use loran_adapters::registry::LayerSpec;
use loran_adapters::seeding::stream;
use loran_adapters::{Adapter, AdapterConfig, AdapterSet};
use loran_model::fixtures::{tiny_config, tiny_model, uniform};
use loran_model::{FrozenLinear, Kernels, LinearAdapter};

fn ids() -> Tensor {
    Tensor::new(&[[5u32, 77, 140, 9, 200, 33], [2, 3, 4, 5, 6, 7]], &Device::Cpu).unwrap()
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f32 {
    (a - b).unwrap().abs().unwrap().flatten_all().unwrap().max(0).unwrap().to_scalar::<f32>().unwrap()
}

fn activation(name: &str, params: &[(&str, f64)]) -> ActivationConfig {
    params.iter().fold(ActivationConfig::named(name).unwrap(), |c, (k, v)| c.with(k, *v).unwrap())
}

fn loran_cfg(r: usize, act: ActivationConfig) -> AdapterConfig {
    AdapterConfig { method: "loran".into(), r, alpha: 2.0 * r as f64, dropout: 0.0, ..AdapterConfig::default() }.with("activation", act).unwrap()
}

fn no_dropout() -> SeededDropout {
    SeededDropout::new(0.0, stream(0, "proj", "dropout"), TrainingFlag::default())
}

fn vec2(t: &Tensor) -> Vec<Vec<f64>> {
    t.to_dtype(DType::F64).unwrap().to_vec2::<f64>().unwrap()
}

/// `L = Σ g ⊙ (x·(s·f(B·A))ᵀ)` in f64 (the base term is constant in A and B and left out).
fn reference_loss(a: &[Vec<f64>], b: &[Vec<f64>], x: &[Vec<f64>], g: &[Vec<f64>], s: f64, f: &dyn Fn(f64) -> f64) -> f64 {
    let (out, r, inp) = (b.len(), a.len(), a[0].len());
    let mut loss = 0.0;
    for o in 0..out {
        for i in 0..inp {
            let ba: f64 = (0..r).map(|k| b[o][k] * a[k][i]).sum();
            let w = s * f(ba);
            for n in 0..x.len() {
                loss += g[n][o] * x[n][i] * w;
            }
        }
    }
    loss
}

/// LoRAN's autograd gradients for A and B match central differences of an f64
/// re-implementation, for activations whose nonlinearity matters.
#[test]
fn gradients_match_central_differences() {
    let cases = [
        (activation("tanh", &[]), 1e-5, 1e-6),
        (activation("sinter", &[("amplitude", 0.3), ("omega", 7.0)]), 1e-5, 1e-6),
        // The paper's Sinter oscillates with period 6e-4 in B·A (its ripple moves f′ by
        // ±A·ω·|BA| ≈ ±0.25 here): small steps, and a looser tolerance because f32's
        // rounding of B·A shifts the phase ω·BA by ~1e-4 rad (measured error: 5e-6).
        (activation("sinter", &[]), 1e-7, 5e-5),
        (activation("sigmoid", &[]), 1e-5, 1e-6),
        (activation("gaussian", &[]), 1e-5, 1e-6),
    ];
    let (r, inp, out, n) = (3, 5, 4, 6);
    for (act_cfg, h, tol) in cases {
        let act = act_cfg.resolve().unwrap();
        let scale = 0.7;
        let a = Var::from_tensor(&uniform(&[r, inp], 0.8, 1)).unwrap();
        let b = Var::from_tensor(&uniform(&[out, r], 0.8, 2)).unwrap();
        let x = uniform(&[n, inp], 1.0, 3);
        let g = uniform(&[n, out], 1.0, 4);
        let base = FrozenLinear::new(uniform(&[out, inp], 0.3, 5));
        let layer = LoranLinear::new(a.clone(), b.clone(), scale, act.clone(), no_dropout());

        let y = layer.forward(&x, &base).unwrap();
        let loss = (&y * &g).unwrap().sum_all().unwrap();
        let grads = loss.backward().unwrap();

        let f = |v: f64| act.function().f(v);
        let (a64, b64, x64, g64) = (vec2(a.as_tensor()), vec2(b.as_tensor()), vec2(&x), vec2(&g));
        // The forward itself matches the f64 reference (plus the base term).
        let base_loss = (base.forward(&x).unwrap() * &g).unwrap().sum_all().unwrap().to_scalar::<f32>().unwrap() as f64;
        let want = reference_loss(&a64, &b64, &x64, &g64, scale, &f) + base_loss;
        let got = loss.to_scalar::<f32>().unwrap() as f64;
        assert!((got - want).abs() < 1e-4 * (1.0 + want.abs()), "{}: loss {got} vs {want}", act.name());

        for (which, var, values) in [("A", &a, &a64), ("B", &b, &b64)] {
            let grad = vec2(grads.get(var.as_tensor()).unwrap_or_else(|| panic!("no gradient for {which}")));
            let mut worst = 0.0f64;
            let mut largest = 0.0f64;
            for row in 0..values.len() {
                for col in 0..values[0].len() {
                    let mut plus = values.clone();
                    plus[row][col] += h;
                    let mut minus = values.clone();
                    minus[row][col] -= h;
                    let (lp, lm) = if which == "A" {
                        (reference_loss(&plus, &b64, &x64, &g64, scale, &f), reference_loss(&minus, &b64, &x64, &g64, scale, &f))
                    } else {
                        (reference_loss(&a64, &plus, &x64, &g64, scale, &f), reference_loss(&a64, &minus, &x64, &g64, scale, &f))
                    };
                    let fd = (lp - lm) / (2.0 * h);
                    worst = worst.max((fd - grad[row][col]).abs());
                    largest = largest.max(fd.abs());
                }
            }
            assert!(largest > 1e-3, "{}: dL/d{which} is trivially small", act.name());
            assert!(worst <= tol * largest.max(1.0), "{}: dL/d{which} differs from finite differences by {worst} (largest {largest})", act.name());
        }
    }
}

/// With f = identity, LoRAN is LoRA: outputs and gradients agree to 1e-5 for the same nonzero A and B.
#[test]
fn identity_loran_equals_lora() {
    let (r, inp, out) = (4, 12, 10);
    let a0 = uniform(&[r, inp], 0.3, 11);
    let b0 = uniform(&[out, r], 0.5, 12);
    let x = Var::from_tensor(&uniform(&[2, 3, inp], 1.0, 13)).unwrap();
    let g = uniform(&[2, 3, out], 1.0, 14);
    let base = FrozenLinear::new(uniform(&[out, inp], 0.3, 15));
    let identity = ActivationConfig::named("identity").unwrap().resolve().unwrap();

    let run = |adapter: &dyn Adapter| {
        let y = adapter.forward(x.as_tensor(), &base).unwrap();
        let grads = (&y * &g).unwrap().sum_all().unwrap().backward().unwrap();
        let params = adapter.parameters();
        let grad_of = |v: &Var| grads.get(v.as_tensor()).unwrap().clone();
        (y.clone(), grad_of(&params[0].1), grad_of(&params[1].1), grads.get(x.as_tensor()).unwrap().clone(), adapter.merged_delta(&base).unwrap().unwrap())
    };
    let lora = LoraLinear::new(Var::from_tensor(&a0).unwrap(), Var::from_tensor(&b0).unwrap(), 0.5, no_dropout());
    let loran = LoranLinear::new(Var::from_tensor(&a0).unwrap(), Var::from_tensor(&b0).unwrap(), 0.5, identity, no_dropout());
    let (l, n) = (run(&lora), run(&loran));
    for (what, p, q) in [("y", &l.0, &n.0), ("dA", &l.1, &n.1), ("dB", &l.2, &n.2), ("dx", &l.3, &n.3), ("merged ΔW", &l.4, &n.4)] {
        assert!(max_abs_diff(p, q) < 1e-5, "{what} differs by {}", max_abs_diff(p, q));
    }
}

/// For the same seed, identity-LoRAN and LoRA start from bit-identical A (and zero B).
#[test]
fn identity_loran_and_lora_start_bit_identical() {
    let mut lora_model = tiny_model(1).unwrap();
    let mut loran_model = tiny_model(1).unwrap();
    let lora_cfg = AdapterConfig { method: "lora".into(), ..loran_cfg(4, ActivationConfig::default()) };
    let lora = AdapterSet::attach(&mut lora_model, &lora_cfg, 7).unwrap();
    let loran = AdapterSet::attach(&mut loran_model, &loran_cfg(4, activation("identity", &[])), 7).unwrap();
    let (p, q) = (lora.named_parameters(), loran.named_parameters());
    assert_eq!(p.len(), q.len());
    for ((pn, pv), (qn, qv)) in p.iter().zip(&q) {
        assert_eq!(pn.rsplit_once('.').map(|x| x.0).unwrap().trim_end_matches(".lora_A").trim_end_matches(".lora_B"),
            qn.trim_end_matches(".mlora_A").trim_end_matches(".mlora_B"));
        let (pv, qv) = (pv.as_tensor().flatten_all().unwrap().to_vec1::<f32>().unwrap(), qv.as_tensor().flatten_all().unwrap().to_vec1::<f32>().unwrap());
        assert!(pv.iter().zip(&qv).all(|(a, b)| a.to_bits() == b.to_bits()), "{pn} vs {qn}");
    }
    assert_eq!(max_abs_diff(&lora_model.forward(&ids(), 0, None).unwrap(), &loran_model.forward(&ids(), 0, None).unwrap()), 0.0);
}

/// Gives every B a non-zero value so that the adapters change the output.
fn perturb(set: &AdapterSet) {
    for (i, (name, var)) in set.named_parameters().into_iter().enumerate() {
        if name.ends_with("mlora_B") {
            var.set(&uniform(var.dims(), 0.5, 1000 + i as u64)).unwrap();
        }
    }
}

#[test]
fn merge_equals_the_unmerged_forward_and_unmerge_restores_exactly() {
    for act in [ActivationConfig::default(), activation("tanh", &[]), activation("sinter", &[("amplitude", 0.2), ("omega", 30.0)])] {
        let mut model = tiny_model(3).unwrap();
        let originals: Vec<Tensor> = model.linears().iter().map(|l| l.base().weight().unwrap()).collect();
        let mut set = AdapterSet::attach(&mut model, &AdapterConfig { dropout: 0.3, ..loran_cfg(4, act.clone()) }, 0).unwrap();
        perturb(&set);
        set.set_training(false);
        let base = {
            let plain = tiny_model(3).unwrap();
            plain.forward(&ids(), 0, None).unwrap()
        };
        let unmerged = model.forward(&ids(), 0, None).unwrap();
        assert!(max_abs_diff(&unmerged, &base) > 1e-3, "{}: the adapters should change the output", act.name);
        set.merge(&mut model).unwrap();
        assert!(model.linears().iter().all(|l| l.adapter().is_none()));
        let merged = model.forward(&ids(), 0, None).unwrap();
        assert!(max_abs_diff(&merged, &unmerged) < 1e-5, "{}: merge drift {}", act.name, max_abs_diff(&merged, &unmerged));
        set.unmerge(&mut model).unwrap();
        for (l, w) in model.linears().iter().zip(&originals) {
            assert_eq!(max_abs_diff(&l.base().weight().unwrap(), w), 0.0);
        }
        assert_eq!(max_abs_diff(&model.forward(&ids(), 0, None).unwrap(), &unmerged), 0.0);
    }
}

/// The sigmoid trap: at init (B = 0) every entry of ΔW is s·σ(0) = 0.5·s, so each
/// output moves by 0.5·s·Σx away from the base.
#[test]
fn sigmoid_loran_at_init_is_off_the_base_by_half_s_sum_x() {
    let (inp, out) = (16, 6);
    let base = FrozenLinear::new(uniform(&[out, inp], 0.3, 21));
    let cfg = AdapterConfig { alpha: 3.0, ..loran_cfg(4, activation("sigmoid", &[])) };
    let spec = LayerSpec {
        name: "proj",
        in_features: inp,
        out_features: out,
        config: &cfg,
        seed: 0,
        training: TrainingFlag::default(),
        valid_tokens: Default::default(),
        device: &Device::Cpu,
        base: &base,
        gate: None,
    };
    let adapter = loran_adapters::loran::build(&spec).unwrap();
    let x = uniform(&[5, inp], 1.0, 22);
    let shift = (adapter.forward(&x, &base).unwrap() - base.forward(&x).unwrap()).unwrap().to_vec2::<f32>().unwrap();
    let sums = x.sum(1).unwrap().to_vec1::<f32>().unwrap();
    let s = cfg.scale() as f32;
    for (row, sum) in shift.iter().zip(&sums) {
        for v in row {
            assert!((v - 0.5 * s * sum).abs() < 1e-5, "shift {v}, expected {}", 0.5 * s * sum);
        }
    }
    assert!(cfg.warnings().iter().any(|w| w.contains("f(0) = 0.5")));
}

/// The relu trap: from B = 0 no parameter gets a nonzero gradient, while sinter's do.
#[test]
fn relu_loran_never_trains_from_zero_b() {
    for (name, trains) in [("relu", false), ("sinter", true)] {
        let mut model = tiny_model(8).unwrap();
        model.set_kernels(Kernels::Differentiable);
        let set = AdapterSet::attach(&mut model, &loran_cfg(2, activation(name, &[])), 0).unwrap();
        let loss = model.forward(&ids(), 0, None).unwrap().sqr().unwrap().mean_all().unwrap();
        let grads = loss.backward().unwrap();
        let total: f32 = set
            .trainable_vars()
            .iter()
            .map(|v| grads.get(v.as_tensor()).map(|g| g.abs().unwrap().sum_all().unwrap().to_scalar::<f32>().unwrap()).unwrap_or(0.0))
            .sum();
        assert_eq!(total > 0.0, trains, "{name}: total |grad| {total}");
    }
}

#[test]
fn every_trainable_var_receives_a_gradient() {
    let mut model = tiny_model(2).unwrap();
    model.set_kernels(Kernels::Differentiable);
    let targets = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"];
    for act in [ActivationConfig::default(), activation("tanh", &[])] {
        let cfg = AdapterConfig { targets: targets.iter().map(|s| s.to_string()).collect(), ..loran_cfg(2, act) };
        let set = AdapterSet::attach(&mut model, &cfg, 0).unwrap();
        perturb(&set);
        set.set_training(true);
        let loss = model.forward(&ids(), 0, None).unwrap().sqr().unwrap().mean_all().unwrap();
        let grads = loss.backward().unwrap();
        assert_eq!(set.named_parameters().len(), 2 * 7 * tiny_config().num_hidden_layers);
        for (name, var) in set.named_parameters() {
            let g = grads.get(var.as_tensor()).unwrap_or_else(|| panic!("{name} got no gradient"));
            let norm = g.sqr().unwrap().sum_all().unwrap().to_scalar::<f32>().unwrap();
            assert!(norm > 0.0, "{name} has a zero gradient");
        }
        set.detach(&mut model).unwrap();
    }
}
