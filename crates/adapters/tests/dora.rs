//! DoRA with PEFT semantics: init, forward (eval and dropout), detached norm,
//! gradients against finite differences, merge, and PEFT save/load.

use candle_core::{Device, Tensor, Var};
use loran_adapters::dora::{weight_norm, DoraLinear, MAGNITUDE_KEY};
use loran_adapters::dropout::{SeededDropout, TrainingFlag};
use loran_adapters::seeding::stream;
use loran_adapters::{peft, Adapter, AdapterConfig, AdapterSet, LayerSelection};
use loran_model::fixtures::{tiny_config, tiny_model, uniform};
use loran_model::{FrozenLinear, Kernels, LinearAdapter, QuantMode};

// ---------------------------------------------------------------------------
// One layer against an f64 re-implementation.
// ---------------------------------------------------------------------------

const OUT: usize = 6;
const IN: usize = 5;
const R: usize = 3;
const ROWS: usize = 4;
const SCALE: f64 = 2.0 / 3.0;

type Mat = Vec<Vec<f64>>;

fn mat(t: &Tensor) -> Mat {
    let t = t.to_dtype(candle_core::DType::F64).unwrap();
    let rows = t.dim(0).unwrap();
    t.reshape((rows, t.elem_count() / rows)).unwrap().to_vec2::<f64>().unwrap()
}

fn vec1(t: &Tensor) -> Vec<f64> {
    t.to_dtype(candle_core::DType::F64).unwrap().flatten_all().unwrap().to_vec1::<f64>().unwrap()
}

/// The parameters of one layer in f64.
#[derive(Clone)]
struct Layer {
    w0: Mat,
    bias: Vec<f64>,
    a: Mat,
    b: Mat,
    m: Vec<f64>,
}

impl Layer {
    /// `W0 + s·B·A`.
    fn adapted(&self) -> Mat {
        (0..OUT)
            .map(|o| (0..IN).map(|i| self.w0[o][i] + SCALE * (0..R).map(|k| self.b[o][k] * self.a[k][i]).sum::<f64>()).collect())
            .collect()
    }

    /// Row norms of `W0 + s·B·A`.
    fn norm(&self) -> Vec<f64> {
        self.adapted().iter().map(|row| row.iter().map(|v| v * v).sum::<f64>().sqrt()).collect()
    }

    /// PEFT's DoRA output for input rows `x` (already dropped out as `xd`), with the norm given.
    fn forward(&self, x: &Mat, xd: &Mat, norm: &[f64]) -> Mat {
        let dot = |w: &[f64], v: &[f64]| w.iter().zip(v).map(|(a, b)| a * b).sum::<f64>();
        let wa = self.adapted();
        x.iter()
            .zip(xd)
            .map(|(x, xd)| {
                (0..OUT)
                    .map(|o| {
                        let k = self.m[o] / norm[o];
                        let base = dot(&self.w0[o], x) + self.bias[o];
                        // (k − 1)·W0·xd + k·s·B·A·xd = k·(W0 + sBA)·xd − W0·xd
                        base + k * dot(&wa[o], xd) - dot(&self.w0[o], xd)
                    })
                    .collect()
            })
            .collect()
    }

    /// `L = Σ y ⊙ g`, with the norm frozen at `norm` or recomputed (`None`).
    fn loss(&self, x: &Mat, g: &Mat, norm: Option<&[f64]>) -> f64 {
        let own = self.norm();
        let y = self.forward(x, x, norm.unwrap_or(&own));
        y.iter().zip(g).map(|(y, g)| y.iter().zip(g).map(|(a, b)| a * b).sum::<f64>()).sum()
    }
}

/// Central difference of `loss` along every entry `get(layer)` exposes.
fn finite_diff(layer: &Layer, pick: fn(&mut Layer) -> Vec<&mut f64>, loss: &dyn Fn(&Layer) -> f64) -> Vec<f64> {
    let eps = 1e-6;
    let n = pick(&mut layer.clone()).len();
    (0..n)
        .map(|i| {
            let (mut up, mut down) = (layer.clone(), layer.clone());
            *pick(&mut up)[i] += eps;
            *pick(&mut down)[i] -= eps;
            (loss(&up) - loss(&down)) / (2.0 * eps)
        })
        .collect()
}

fn assert_close(ours: &[f64], reference: &[f64], rel: f64, what: &str) {
    assert_eq!(ours.len(), reference.len(), "{what}: length");
    let scale = reference.iter().fold(0f64, |m, v| m.max(v.abs())).max(1e-12);
    for (i, (a, b)) in ours.iter().zip(reference).enumerate() {
        assert!((a - b).abs() <= rel * scale, "{what}[{i}]: {a} vs {b} (scale {scale})");
    }
}

struct Setup {
    base: FrozenLinear,
    dora: DoraLinear,
    x: Var,
    g: Tensor,
    layer: Layer,
    training: TrainingFlag,
}

/// A layer with bias, non-zero B and a magnitude moved away from the norm.
fn setup(dropout: f64) -> Setup {
    let w0 = uniform(&[OUT, IN], 0.5, 1);
    let bias = uniform(&[OUT], 0.3, 2);
    let base = FrozenLinear::new(w0.clone()).with_bias(bias.clone());
    let a = Var::from_tensor(&uniform(&[R, IN], 0.4, 3)).unwrap();
    let b = Var::from_tensor(&uniform(&[OUT, R], 0.4, 4)).unwrap();
    let training = TrainingFlag::default();
    let drop = SeededDropout::new(dropout, stream(0, "layer", "dropout"), training.clone());
    let dora = DoraLinear::init(&base, a, b, SCALE, drop).unwrap();
    let m = (dora.magnitude().as_tensor() * (uniform(&[OUT], 0.2, 5) + 1.0).unwrap()).unwrap();
    dora.magnitude().set(&m).unwrap();
    let x = Var::from_tensor(&uniform(&[2, 2, IN], 1.0, 6)).unwrap();
    let g = uniform(&[2, 2, OUT], 1.0, 7);
    let layer = Layer {
        w0: mat(&w0),
        bias: vec1(&bias),
        a: mat(dora.a().as_tensor()),
        b: mat(dora.b().as_tensor()),
        m: vec1(dora.magnitude().as_tensor()),
    };
    Setup { base, dora, x, g, layer, training }
}

#[test]
fn fresh_dora_layer_is_the_base_and_its_magnitude_is_the_row_norm_of_w0() {
    let w0 = uniform(&[OUT, IN], 0.5, 1);
    let base = FrozenLinear::new(w0.clone()).with_bias(uniform(&[OUT], 0.3, 2));
    let a = Var::from_tensor(&uniform(&[R, IN], 0.4, 3)).unwrap();
    let b = Var::zeros((OUT, R), candle_core::DType::F32, &Device::Cpu).unwrap();
    let drop = SeededDropout::new(0.0, stream(0, "layer", "dropout"), TrainingFlag::default());
    let dora = DoraLinear::init(&base, a, b, SCALE, drop).unwrap();
    let norms: Vec<f64> = mat(&w0).iter().map(|r| r.iter().map(|v| v * v).sum::<f64>().sqrt()).collect();
    assert_close(&vec1(dora.magnitude().as_tensor()), &norms, 1e-6, "m at init");
    let x = uniform(&[3, IN], 1.0, 6);
    let diff = (dora.forward(&x, &base).unwrap() - base.forward(&x).unwrap()).unwrap().abs().unwrap().max_keepdim(1).unwrap();
    assert!(vec1(&diff).iter().all(|&d| d < 1e-6), "{diff}");
}

#[test]
fn eval_forward_matches_peft_formula_and_leaves_the_bias_unscaled() {
    let s = setup(0.3);
    let y = s.dora.forward(s.x.as_tensor(), &s.base).unwrap();
    let x = mat(&s.x.as_tensor().reshape((ROWS, IN)).unwrap());
    let expected = s.layer.forward(&x, &x, &s.layer.norm());
    let ours = mat(&y.reshape((ROWS, OUT)).unwrap());
    assert_close(&ours.concat(), &expected.concat(), 1e-6, "y (eval)");
}

#[test]
fn training_forward_applies_dropout_to_the_adapter_terms_only() {
    let s = setup(0.5);
    s.training.set(true);
    let y = s.dora.forward(s.x.as_tensor(), &s.base).unwrap();
    // The same seeded stream reproduces the layer's mask.
    let twin = SeededDropout::new(0.5, stream(0, "layer", "dropout"), s.training.clone());
    let xd = twin.apply(s.x.as_tensor()).unwrap();
    let x = mat(&s.x.as_tensor().reshape((ROWS, IN)).unwrap());
    let xd = mat(&xd.reshape((ROWS, IN)).unwrap());
    assert_ne!(x, xd, "dropout masked something");
    let expected = s.layer.forward(&x, &xd, &s.layer.norm());
    assert_close(&mat(&y.reshape((ROWS, OUT)).unwrap()).concat(), &expected.concat(), 1e-6, "y (training)");
}

#[test]
fn gradients_match_finite_differences_with_the_norm_detached() {
    let s = setup(0.0);
    let y = s.dora.forward(s.x.as_tensor(), &s.base).unwrap();
    let loss = (&y * &s.g).unwrap().sum_all().unwrap();
    let grads = loss.backward().unwrap();
    let grad = |v: &Var| vec1(grads.get(v.as_tensor()).expect("every parameter gets a gradient"));

    let x = mat(&s.x.as_tensor().reshape((ROWS, IN)).unwrap());
    let g = mat(&s.g.reshape((ROWS, OUT)).unwrap());
    let frozen = s.layer.norm();
    let detached = |l: &Layer| l.loss(&x, &g, Some(&frozen));
    let through_norm = |l: &Layer| l.loss(&x, &g, None);
    let pick_a: fn(&mut Layer) -> Vec<&mut f64> = |l| l.a.iter_mut().flatten().collect();
    let pick_b: fn(&mut Layer) -> Vec<&mut f64> = |l| l.b.iter_mut().flatten().collect();
    let pick_m: fn(&mut Layer) -> Vec<&mut f64> = |l| l.m.iter_mut().collect();

    let (ga, gb, gm) = (grad(s.dora.a()), grad(s.dora.b()), grad(s.dora.magnitude()));
    assert_close(&ga, &finite_diff(&s.layer, pick_a, &detached), 1e-4, "dL/dA");
    assert_close(&gb, &finite_diff(&s.layer, pick_b, &detached), 1e-4, "dL/dB");
    assert_close(&gm, &finite_diff(&s.layer, pick_m, &detached), 1e-4, "dL/dm");
    // m does not enter the norm, so the full function agrees for m ...
    assert_close(&gm, &finite_diff(&s.layer, pick_m, &through_norm), 1e-4, "dL/dm (norm live)");
    // ... but not for B: PEFT (and we) stop the gradient at the norm.
    let live_b = finite_diff(&s.layer, pick_b, &through_norm);
    let gap = gb.iter().zip(&live_b).fold(0f64, |m, (a, b)| m.max((a - b).abs()));
    assert!(gap > 1e-3, "B's gradient would include the norm's ({gap})");

    // dL/dm_j = Σ_rows g·(W0·x + s·B·A·x)_j / ‖W0 + s·B·A‖_j, the analytic form.
    let wa = s.layer.adapted();
    let analytic: Vec<f64> = (0..OUT)
        .map(|o| (0..ROWS).map(|r| g[r][o] * wa[o].iter().zip(&x[r]).map(|(w, v)| w * v).sum::<f64>()).sum::<f64>() / frozen[o])
        .collect();
    assert_close(&gm, &analytic, 1e-5, "dL/dm (analytic)");

    // The input gradient (used by the blocks below) with the norm held fixed.
    let gx = grad(&s.x);
    let fd_x: Vec<f64> = (0..ROWS * IN)
        .map(|i| {
            let eps = 1e-6;
            let (mut up, mut down) = (x.clone(), x.clone());
            up[i / IN][i % IN] += eps;
            down[i / IN][i % IN] -= eps;
            (s.layer.loss(&up, &g, Some(&frozen)) - s.layer.loss(&down, &g, Some(&frozen))) / (2.0 * eps)
        })
        .collect();
    assert_close(&gx, &fd_x, 1e-4, "dL/dx");
}

#[test]
fn merged_delta_is_k_times_the_adapted_weight_minus_w0() {
    let s = setup(0.0);
    let delta = mat(&s.dora.merged_delta(&s.base).unwrap().unwrap());
    let (wa, norm) = (s.layer.adapted(), s.layer.norm());
    let expected: Vec<f64> = (0..OUT).flat_map(|o| (0..IN).map(move |i| (o, i))).map(|(o, i)| s.layer.m[o] / norm[o] * wa[o][i] - s.layer.w0[o][i]).collect();
    assert_close(&delta.concat(), &expected, 1e-6, "ΔW");
}

// ---------------------------------------------------------------------------
// On a tiny model.
// ---------------------------------------------------------------------------

fn ids() -> Tensor {
    Tensor::new(&[[5u32, 77, 140, 9, 200, 33], [2, 3, 4, 5, 6, 7]], &Device::Cpu).unwrap()
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f32 {
    (a - b).unwrap().abs().unwrap().flatten_all().unwrap().max(0).unwrap().to_scalar::<f32>().unwrap()
}

fn dora_cfg(targets: &[&str]) -> AdapterConfig {
    AdapterConfig {
        method: "dora".into(),
        r: 4,
        alpha: 8.0,
        dropout: 0.0,
        targets: targets.iter().map(|t| t.to_string()).collect(),
        ..AdapterConfig::default()
    }
}

const ALL: [&str; 7] = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"];

/// Non-zero B and a magnitude off the norm, so DoRA changes the output.
fn perturb(set: &AdapterSet) {
    for (i, (name, var)) in set.named_parameters().into_iter().enumerate() {
        if name.ends_with("lora_B.weight") {
            var.set(&uniform(var.dims(), 0.5, 1000 + i as u64)).unwrap();
        } else if name.ends_with(MAGNITUDE_KEY) {
            var.set(&(var.as_tensor() * (uniform(var.dims(), 0.3, 2000 + i as u64) + 1.0).unwrap()).unwrap()).unwrap();
        }
    }
}

#[test]
fn fresh_dora_is_the_base_model_dense_and_nf4() {
    for quant in [QuantMode::None, QuantMode::Nf4Dq] {
        let mut model = tiny_model(1).unwrap();
        model.quantize_linears(quant).unwrap();
        let base = model.forward(&ids(), 0, None).unwrap();
        let set = AdapterSet::attach(&mut model, &dora_cfg(&ALL), 0).unwrap();
        let c = tiny_config();
        let expected_per_layer: usize = model
            .linears()
            .iter()
            .take(7)
            .map(|l| 4 * (l.base().in_features() + l.base().out_features()) + l.base().out_features())
            .sum();
        assert_eq!(set.num_parameters(), c.num_hidden_layers * expected_per_layer);
        let diff = max_abs_diff(&model.forward(&ids(), 0, None).unwrap(), &base);
        assert!(diff < 1e-6, "{quant}: fresh DoRA moved logits by {diff}");
    }
}

#[test]
fn every_dora_parameter_receives_a_gradient() {
    let mut model = tiny_model(2).unwrap();
    model.quantize_linears(QuantMode::Nf4).unwrap();
    model.set_kernels(Kernels::Differentiable);
    let set = AdapterSet::attach(&mut model, &AdapterConfig { dropout: 0.1, ..dora_cfg(&ALL) }, 0).unwrap();
    set.set_training(true);
    perturb(&set);
    let loss = model.forward(&ids(), 0, None).unwrap().sqr().unwrap().mean_all().unwrap();
    let grads = loss.backward().unwrap();
    for (name, var) in set.named_parameters() {
        let g = grads.get(var.as_tensor()).unwrap_or_else(|| panic!("{name} got no gradient"));
        assert!(g.sqr().unwrap().sum_all().unwrap().to_scalar::<f32>().unwrap() > 0.0, "{name} has a zero gradient");
    }
}

#[test]
fn merge_equals_the_unmerged_forward_and_unmerge_restores_exactly() {
    for quant in [QuantMode::None, QuantMode::Nf4] {
        let mut model = tiny_model(3).unwrap();
        model.quantize_linears(quant).unwrap();
        let originals: Vec<Tensor> = model.linears().iter().map(|l| l.base().weight().unwrap()).collect();
        let mut set = AdapterSet::attach(&mut model, &AdapterConfig { dropout: 0.3, ..dora_cfg(&ALL) }, 0).unwrap();
        perturb(&set);
        set.set_training(false);
        let unmerged = model.forward(&ids(), 0, None).unwrap();
        set.merge(&mut model).unwrap();
        assert!(model.linears().iter().all(|l| l.adapter().is_none()));
        let merged = model.forward(&ids(), 0, None).unwrap();
        let diff = max_abs_diff(&merged, &unmerged);
        assert!(diff < 1e-5, "{quant}: merge drift {diff}");
        set.unmerge(&mut model).unwrap();
        for (l, w) in model.linears().iter().zip(&originals) {
            assert_eq!(max_abs_diff(&l.base().weight().unwrap(), w), 0.0);
            assert_eq!(l.base().is_quantized(), quant != QuantMode::None);
        }
        assert_eq!(max_abs_diff(&model.forward(&ids(), 0, None).unwrap(), &unmerged), 0.0);
    }
}

#[test]
fn dora_saves_in_peft_layout_and_loads_back_identically() {
    let mut model = tiny_model(6).unwrap();
    let config = AdapterConfig { layers: Some(LayerSelection::Last { last: 1 }), ..dora_cfg(&["q_proj", "v_proj"]) };
    let set = AdapterSet::attach(&mut model, &config, 11).unwrap();
    perturb(&set);
    let expected = model.forward(&ids(), 0, None).unwrap();
    let out = tempfile::tempdir().unwrap();
    peft::save(&set, &model, out.path(), Some("tiny")).unwrap();

    let text = std::fs::read_to_string(out.path().join(peft::CONFIG_FILE)).unwrap();
    assert!(text.contains("\"use_dora\": true"), "{text}");
    let files = peft::inspect(out.path()).unwrap();
    assert!(files.config.use_dora);
    assert_eq!(files.modules(), vec!["model.layers.1.self_attn.q_proj", "model.layers.1.self_attn.v_proj"]);
    let c = tiny_config();
    let q_out = c.num_attention_heads * c.head_dim;
    let v_out = c.num_key_value_heads * c.head_dim;
    assert_eq!(files.shapes["base_model.model.model.layers.1.self_attn.q_proj.lora_magnitude_vector"], vec![q_out]);
    assert_eq!(files.shapes["base_model.model.model.layers.1.self_attn.v_proj.lora_magnitude_vector"], vec![v_out]);
    assert_eq!(files.shapes.len(), 2 * 3);
    assert_eq!(files.config.to_adapter_config(out.path()).unwrap().method, "dora");

    let mut fresh = tiny_model(6).unwrap();
    let loaded = peft::load(out.path(), &mut fresh, 999).unwrap();
    assert_eq!(loaded.config().method, "dora");
    assert_eq!(loaded.num_parameters(), set.num_parameters());
    assert_eq!(max_abs_diff(&fresh.forward(&ids(), 0, None).unwrap(), &expected), 0.0);
}

#[test]
fn lora_files_still_say_use_dora_false() {
    let mut model = tiny_model(7).unwrap();
    let set = AdapterSet::attach(&mut model, &AdapterConfig { method: "lora".into(), ..dora_cfg(&["q_proj"]) }, 0).unwrap();
    let out = tempfile::tempdir().unwrap();
    peft::save(&set, &model, out.path(), None).unwrap();
    let files = peft::inspect(out.path()).unwrap();
    assert!(!files.config.use_dora);
    assert!(files.shapes.keys().all(|k| !k.contains(MAGNITUDE_KEY)));
    assert_eq!(files.config.to_adapter_config(out.path()).unwrap().method, "lora");
}

#[test]
fn weight_norm_is_the_row_l2_norm() {
    let w = Tensor::new(&[[3f32, 4.0], [0.0, 0.0], [1.0, 0.0]], &Device::Cpu).unwrap();
    let a = Tensor::new(&[[1f32, 0.0]], &Device::Cpu).unwrap();
    let b = Tensor::new(&[[0f32], [0.0], [2.0]], &Device::Cpu).unwrap();
    assert_eq!(weight_norm(&w, &a, &b, 0.5).unwrap().to_vec1::<f32>().unwrap(), vec![5.0, 0.0, 2.0]);
}
