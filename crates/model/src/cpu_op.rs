//! Plumbing shared by CPU custom ops over f32 values: this crate's training ops and
//! frozen products, and the adapters crate's fused nodes, which build on the same
//! storage conventions (see [`crate::frozen_matmul`] for the seam between them).

use candle_core::{CpuStorage, Error, Layout, Result, Shape, Storage, Tensor};

/// Whether `x` can take a fused op: f32 on the CPU.
pub fn fusable(x: &Tensor) -> bool {
    x.dtype() == candle_core::DType::F32 && x.device().is_cpu()
}

/// The op's input as contiguous f32 values; `op` and `what` name it in errors
/// (`"<op>: the <what> must be f32"`, `... must be contiguous`).
pub fn f32_values<'a>(op: &str, what: &str, storage: &'a CpuStorage, layout: &Layout) -> Result<&'a [f32]> {
    let CpuStorage::F32(data) = storage else {
        return Err(Error::msg(format!("{op}: the {what} must be f32")));
    };
    let Some((start, end)) = layout.contiguous_offsets() else {
        return Err(Error::msg(format!("{op}: the {what} must be contiguous")));
    };
    Ok(&data[start..end])
}

/// The op's input as a CPU tensor (a copy of [`f32_values`]).
pub fn f32_input(op: &str, what: &str, storage: &CpuStorage, layout: &Layout) -> Result<Tensor> {
    Tensor::from_slice(f32_values(op, what, storage, layout)?, layout.shape(), &candle_core::Device::Cpu)
}

/// `y` as an op's f32 output storage and shape.
pub fn f32_output(y: &Tensor) -> Result<(CpuStorage, Shape)> {
    Ok((CpuStorage::F32(y.flatten_all()?.to_vec1::<f32>()?), y.shape().clone()))
}

/// Runs `f` on the contiguous f32 values of a CPU tensor (copied only if strided).
pub fn with_values<R>(t: &Tensor, f: impl FnOnce(&[f32]) -> R) -> Result<R> {
    let t = t.contiguous()?;
    let (storage, layout) = t.storage_and_layout();
    let Storage::Cpu(cpu) = &*storage else {
        return Err(Error::msg("a fused training op needs a CPU tensor"));
    };
    Ok(f(f32_values("fused op", "input", cpu, layout)?))
}
