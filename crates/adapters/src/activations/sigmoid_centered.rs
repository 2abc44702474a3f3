//! `sigmoid-centered`: f(x) = σ(x) − 0.5, f′(x) = σ(x)(1−σ(x)). f(0) = 0, f′(0) = 0.25.
//!
//! The zero-start variant of `sigmoid` (which stays as the paper has it).
//! Computed in f64, then rounded to f32; near 0 the form `tanh(x/2)/2` keeps
//! the relative accuracy that `σ(x) − 0.5` would cancel away.

use super::{logistic, Activation, ActivationSpec, Params};
use std::sync::Arc;

/// Registry entry.
pub const SPEC: ActivationSpec = ActivationSpec { name: "sigmoid-centered", formula: "σ(x) − 0.5", params: &[], build };

fn build(_: &Params) -> Arc<dyn Activation> {
    Arc::new(SigmoidCentered)
}

#[derive(Debug)]
struct SigmoidCentered;

impl Activation for SigmoidCentered {
    fn f(&self, x: f64) -> f64 {
        0.5 * (0.5 * x).tanh()
    }
    fn df(&self, x: f64) -> f64 {
        let s = logistic(x);
        s * (1.0 - s)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn matches_its_formula() {
        super::super::tests::check_formula("sigmoid-centered", &[], |x| 1.0 / (1.0 + (-x).exp()) - 0.5);
    }
}
