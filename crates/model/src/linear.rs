//! Frozen base linears and the seam where an adapter wraps one.

use candle_core::{Result, Tensor};
use std::fmt::Debug;
use std::sync::Arc;

/// A frozen linear layer `y = x·Wᵀ (+ b)` whose weight never receives gradients.
#[derive(Debug, Clone)]
pub struct FrozenLinear {
    weight: Tensor,
    bias: Option<Tensor>,
}

impl FrozenLinear {
    /// Wraps a `[out_features, in_features]` weight.
    pub fn new(weight: Tensor) -> Self {
        Self { weight, bias: None }
    }

    /// Adds a `[out_features]` bias.
    pub fn with_bias(mut self, bias: Tensor) -> Self {
        self.bias = Some(bias);
        self
    }

    /// The bias, if any.
    pub fn bias(&self) -> Option<&Tensor> {
        self.bias.as_ref()
    }

    /// The dense weight `[out, in]` in the compute dtype (a cheap handle for dense storage).
    pub fn weight(&self) -> Result<Tensor> {
        Ok(self.weight.clone())
    }

    /// Replaces the weight with a dense one (used by exact adapter merges). The shape must not change.
    pub fn set_weight(&mut self, weight: Tensor) -> Result<()> {
        if weight.dims() != self.weight.dims() {
            candle_core::bail!("set_weight: shape {:?} differs from {:?}", weight.dims(), self.weight.dims());
        }
        self.weight = weight;
        Ok(())
    }

    /// Number of input features.
    pub fn in_features(&self) -> usize {
        self.weight.dim(1).unwrap_or(0)
    }

    /// Number of output features.
    pub fn out_features(&self) -> usize {
        self.weight.dim(0).unwrap_or(0)
    }

    /// `x·Wᵀ (+ b)` for `x` of shape `[..., in]`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let y = matmul_t(x, &self.weight)?;
        match &self.bias {
            Some(b) => y.broadcast_add(b),
            None => Ok(y),
        }
    }
}

/// `x·Wᵀ` for `x` of shape `[..., in]` and `w` of shape `[out, in]`, as one 2-D GEMM.
pub fn matmul_t(x: &Tensor, w: &Tensor) -> Result<Tensor> {
    let dims = x.dims();
    let in_features = dims[dims.len() - 1];
    let rows = x.elem_count() / in_features.max(1);
    let y = x.reshape((rows, in_features))?.matmul(&w.t()?)?;
    let mut out_dims = dims.to_vec();
    *out_dims.last_mut().expect("x has at least one dim") = w.dim(0)?;
    y.reshape(out_dims)
}

/// An adapter around one frozen linear (LoRA and its variants live in the adapters crate).
pub trait LinearAdapter: Debug + Send + Sync {
    /// The adapted layer's output for input `x` (`[..., in]`), given the frozen base layer.
    fn forward(&self, x: &Tensor, base: &FrozenLinear) -> Result<Tensor>;
}

/// A named linear of the model: a frozen base plus an optional adapter.
#[derive(Debug, Clone)]
pub struct AdaptableLinear {
    name: String,
    base: FrozenLinear,
    adapter: Option<Arc<dyn LinearAdapter>>,
}

impl AdaptableLinear {
    /// A linear called `name` (its Hugging Face path, e.g. `model.layers.7.self_attn.q_proj`).
    pub fn new(name: impl Into<String>, base: FrozenLinear) -> Self {
        Self { name: name.into(), base, adapter: None }
    }

    /// The Hugging Face path of this layer.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The frozen base layer.
    pub fn base(&self) -> &FrozenLinear {
        &self.base
    }

    /// The frozen base layer, for merges.
    pub fn base_mut(&mut self) -> &mut FrozenLinear {
        &mut self.base
    }

    /// The adapter, if one is attached.
    pub fn adapter(&self) -> Option<&Arc<dyn LinearAdapter>> {
        self.adapter.as_ref()
    }

    /// Attaches (`Some`) or removes (`None`) an adapter; returns the previous one.
    pub fn set_adapter(&mut self, adapter: Option<Arc<dyn LinearAdapter>>) -> Option<Arc<dyn LinearAdapter>> {
        std::mem::replace(&mut self.adapter, adapter)
    }

    /// The base output, or the adapter's output when one is attached.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        match &self.adapter {
            Some(adapter) => adapter.forward(x, &self.base),
            None => self.base.forward(x),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[derive(Debug)]
    struct AddOne;
    impl LinearAdapter for AddOne {
        fn forward(&self, x: &Tensor, base: &FrozenLinear) -> Result<Tensor> {
            base.forward(x)? + 1.0
        }
    }

    #[test]
    fn forward_is_x_times_w_transposed_and_adapter_wraps_it() {
        let dev = Device::Cpu;
        let w = Tensor::new(&[[1f32, 2., 3.], [4., 5., 6.]], &dev).unwrap();
        let x = Tensor::new(&[[[1f32, 0., -1.]], [[2., 1., 0.]]], &dev).unwrap();
        let mut lin = AdaptableLinear::new("layer", FrozenLinear::new(w));
        let y = lin.forward(&x).unwrap();
        assert_eq!(y.dims(), &[2, 1, 2]);
        assert_eq!(y.flatten_all().unwrap().to_vec1::<f32>().unwrap(), vec![-2., -2., 4., 13.]);
        lin.set_adapter(Some(Arc::new(AddOne)));
        let y = lin.forward(&x).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
        assert_eq!(y, vec![-1., -1., 5., 14.]);
        assert!(lin.set_adapter(None).is_some());
    }
}
