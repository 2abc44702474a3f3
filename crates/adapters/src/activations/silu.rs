//! `silu`: f(x) = x·σ(x), f′(x) = σ(x)·(1 + x·(1 − σ(x))). f(0) = 0, f′(0) = 0.5.
//!
//! Computed in f64 with the overflow-free form of σ, then rounded to f32.

use super::{logistic, Activation, ActivationSpec, Params};
use std::sync::Arc;

/// Registry entry.
pub const SPEC: ActivationSpec = ActivationSpec { name: "silu", formula: "x·σ(x)", params: &[], build };

fn build(_: &Params) -> Arc<dyn Activation> {
    Arc::new(Silu)
}

#[derive(Debug)]
struct Silu;

impl Activation for Silu {
    fn f(&self, x: f64) -> f64 {
        x * logistic(x)
    }
    fn df(&self, x: f64) -> f64 {
        let s = logistic(x);
        s * (1.0 + x * (1.0 - s))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn matches_its_formula() {
        super::super::tests::check_formula("silu", &[], |x| x * 0.5 * (1.0 + (x / 2.0).tanh()));
    }
}
