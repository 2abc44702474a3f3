//! An activation as a candle custom op: forward maps f over an f32 tensor, and
//! backward multiplies the incoming gradient by f′ of the op's input.

use super::spec::Activation;
use candle_core::{CpuStorage, CustomOp1, Error, Layout, Result, Shape, Tensor};
use rayon::prelude::*;
use std::sync::Arc;

/// Below this many elements the loop runs on one thread.
const PARALLEL_MIN: usize = 1 << 15;

/// f (or f′ when `derivative`) applied element-wise.
struct ElementWise {
    function: Arc<dyn Activation>,
    derivative: bool,
}

impl ElementWise {
    fn map(&self, xs: &[f32]) -> Vec<f32> {
        let function = self.function.as_ref();
        let one = |&x: &f32| -> f32 {
            let x = x as f64;
            (if self.derivative { function.df(x) } else { function.f(x) }) as f32
        };
        if xs.len() >= PARALLEL_MIN {
            xs.par_iter().with_min_len(4096).map(one).collect()
        } else {
            xs.iter().map(one).collect()
        }
    }
}

impl CustomOp1 for ElementWise {
    fn name(&self) -> &'static str {
        if self.derivative {
            "activation-derivative"
        } else {
            "activation"
        }
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let CpuStorage::F32(data) = storage else {
            return Err(Error::msg(format!("{}: LoRAN computes f(B·A) in f32; convert the tensor to f32 first", self.name())));
        };
        let Some((start, end)) = layout.contiguous_offsets() else {
            return Err(Error::msg(format!("{}: needs a contiguous tensor (call .contiguous() first)", self.name())));
        };
        Ok((CpuStorage::F32(self.map(&data[start..end])), layout.shape().clone()))
    }

    fn bwd(&self, arg: &Tensor, _res: &Tensor, grad_res: &Tensor) -> Result<Option<Tensor>> {
        if self.derivative {
            // Second derivatives are never needed for training.
            return Err(Error::BackwardNotSupported { op: "activation-derivative" });
        }
        let slope = arg.apply_op1_no_bwd(&ElementWise { function: self.function.clone(), derivative: true })?;
        Ok(Some(grad_res.mul(&slope)?))
    }
}

/// f(x) element-wise on an f32 tensor; gradients flow back as `grad ⊙ f′(x)`.
pub fn apply(function: Arc<dyn Activation>, x: &Tensor) -> Result<Tensor> {
    let x = x.contiguous()?;
    x.apply_op1(ElementWise { function, derivative: false })
}

/// f′(x) element-wise on an f32 tensor (no gradient).
pub fn derivative(function: Arc<dyn Activation>, x: &Tensor) -> Result<Tensor> {
    x.contiguous()?.apply_op1_no_bwd(&ElementWise { function, derivative: true })
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
    fn other_dtypes_are_refused() {
        let act = ActivationConfig::default().resolve().unwrap();
        let x = Tensor::zeros(4, DType::F64, &Device::Cpu).unwrap();
        let err = act.apply(&x).unwrap_err().to_string();
        assert!(err.contains("f32"), "{err}");
    }
}
