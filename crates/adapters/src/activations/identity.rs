//! `identity`: f(x) = x, f′(x) = 1. f(0) = 0, f′(0) = 1.
//!
//! LoRAN with the identity is LoRA (same init, same update, same gradients).

use super::{Activation, ActivationSpec, Params};
use std::sync::Arc;

/// Registry entry.
pub const SPEC: ActivationSpec = ActivationSpec { name: "identity", formula: "x", params: &[], build };

fn build(_: &Params) -> Arc<dyn Activation> {
    Arc::new(Identity)
}

#[derive(Debug)]
struct Identity;

impl Activation for Identity {
    fn f(&self, x: f64) -> f64 {
        x
    }
    fn df(&self, _: f64) -> f64 {
        1.0
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn matches_its_formula() {
        super::super::tests::check_formula("identity", &[], |x| x);
    }
}
