//! Spectra of trained updates: does a nonlinear f lift the rank of `s·f(B·A)` above
//! LoRA's `s·B·A`, whose rank is at most r?
//!
//! For each adapted module the dense update the method merges ([`Adapter::merged_delta`])
//! is set against the plain low-rank one its factors make ([`Adapter::linear_delta`]).
//! Both come as f32 tensors (what the model adds to W0), so their numerical rank uses
//! f32's ε: rounding noise of the storage is not rank. The other measures use every
//! singular value, so an effect far below that tolerance (Sinter's default 5e-5 ripple)
//! still shows, above a floor of about ε² ≈ 1e-14 of the energy that f32 rounding alone leaves.

use crate::adapter::Adapter;
use crate::error::{AdapterError, Result};
use crate::set::AdapterSet;
use candle_core::{DType, Tensor};
use loran_model::{FrozenLinear, Llama};
use nalgebra::DMatrix;

/// Rank measures of one matrix, from its singular values σ₁ ≥ σ₂ ≥ … ≥ 0.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RankMeasures {
    /// Count of σ > max(m, n)·ε·σ₁ (NumPy's `matrix_rank` rule), ε the storage precision's.
    pub numerical_rank: usize,
    /// Roy & Vetterli (2007): exp of the Shannon entropy of pᵢ = σᵢ/Σσ (1 for rank one,
    /// k for k equal singular values); 0 for the zero matrix.
    pub effective_rank: f64,
    /// ‖M‖_F²/σ₁² = Σσ²/σ₁²; 0 for the zero matrix.
    pub stable_rank: f64,
    /// Share of the energy Σσ² outside the top r singular directions: the part of the
    /// update no rank-r matrix can hold (Eckart–Young); 0 for the zero matrix.
    pub energy_outside_r: f64,
}

impl RankMeasures {
    /// The measures of singular values `sigma` (any order) of an `m × n` matrix stored with
    /// machine precision `eps`, against rank `r`.
    pub fn of(sigma: &[f64], shape: (usize, usize), r: usize, eps: f64) -> Self {
        let mut s: Vec<f64> = sigma.iter().map(|v| v.abs()).collect();
        s.sort_by(|a, b| b.total_cmp(a));
        let top = s.first().copied().unwrap_or(0.0);
        if top == 0.0 {
            return Self { numerical_rank: 0, effective_rank: 0.0, stable_rank: 0.0, energy_outside_r: 0.0 };
        }
        let tol = shape.0.max(shape.1) as f64 * eps * top;
        let sum: f64 = s.iter().sum();
        let entropy: f64 = s.iter().map(|v| v / sum).filter(|&p| p > 0.0).map(|p| -p * p.ln()).sum();
        let energy: f64 = s.iter().map(|v| v * v).sum();
        let outside: f64 = s.iter().skip(r).map(|v| v * v).sum();
        Self {
            numerical_rank: s.iter().filter(|&&v| v > tol).count(),
            effective_rank: entropy.exp(),
            stable_rank: energy / (top * top),
            energy_outside_r: outside / energy,
        }
    }

    /// The measures of `matrix` (see [`RankMeasures::of`]).
    pub fn of_matrix(matrix: &DMatrix<f64>, r: usize, eps: f64) -> Self {
        Self::of(singular_values(matrix).as_slice(), matrix.shape(), r, eps)
    }
}

/// Singular values of `matrix`, largest first (nalgebra's SVD, without U and V).
pub fn singular_values(matrix: &DMatrix<f64>) -> Vec<f64> {
    if matrix.is_empty() {
        return Vec::new();
    }
    let mut s: Vec<f64> = matrix.singular_values_unordered().iter().copied().collect();
    s.sort_by(|a, b| b.total_cmp(a));
    s
}

/// One adapted module's two updates, measured.
#[derive(Debug, Clone, PartialEq)]
pub struct ModuleSpectrum {
    /// HF name of the adapted linear.
    pub module: String,
    /// The adapter's rank r.
    pub r: usize,
    /// Output width (rows of ΔW).
    pub out_features: usize,
    /// Input width (columns of ΔW).
    pub in_features: usize,
    /// `s·B·A` (or the method's [`Adapter::linear_delta`]).
    pub linear: RankMeasures,
    /// The dense update the method merges (`s·f(B·A)` for LoRAN).
    pub nonlinear: RankMeasures,
}

/// A 2-D tensor as an f64 matrix.
pub fn to_matrix(t: &Tensor) -> Result<DMatrix<f64>> {
    let (rows, cols) = t.dims2()?;
    let values: Vec<f64> = t.to_dtype(DType::F64)?.flatten_all()?.to_vec1()?;
    Ok(DMatrix::from_row_slice(rows, cols, &values))
}

/// The spectrum of one adapter over `base`: its merged update against its linear one,
/// both f32 tensors (measured with f32's ε). An error names the method's reason when it
/// has no weight-space update or no low-rank pair.
pub fn module_spectrum(module: &str, r: usize, adapter: &dyn Adapter, base: &FrozenLinear) -> Result<ModuleSpectrum> {
    let unsupported = |why: &str| AdapterError::config("method", format!("`{module}` has no dense update to analyze: {why}"));
    let nonlinear = adapter.merged_delta(base)?.ok_or_else(|| unsupported(adapter.why_not_mergeable()))?;
    let linear = adapter.linear_delta()?.ok_or_else(|| unsupported("the method has no low-rank pair B·A"))?;
    let (out_features, in_features) = nonlinear.dims2()?;
    let (lin, non) = (to_matrix(&linear)?, to_matrix(&nonlinear)?);
    let eps = f32::EPSILON as f64;
    let (linear, nonlinear) = rayon::join(|| RankMeasures::of_matrix(&lin, r, eps), || RankMeasures::of_matrix(&non, r, eps));
    Ok(ModuleSpectrum { module: module.to_string(), r, out_features, in_features, linear, nonlinear })
}

/// [`module_spectrum`] of every adapter of `set`, attached to `model`, in model order.
pub fn set_spectra(set: &AdapterSet, model: &Llama) -> Result<Vec<ModuleSpectrum>> {
    let r = set.config().r;
    let linears = model.linears();
    set.adapters()
        .iter()
        .map(|(name, adapter)| {
            let linear = linears
                .iter()
                .find(|l| l.name() == name)
                .ok_or_else(|| AdapterError::config("targets", format!("the model has no linear `{name}`")))?;
            module_spectrum(name, r, adapter.as_ref(), linear.base())
        })
        .collect()
}

#[cfg(test)]
#[path = "spectrum_tests.rs"]
mod tests;
