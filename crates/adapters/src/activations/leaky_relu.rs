//! `leaky-relu`: f(x) = x for x > 0, slope·x otherwise (slope default 0.01);
//! f′(x) = 1 for x > 0, slope otherwise. f(0) = 0, f′(0) = slope.
//!
//! The trainable variant of `relu` (which stays as the paper has it): with
//! slope > 0 gradients flow from B = 0. Parameter: `slope`. Computed in f64.

use super::{Activation, ActivationSpec, Param, Params};
use std::sync::Arc;

/// Registry entry.
pub const SPEC: ActivationSpec = ActivationSpec {
    name: "leaky-relu",
    formula: "x if x > 0 else slope·x",
    params: &[Param::number("slope", 0.01, "the slope for x ≤ 0")],
    build,
};

fn build(p: &Params) -> Arc<dyn Activation> {
    Arc::new(LeakyRelu { slope: p.get("slope") })
}

#[derive(Debug)]
struct LeakyRelu {
    slope: f64,
}

impl Activation for LeakyRelu {
    fn f(&self, x: f64) -> f64 {
        if x > 0.0 {
            x
        } else {
            self.slope * x
        }
    }
    fn df(&self, x: f64) -> f64 {
        if x > 0.0 {
            1.0
        } else {
            self.slope
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn matches_its_formula() {
        super::super::tests::check_formula("leaky-relu", &[], |x| x.max(0.01 * x));
        super::super::tests::check_formula("leaky-relu", &[("slope", 0.2)], |x| x.max(0.2 * x));
    }
}
