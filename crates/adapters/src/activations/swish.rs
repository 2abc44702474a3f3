//! `swish`: f(x) = x·σ(βx) with β = 25 by default (the paper's),
//! f′(x) = σ(βx)·(1 + βx·(1 − σ(βx))). f(0) = 0, f′(0) = 0.5 for every β.
//!
//! Parameter: `beta` (default 25). Computed in f64, then rounded to f32.

use super::{logistic, Activation, ActivationSpec, Param, Params};
use std::sync::Arc;

/// Registry entry.
pub const SPEC: ActivationSpec = ActivationSpec {
    name: "swish",
    formula: "x·σ(βx)",
    params: &[Param::number("beta", 25.0, "β, the sharpness of the gate")],
    build,
};

fn build(p: &Params) -> Arc<dyn Activation> {
    Arc::new(Swish { beta: p.get("beta") })
}

#[derive(Debug)]
struct Swish {
    beta: f64,
}

impl Activation for Swish {
    fn f(&self, x: f64) -> f64 {
        x * logistic(self.beta * x)
    }
    fn df(&self, x: f64) -> f64 {
        let bx = self.beta * x;
        let s = logistic(bx);
        s * (1.0 + bx * (1.0 - s))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn matches_its_formula() {
        super::super::tests::check_formula("swish", &[], |x| x * 0.5 * (1.0 + (12.5 * x).tanh()));
        super::super::tests::check_formula("swish", &[("beta", 1.0)], |x| x * 0.5 * (1.0 + (0.5 * x).tanh()));
    }
}
