//! `relu`: f(x) = max(0, x), f′(x) = 1 for x > 0 and 0 otherwise. f(0) = 0, f′(0) = 0.
//!
//! Trap: f′(0) = 0, and B·A = 0 at init (B = 0), so neither A nor B ever gets a
//! gradient: the adapter never trains. Use `leaky-relu` for a trainable variant.
//! Exact in any precision.

use super::{Activation, ActivationSpec, Params};
use std::sync::Arc;

/// Registry entry.
pub const SPEC: ActivationSpec = ActivationSpec { name: "relu", formula: "max(0, x)", params: &[], build };

fn build(_: &Params) -> Arc<dyn Activation> {
    Arc::new(Relu)
}

#[derive(Debug)]
struct Relu;

impl Activation for Relu {
    fn f(&self, x: f64) -> f64 {
        if x > 0.0 {
            x
        } else {
            0.0
        }
    }
    fn df(&self, x: f64) -> f64 {
        if x > 0.0 {
            1.0
        } else {
            0.0
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn matches_its_formula() {
        super::super::tests::check_formula("relu", &[], |x| x.max(0.0));
    }
}
