//! An activation as a candle custom op: forward maps f over an f32 tensor, and
//! backward multiplies the incoming gradient by f′ of the op's input.

use super::spec::Activation;
use candle_core::{CpuStorage, CustomOp1, Error, Layout, Result, Shape, Tensor};
use rayon::prelude::*;
use std::sync::{Arc, Mutex};

/// Below this many elements the loop runs on one thread.
const PARALLEL_MIN: usize = 1 << 15;

/// What the op computes element-wise.
#[derive(Clone, Copy, PartialEq)]
enum Output {
    /// s·f(x); when a backward pass will follow, s·f′(x) is computed in the same
    /// pass (one evaluation of the shared terms, e.g. Sinter's sin and cos) and
    /// kept for it.
    Value,
    /// s·f′(x) only.
    Slope,
}

/// s·f (or s·f′) applied element-wise.
struct ElementWise {
    function: Arc<dyn Activation>,
    scale: f64,
    output: Output,
    /// Computed with the values: the backward pass's s·f′(x).
    slope: Mutex<Option<Vec<f32>>>,
    keep_slope: bool,
}

impl ElementWise {
    fn new(function: Arc<dyn Activation>, scale: f64, output: Output, keep_slope: bool) -> Self {
        Self { function, scale, output, slope: Mutex::new(None), keep_slope }
    }

    fn map(&self, xs: &[f32]) -> Vec<f32> {
        let (function, s) = (self.function.as_ref(), self.scale);
        let one = |&x: &f32| -> f32 {
            let x = x as f64;
            (s * match self.output {
                Output::Value => function.f(x),
                Output::Slope => function.df(x),
            }) as f32
        };
        if xs.len() >= PARALLEL_MIN {
            xs.par_iter().with_min_len(4096).map(one).collect()
        } else {
            xs.iter().map(one).collect()
        }
    }

    /// Values and slopes in one pass.
    fn map_both(&self, xs: &[f32]) -> (Vec<f32>, Vec<f32>) {
        let (function, s) = (self.function.as_ref(), self.scale);
        let one = |&x: &f32| -> (f32, f32) {
            let (f, df) = function.f_df(x as f64);
            ((s * f) as f32, (s * df) as f32)
        };
        if xs.len() >= PARALLEL_MIN {
            xs.par_iter().with_min_len(4096).map(one).unzip()
        } else {
            xs.iter().map(one).unzip()
        }
    }
}

impl CustomOp1 for ElementWise {
    fn name(&self) -> &'static str {
        match self.output {
            Output::Value => "activation",
            Output::Slope => "activation-derivative",
        }
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let CpuStorage::F32(data) = storage else {
            return Err(Error::msg(format!("{}: LoRAN computes f(B·A) in f32; convert the tensor to f32 first", self.name())));
        };
        let Some((start, end)) = layout.contiguous_offsets() else {
            return Err(Error::msg(format!("{}: needs a contiguous tensor (call .contiguous() first)", self.name())));
        };
        let xs = &data[start..end];
        let values = if self.output == Output::Value && self.keep_slope {
            let (values, slope) = self.map_both(xs);
            *self.slope.lock().expect("slope cache poisoned") = Some(slope);
            values
        } else {
            self.map(xs)
        };
        Ok((CpuStorage::F32(values), layout.shape().clone()))
    }

    fn bwd(&self, arg: &Tensor, _res: &Tensor, grad_res: &Tensor) -> Result<Option<Tensor>> {
        if self.output == Output::Slope {
            // Second derivatives are never needed for training.
            return Err(Error::BackwardNotSupported { op: "activation-derivative" });
        }
        let cached = self.slope.lock().expect("slope cache poisoned").take();
        let slope = match cached {
            Some(v) if v.len() == arg.elem_count() => Tensor::from_vec(v, arg.shape(), arg.device())?,
            _ => arg.contiguous()?.apply_op1_no_bwd(&ElementWise::new(self.function.clone(), self.scale, Output::Slope, false))?,
        };
        Ok(Some(grad_res.mul(&slope)?))
    }
}

/// f(x) element-wise on an f32 tensor; gradients flow back as `grad ⊙ f′(x)`.
pub fn apply(function: Arc<dyn Activation>, x: &Tensor) -> Result<Tensor> {
    apply_scaled(function, 1.0, x)
}

/// s·f(x) element-wise on an f32 tensor, in one pass (f in f64, then ·s, rounded
/// once); gradients flow back as `grad ⊙ s·f′(x)`. When `x` is part of a graph,
/// s·f′(x) is computed in the same pass and kept for the backward.
pub fn apply_scaled(function: Arc<dyn Activation>, scale: f64, x: &Tensor) -> Result<Tensor> {
    let x = x.contiguous()?;
    let keep_slope = x.track_op();
    x.apply_op1(ElementWise::new(function, scale, Output::Value, keep_slope))
}

/// f′(x) element-wise on an f32 tensor (no gradient).
pub fn derivative(function: Arc<dyn Activation>, x: &Tensor) -> Result<Tensor> {
    x.contiguous()?.apply_op1_no_bwd(&ElementWise::new(function, 1.0, Output::Slope, false))
}

#[cfg(test)]
mod tests {
    use crate::activations::ActivationConfig;
    use candle_core::{DType, Device, Tensor, Var};

    #[test]
    fn forward_maps_f_and_backward_multiplies_by_the_slope() {
        let act = ActivationConfig::named("tanh").unwrap().resolve().unwrap();
        let values: Vec<f32> = (0..70_000).map(|i| ((i * 37 % 1001) as f32 - 500.0) / 150.0).collect();
        // Large enough to take the parallel path; viewed transposed so the input is strided.
        let x = Var::from_tensor(&Tensor::from_vec(values, (350, 200), &Device::Cpu).unwrap()).unwrap();
        let xt = x.as_tensor().t().unwrap();
        assert!(!xt.is_contiguous());
        let y = act.apply(&xt).unwrap();
        let g = Tensor::rand(-1f32, 1f32, (200, 350), &Device::Cpu).unwrap();
        let grads = (&y * &g).unwrap().sum_all().unwrap().backward().unwrap();
        let (xs, ys) = (xt.to_vec2::<f32>().unwrap(), y.to_vec2::<f32>().unwrap());
        let (gs, dx) = (g.to_vec2::<f32>().unwrap(), grads.get(x.as_tensor()).unwrap().t().unwrap().to_vec2::<f32>().unwrap());
        for i in (0..200).step_by(7) {
            for j in (0..350).step_by(11) {
                assert_eq!(ys[i][j], act.f(xs[i][j]));
                assert_eq!(dx[i][j], gs[i][j] * act.df(xs[i][j]));
            }
        }
        let slope = super::derivative(act.function().clone(), &xt).unwrap().to_vec2::<f32>().unwrap();
        assert_eq!(slope[3][5], act.df(xs[3][5]));
    }

    #[test]
    fn scaled_values_and_cached_slopes_equal_the_separate_computation() {
        let act = ActivationConfig::named("sinter").unwrap().resolve().unwrap();
        let s = 0.25;
        let values: Vec<f32> = (0..40_000).map(|i| ((i * 53 % 2001) as f32 - 1000.0) / 9000.0).collect();
        let x = Var::from_tensor(&Tensor::from_vec(values.clone(), (200, 200), &Device::Cpu).unwrap()).unwrap();
        let y = super::apply_scaled(act.function().clone(), s, x.as_tensor()).unwrap();
        let g = Tensor::rand(-1f32, 1f32, (200, 200), &Device::Cpu).unwrap();
        let grads = (&y * &g).unwrap().sum_all().unwrap().backward().unwrap();
        let (ys, gs) = (y.flatten_all().unwrap().to_vec1::<f32>().unwrap(), g.flatten_all().unwrap().to_vec1::<f32>().unwrap());
        let dx = grads.get(x.as_tensor()).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let f = act.function();
        for i in (0..values.len()).step_by(97) {
            let v = values[i] as f64;
            assert_eq!(ys[i], (s * f.f(v)) as f32);
            assert_eq!(dx[i], gs[i] * (s * f.df(v)) as f32);
        }
        // A tensor outside any graph gets no slope pass (and still the same values).
        let plain = Tensor::from_vec(values, (200, 200), &Device::Cpu).unwrap();
        let y2 = super::apply_scaled(act.function().clone(), s, &plain).unwrap();
        assert_eq!(y2.flatten_all().unwrap().to_vec1::<f32>().unwrap(), ys);
    }

    #[test]
    fn other_dtypes_are_refused() {
        let act = ActivationConfig::default().resolve().unwrap();
        let x = Tensor::zeros(4, DType::F64, &Device::Cpu).unwrap();
        let err = act.apply(&x).unwrap_err().to_string();
        assert!(err.contains("f32"), "{err}");
    }
}
