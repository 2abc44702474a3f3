//! Inference for comparing two trained systems on one test set over several training seeds.
//!
//! A table's delta "row − baseline" has two sources of noise: which seeds trained the
//! models (training noise) and which examples happen to be in the test set (sampling
//! noise). Both are random, and they cross: every seed is scored on every example.
//! [`variance`] estimates the variance of the mean paired difference under that crossed
//! design, [`Inference`] turns it into a Student-t interval and p-value with Satterthwaite
//! degrees of freedom, [`holm`] corrects a table's family of p-values, [`power`] gives the
//! smallest difference a comparison detects at a given power, and
//! [`Inference::equivalent`] is the two one-sided tests (TOST) for a control.
//!
//! Why not a bootstrap over seeds: with 3 seeds there are only 10 distinct resamples
//! of seeds, and the percentile interval under-covers badly (see the calibration tests).
//! The t quantile with few degrees of freedom is what makes 3 seeds honest.

pub mod holm;
pub mod inference;
pub mod power;
pub mod variance;

pub use holm::holm;
pub use inference::Inference;
pub use power::{min_detectable, power_two_sided};
pub use variance::{from_differences, two_stage_bootstrap, VarianceParts};

/// Why an estimate cannot be made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StatsError {
    /// No seeds or no examples.
    #[error("no {0} to compare")]
    Empty(&'static str),
    /// Seeds scored different numbers of examples.
    #[error("seed {seed} has {got} examples where seed 0 has {want}")]
    Ragged {
        /// The 0-based seed position.
        seed: usize,
        /// Its number of examples.
        got: usize,
        /// Seed 0's number of examples.
        want: usize,
    },
    /// A value or the statistic was NaN or infinite.
    #[error("a {0} is not a finite number")]
    NotFinite(&'static str),
}
