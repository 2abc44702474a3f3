//! Matmul kernels for frozen weights: out[M, N] = bf16(A)[M, K] · B[K, N], with bf16
//! inputs, f32 accumulation and f32 output, the arithmetic QLoRA/PEFT use for the frozen
//! base weights. B is packed once ([`PackedBf16`]); A is rounded to bf16 on the fly.
//!
//! The backend is picked at run time ([`Backend::selected`]): AMX-BF16 tiles (Intel
//! Sapphire Rapids and later), AVX-512-BF16 `vdpbf16ps` (Zen 4, Cooper Lake, SPR), or a
//! portable f32 loop on the same bf16 values. Work is split over M and N blocks only,
//! never K, so every output element is summed in one fixed order whatever the thread
//! count: results are bit-identical on 1 and many threads (for one backend).
#![deny(unsafe_op_in_unsafe_fn)]

pub mod bench;
pub mod bf16;
mod detect;
mod driver;
mod pack;
mod portable;

#[cfg(target_arch = "x86_64")]
mod amx;
#[cfg(target_arch = "x86_64")]
mod avx512;

pub use detect::Backend;
pub use pack::PackedBf16;

/// Errors of packing and matmul calls.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KernelError {
    /// Operand lengths do not match the stated shapes.
    #[error("shape mismatch: {0}")]
    Shape(String),
    /// A backend was forced (argument or `LORAN_MATMUL`) that this CPU or OS lacks.
    #[error("matmul backend `{0}` is not available on this CPU/OS")]
    Unavailable(&'static str),
    /// `LORAN_MATMUL` holds no backend name.
    #[error("unknown matmul backend `{0}` (expected portable, avx512bf16, amx or auto)")]
    UnknownBackend(String),
}

/// out[M, N] = bf16(a)[M, K] · B with the [`Backend::selected`] backend. `a` is row-major
/// [M, K] f32, `out` row-major [M, N] and overwritten.
pub fn matmul(a: &[f32], m: usize, b: &PackedBf16, out: &mut [f32]) -> Result<(), KernelError> {
    driver::run(Backend::selected()?, a, m, b, out, false)
}

/// out[M, N] += bf16(a)[M, K] · B (e.g. summing gradient contributions).
pub fn matmul_acc(a: &[f32], m: usize, b: &PackedBf16, out: &mut [f32]) -> Result<(), KernelError> {
    driver::run(Backend::selected()?, a, m, b, out, true)
}

/// [`matmul`] (or [`matmul_acc`] when `accumulate`) on an explicit backend; an error,
/// not a crash, when this CPU lacks it.
pub fn matmul_with(
    backend: Backend,
    a: &[f32],
    m: usize,
    b: &PackedBf16,
    out: &mut [f32],
    accumulate: bool,
) -> Result<(), KernelError> {
    driver::run(backend, a, m, b, out, accumulate)
}
