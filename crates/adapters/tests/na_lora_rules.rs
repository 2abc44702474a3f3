//! NA-LoRA-style rules added after review: padded positions stay out of the gate
//! statistics, and a row of B under a hard mask is frozen (AdamW's momentum and weight
//! decay cannot move it), so it comes back bit for bit when a later mask keeps it.

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use loran_adapters::dropout::{SeededDropout, TrainingFlag};
use loran_adapters::na_lora::layer::{IMPORTANCE_KEY, MASK_KEY, OPENNESS_KEY};
use loran_adapters::na_lora::{NaLoraConfig, NaLoraLinear};
use loran_adapters::seeding::stream;
use loran_adapters::{Adapter, StepHook, ValidTokens};
use loran_model::fixtures::uniform;
use loran_model::{FrozenLinear, GateActivation, LinearAdapter};
use std::sync::Arc;

/// An NA-LoRA layer in training mode, no dropout, reading `valid`.
fn layer(a: &Tensor, b: &Tensor, valid: &ValidTokens) -> NaLoraLinear {
    let training = TrainingFlag::default();
    training.set(true);
    let dropout = SeededDropout::new(0.0, stream(0, "gate", "dropout"), training.clone());
    let (a, b) = (Var::from_tensor(a).unwrap(), Var::from_tensor(b).unwrap());
    NaLoraLinear::new(a, b, 1.0, dropout, training, GateActivation::Silu, NaLoraConfig::default()).with_valid_tokens(valid.clone())
}

fn state(l: &NaLoraLinear, key: &str) -> Vec<f32> {
    l.state().unwrap().into_iter().find(|(k, _)| k == key).unwrap().1.to_vec1::<f32>().unwrap()
}

fn bits(t: &Tensor) -> Vec<Vec<u32>> {
    t.to_vec2::<f32>().unwrap().iter().map(|r| r.iter().map(|v| v.to_bits()).collect()).collect()
}

/// With W0 = I and B = 0 the gate pre-activation is the input. A `[2, 3, 4]` batch whose
/// second row has one real token and two padded ones holding extreme values gives the
/// same statistics as its four real tokens alone.
#[test]
fn padded_positions_leave_the_channel_means_unchanged() {
    let n = 4;
    let base = FrozenLinear::new(Tensor::eye(n, DType::F32, &Device::Cpu).unwrap());
    let (a, b) = (uniform(&[2, n], 0.3, 1), Tensor::zeros((n, 2), DType::F32, &Device::Cpu).unwrap());
    let real = [[2.0f32, -0.5, -3.0, 0.1], [1.5, 0.0, -4.0, 0.3], [3.0, -0.2, -2.5, -0.1], [2.5, 0.4, -3.5, 0.0]];
    let pad = [[-80.0f32, 60.0, 1e4, -1e4], [-50.0, -50.0, 50.0, 50.0]];
    let padded = Tensor::new(&[[real[0], real[1], real[2]], [real[3], pad[0], pad[1]]], &Device::Cpu).unwrap();
    let stats = |l: &NaLoraLinear| (state(l, IMPORTANCE_KEY), state(l, OPENNESS_KEY));

    let alone = layer(&a, &b, &ValidTokens::default());
    alone.forward(&Tensor::new(&real, &Device::Cpu).unwrap(), &base).unwrap();
    alone.after_step(1).unwrap();

    let valid = ValidTokens::default();
    valid.set(Some(vec![true, true, true, true, false, false]));
    let masked = layer(&a, &b, &valid);
    masked.forward(&padded, &base).unwrap();
    masked.after_step(1).unwrap();
    assert_eq!(stats(&masked), stats(&alone));

    // Without the validity the padding moves the means, so the check above can fail.
    let blind = layer(&a, &b, &ValidTokens::default());
    blind.forward(&padded, &base).unwrap();
    blind.after_step(1).unwrap();
    assert_ne!(stats(&blind).1, stats(&alone).1);

    // A validity of another batch's shape is an error, not a silent misreading.
    valid.set(Some(vec![true; 5]));
    let err = masked.forward(&padded, &base).unwrap_err().to_string();
    assert!(err.contains("valid-token mask has 5 positions but the gate forward has 6"), "{err}");
}

/// AdamW (with weight decay) builds momentum for three steps, then row 1 of B is masked
/// for four steps and unmasked: it equals, bit for bit, its value when it was masked.
/// Without the hook's freeze the same steps move it.
#[test]
fn a_masked_row_comes_back_bit_for_bit() {
    let (inp, out, r) = (5, 4, 3);
    let base = FrozenLinear::new(uniform(&[out, inp], 0.3, 2));
    let (a, b) = (uniform(&[r, inp], 0.5, 3), uniform(&[out, r], 0.5, 4));
    let params = ParamsAdamW { lr: 0.05, weight_decay: 0.1, ..ParamsAdamW::default() };
    let run = |with_hook: bool| {
        let l = Arc::new(layer(&a, &b, &ValidTokens::default()));
        let vars: Vec<Var> = l.parameters().into_iter().map(|(_, v)| v).collect();
        let mut opt = AdamW::new(vars.clone(), params.clone()).unwrap();
        let hook = StepHook::new(vec![l.clone() as Arc<dyn Adapter>]);
        let mut at_masking = None;
        for step in 1..=7 {
            if step == 4 {
                l.set_state(MASK_KEY, &Tensor::new(&[1f32, 0.0, 1.0, 1.0], &Device::Cpu).unwrap()).unwrap();
                at_masking = Some(vars[1].as_tensor().copy().unwrap());
            }
            let x = uniform(&[3, inp], 1.0, 10 + step);
            let grads = l.forward(&x, &base).unwrap().sqr().unwrap().sum_all().unwrap().backward().unwrap();
            if with_hook {
                hook.run(step as usize, || opt.step(&grads)).unwrap();
            } else {
                opt.step(&grads).unwrap();
            }
        }
        l.set_state(MASK_KEY, &Tensor::ones(out, DType::F32, &Device::Cpu).unwrap()).unwrap();
        (bits(&at_masking.unwrap()), bits(vars[1].as_tensor()))
    };
    let (when_masked, after) = run(true);
    assert_eq!(after[1], when_masked[1], "the masked row is frozen");
    for row in [0, 2, 3] {
        assert_ne!(after[row], when_masked[row], "row {row} kept training");
    }
    let (when_masked, after) = run(false);
    assert_ne!(after[1], when_masked[1], "plain AdamW moves the masked row (momentum, weight decay)");
}
