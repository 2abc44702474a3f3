//! Plumbing shared by this crate's CPU custom ops: the f32 input as a tensor, and a
//! result tensor as the op's output storage.

use candle_core::{CpuStorage, Error, Layout, Result, Shape, Tensor};

/// The op's input as contiguous f32 values; `op` and `what` name it in errors
/// (`"<op>: the <what> must be f32"`, `... must be contiguous`).
pub(crate) fn f32_values<'a>(op: &str, what: &str, storage: &'a CpuStorage, layout: &Layout) -> Result<&'a [f32]> {
    let CpuStorage::F32(data) = storage else {
        return Err(Error::msg(format!("{op}: the {what} must be f32")));
    };
    let Some((start, end)) = layout.contiguous_offsets() else {
        return Err(Error::msg(format!("{op}: the {what} must be contiguous")));
    };
    Ok(&data[start..end])
}

/// The op's input as a CPU tensor (a copy of [`f32_values`]).
pub(crate) fn f32_input(op: &str, what: &str, storage: &CpuStorage, layout: &Layout) -> Result<Tensor> {
    Tensor::from_slice(f32_values(op, what, storage, layout)?, layout.shape(), &candle_core::Device::Cpu)
}

/// `y` as an op's f32 output storage and shape.
pub(crate) fn f32_output(y: &Tensor) -> Result<(CpuStorage, Shape)> {
    Ok((CpuStorage::F32(y.flatten_all()?.to_vec1::<f32>()?), y.shape().clone()))
}
