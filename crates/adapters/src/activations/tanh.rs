//! `tanh`: f(x) = tanh x, f′(x) = 1 − tanh²x. f(0) = 0, f′(0) = 1.
//!
//! Computed in f64, then rounded to f32.

use super::{Activation, ActivationSpec, Params};
use std::sync::Arc;

/// Registry entry.
pub const SPEC: ActivationSpec = ActivationSpec { name: "tanh", formula: "tanh x", params: &[], build };

fn build(_: &Params) -> Arc<dyn Activation> {
    Arc::new(Tanh)
}

#[derive(Debug)]
struct Tanh;

impl Activation for Tanh {
    fn f(&self, x: f64) -> f64 {
        x.tanh()
    }
    fn df(&self, x: f64) -> f64 {
        let t = x.tanh();
        1.0 - t * t
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn matches_its_formula() {
        super::super::tests::check_formula("tanh", &[], |x| {
            let (p, m) = (x.exp(), (-x).exp());
            if x.abs() > 300.0 {
                x.signum()
            } else {
                (p - m) / (p + m)
            }
        });
    }
}
