use super::*;
use crate::activations::ActivationConfig;
use crate::dropout::{SeededDropout, TrainingFlag};
use crate::lora::LoraLinear;
use crate::loran::LoranLinear;
use crate::seeding::stream;
use candle_core::{Device, Var};

const F64_EPS: f64 = f64::EPSILON;

fn var(rows: usize, cols: usize, f: impl Fn(usize, usize) -> f32) -> Var {
    let values: Vec<f32> = (0..rows * cols).map(|i| f(i / cols, i % cols)).collect();
    Var::from_tensor(&Tensor::from_vec(values, (rows, cols), &Device::Cpu).unwrap()).unwrap()
}

fn dropout() -> SeededDropout {
    SeededDropout::new(0.0, stream(0, "t", "dropout"), TrainingFlag::default())
}

fn loran(a: &Var, b: &Var, scale: f64, activation: ActivationConfig) -> LoranLinear {
    LoranLinear::new(a.clone(), b.clone(), scale, activation.resolve().unwrap(), dropout())
}

fn base(out: usize, inp: usize) -> FrozenLinear {
    FrozenLinear::new(Tensor::zeros((out, inp), DType::F32, &Device::Cpu).unwrap())
}

/// Deterministic values in (-1, 1) without a pattern a low rank could capture.
fn scatter(i: usize, j: usize, seed: f32) -> f32 {
    ((i as f32 * 12.9898 + j as f32 * 78.233 + seed).sin() * 43758.547).fract()
}

#[test]
fn a_rank_one_outer_product_has_every_rank_one() {
    let u = [1.0, -2.0, 0.5, 3.0];
    let v = [0.3, 1.0, -1.5, 2.0, 0.25];
    let m = DMatrix::from_fn(4, 5, |i, j| u[i] * v[j]);
    let got = RankMeasures::of_matrix(&m, 1, F64_EPS);
    assert_eq!(got.numerical_rank, 1);
    assert!((got.effective_rank - 1.0).abs() < 1e-12, "{got:?}");
    assert!((got.stable_rank - 1.0).abs() < 1e-12, "{got:?}");
    assert!(got.energy_outside_r < 1e-28, "{got:?}");
    // σ₁ = ‖u‖·‖v‖.
    let norm = |x: &[f64]| x.iter().map(|v| v * v).sum::<f64>().sqrt();
    assert!((singular_values(&m)[0] - norm(&u) * norm(&v)).abs() < 1e-12);
}

#[test]
fn a_diagonal_matrix_gives_the_hand_computed_measures() {
    // σ = 3, 2, 1, 0 in a 4×5 matrix: p = 1/2, 1/3, 1/6, so exp(H) = 2^(1/2)·3^(1/3)·6^(1/6).
    let mut m = DMatrix::zeros(4, 5);
    for (i, s) in [2.0, 3.0, 0.0, 1.0].into_iter().enumerate() {
        m[(i, i)] = s;
    }
    assert_eq!(singular_values(&m), vec![3.0, 2.0, 1.0, 0.0]);
    let got = RankMeasures::of_matrix(&m, 1, F64_EPS);
    let entropy_rank = 2f64.powf(0.5) * 3f64.powf(1.0 / 3.0) * 6f64.powf(1.0 / 6.0);
    assert!((got.effective_rank - entropy_rank).abs() < 1e-12, "{} vs {entropy_rank}", got.effective_rank);
    assert!((entropy_rank - 2.7495).abs() < 1e-4);
    assert_eq!(got.numerical_rank, 3);
    assert!((got.stable_rank - 14.0 / 9.0).abs() < 1e-12);
    assert!((got.energy_outside_r - 5.0 / 14.0).abs() < 1e-12);
    assert!((RankMeasures::of_matrix(&m, 2, F64_EPS).energy_outside_r - 1.0 / 14.0).abs() < 1e-12);
    assert_eq!(RankMeasures::of_matrix(&m, 3, F64_EPS).energy_outside_r, 0.0);
    // k equal singular values: effective rank k.
    assert!((RankMeasures::of(&[2.0; 5], (5, 7), 1, F64_EPS).effective_rank - 5.0).abs() < 1e-12);
}

#[test]
fn the_zero_matrix_measures_zero_and_the_tolerance_scales_with_eps() {
    let zero = RankMeasures::of(&[0.0, 0.0], (2, 3), 1, F64_EPS);
    assert_eq!(zero, RankMeasures { numerical_rank: 0, effective_rank: 0.0, stable_rank: 0.0, energy_outside_r: 0.0 });
    // 1e-8·σ₁ is rank in f64 (tolerance 3·2.2e-16) but f32 rounding (tolerance 3·1.2e-7).
    let sigma = [1.0, 1e-8];
    assert_eq!(RankMeasures::of(&sigma, (3, 2), 1, F64_EPS).numerical_rank, 2);
    assert_eq!(RankMeasures::of(&sigma, (3, 2), 1, f32::EPSILON as f64).numerical_rank, 1);
}

#[test]
fn with_the_identity_both_updates_measure_the_same() {
    // Multiples of 1/8 below 1 and s = 2: every product and sum is exact in f32, so
    // LoRAN's s·f(B·A) and s·B·A are the same numbers whatever the summation order.
    let a = var(3, 7, |i, j| ((i * 5 + j * 3) % 7) as f32 / 8.0 - 0.375);
    let b = var(6, 3, |i, j| ((i * 3 + j * 2) % 5) as f32 / 8.0 - 0.25);
    let layer = loran(&a, &b, 2.0, ActivationConfig::named("identity").unwrap());
    let got = module_spectrum("m", 3, &layer, &base(6, 7)).unwrap();
    assert_eq!(got.linear, got.nonlinear);
    assert_eq!((got.out_features, got.in_features, got.r), (6, 7, 3));
    assert!(got.linear.numerical_rank <= 3 && got.linear.energy_outside_r < 1e-12, "{got:?}");
    // LoRA's merge is its linear update, bit for bit, for any values.
    let a = var(3, 7, |i, j| scatter(i, j, 1.0));
    let b = var(6, 3, |i, j| scatter(i, j, 2.0));
    let lora = LoraLinear::new(a, b, 0.37, dropout());
    let got = module_spectrum("m", 3, &lora, &base(6, 7)).unwrap();
    assert_eq!(got.linear, got.nonlinear);
}

/// Energy outside the top r of Sinter's update `s·f(B·A)` for B·A of rank 2 with
/// entries of order 0.1–1 (out 20, in 24, s = 1).
fn sinter_energy(amplitude: f64, omega: f64) -> ModuleSpectrum {
    let a = var(2, 24, |i, j| scatter(i, j, 3.0));
    let b = var(20, 2, |i, j| scatter(i, j, 4.0));
    let f = ActivationConfig::named("sinter").unwrap().with("amplitude", amplitude).unwrap().with("omega", omega).unwrap();
    module_spectrum("m", 2, &loran(&a, &b, 1.0, f), &base(20, 24)).unwrap()
}

#[test]
fn sinter_moves_energy_outside_the_top_r_by_its_amplitude() {
    // The paper's A = 5e-5: the ripple holds ~A²/2·(1 − r/20) ≈ 1e-9 of the energy (8.1e-10
    // computed), far above f32 rounding (s·B·A: 2e-18) and far below anything the
    // effective rank sees. In a matrix this small the ripple's singular values (~1e-5·σ₁)
    // clear the numerical-rank tolerance (20·ε_f32·σ₁ ≈ 2.4e-6·σ₁): 13 computed.
    let small = sinter_energy(5e-5, 1e4);
    assert!(small.nonlinear.energy_outside_r > 1e-10 && small.nonlinear.energy_outside_r < 1e-8, "{small:?}");
    assert!(small.linear.energy_outside_r < 1e-15, "{small:?}");
    assert_eq!(small.linear.numerical_rank, 2);
    assert!(small.nonlinear.numerical_rank > 2 && small.nonlinear.numerical_rank < 20, "{small:?}");
    let lift = small.nonlinear.effective_rank - small.linear.effective_rank;
    assert!(lift > 0.0 && lift < 1e-2, "{small:?}");
    // A = 0.5, ω = 10: x·sin(10x) is far from linear on entries of order 1: 9.4% of the
    // energy outside the top 2, full numerical rank, effective rank 7.0 instead of 2.0.
    let large = sinter_energy(0.5, 10.0);
    assert!(large.nonlinear.energy_outside_r > 0.05 && large.nonlinear.energy_outside_r < 0.2, "{large:?}");
    assert_eq!(large.nonlinear.numerical_rank, 20);
    assert!(large.nonlinear.effective_rank > 5.0 && large.linear.effective_rank < 2.0, "{large:?}");
    assert_eq!(large.linear, small.linear);
}

#[test]
fn a_method_without_a_weight_space_update_is_refused_with_its_reason() {
    let a = var(2, 4, |i, j| scatter(i, j, 5.0));
    let b = var(3, 2, |i, j| scatter(i, j, 6.0));
    let layer = crate::nolora::NoLoraLinear::init(a, b, 1.0, dropout()).unwrap();
    let err = module_spectrum("q", 2, &layer, &base(3, 4)).unwrap_err().to_string();
    assert!(err.contains("`q` has no dense update") && err.contains("no weight-space form"), "{err}");
}
