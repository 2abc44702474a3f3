//! `gaussian`: f(x) = 0.5·x·e^(−x²), f′(x) = 0.5·e^(−x²)·(1 − 2x²). f(0) = 0, f′(0) = 0.5.
//!
//! Computed in f64, then rounded to f32.

use super::{Activation, ActivationSpec, Params};
use std::sync::Arc;

/// Registry entry.
pub const SPEC: ActivationSpec = ActivationSpec { name: "gaussian", formula: "0.5·x·e^(−x²)", params: &[], build };

fn build(_: &Params) -> Arc<dyn Activation> {
    Arc::new(Gaussian)
}

#[derive(Debug)]
struct Gaussian;

impl Activation for Gaussian {
    fn f(&self, x: f64) -> f64 {
        0.5 * x * (-x * x).exp()
    }
    fn df(&self, x: f64) -> f64 {
        0.5 * (-x * x).exp() * (1.0 - 2.0 * x * x)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn matches_its_formula() {
        super::super::tests::check_formula("gaussian", &[], |x| x / (2.0 * (x * x).exp()));
    }
}
