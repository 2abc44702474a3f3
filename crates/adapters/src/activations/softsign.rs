//! `softsign`: f(x) = x/(1+|x|), f′(x) = 1/(1+|x|)². f(0) = 0, f′(0) = 1.
//!
//! Not in the paper: the worked example of README's "Adding an activation".
//! Computed in f64, then rounded to f32.

use super::{Activation, ActivationSpec, Params};
use std::sync::Arc;

/// Registry entry.
pub const SPEC: ActivationSpec = ActivationSpec { name: "softsign", formula: "x/(1+|x|)", params: &[], build };

fn build(_: &Params) -> Arc<dyn Activation> {
    Arc::new(Softsign)
}

#[derive(Debug)]
struct Softsign;

impl Activation for Softsign {
    fn f(&self, x: f64) -> f64 {
        x / (1.0 + x.abs())
    }
    fn df(&self, x: f64) -> f64 {
        1.0 / (1.0 + x.abs()).powi(2)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn matches_its_formula() {
        super::super::tests::check_formula("softsign", &[], |x| if x >= 0.0 { x / (1.0 + x) } else { x / (1.0 - x) });
    }
}
