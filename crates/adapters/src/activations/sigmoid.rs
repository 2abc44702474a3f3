//! `sigmoid`: f(x) = σ(x) = 1/(1+e^−x), f′(x) = σ(x)(1−σ(x)). f(0) = 0.5, f′(0) = 0.25.
//!
//! Trap: f(0) = 0.5, so at init (B = 0) every entry of the update is 0.5·s and
//! the model does not start at the base. Use `sigmoid-centered` for a zero start.
//! Computed in f64 with the overflow-free form of σ, then rounded to f32.

use super::{logistic, Activation, ActivationSpec, Params};
use std::sync::Arc;

/// Registry entry.
pub const SPEC: ActivationSpec = ActivationSpec { name: "sigmoid", formula: "1/(1+e^−x)", params: &[], build };

fn build(_: &Params) -> Arc<dyn Activation> {
    Arc::new(Sigmoid)
}

#[derive(Debug)]
struct Sigmoid;

impl Activation for Sigmoid {
    fn f(&self, x: f64) -> f64 {
        logistic(x)
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
        // σ(x) = (1 + tanh(x/2)) / 2, an independent form.
        super::super::tests::check_formula("sigmoid", &[], |x| 0.5 * (1.0 + (x / 2.0).tanh()));
    }
}
