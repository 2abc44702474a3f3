//! `cos`: f(x) = x + x·cos(ωx) with ω = 10⁴ by default (the paper's),
//! f′(x) = 1 + cos(ωx) − ωx·sin(ωx). f(0) = 0, f′(0) = 2.
//!
//! Note: f′(0) = 2, so near init the update is twice as steep as LoRA's.
//! Parameter: `omega` (default 1e4). Computed in f64 (the phase ωx is large), then rounded to f32.

use super::{Activation, ActivationSpec, Param, Params};
use std::sync::Arc;

/// Registry entry.
pub const SPEC: ActivationSpec = ActivationSpec {
    name: "cos",
    formula: "x + x·cos(ωx)",
    params: &[Param::number("omega", 1e4, "ω, the frequency")],
    build,
};

fn build(p: &Params) -> Arc<dyn Activation> {
    Arc::new(Cos { omega: p.get("omega") })
}

#[derive(Debug)]
struct Cos {
    omega: f64,
}

impl Activation for Cos {
    fn f(&self, x: f64) -> f64 {
        x + x * (self.omega * x).cos()
    }
    fn df(&self, x: f64) -> f64 {
        let w = self.omega * x;
        1.0 + w.cos() - w * w.sin()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn matches_its_formula() {
        // 1 + cos θ = 2·cos²(θ/2).
        super::super::tests::check_formula("cos", &[], |x| 2.0 * x * (5e3 * x).cos().powi(2));
    }
}
