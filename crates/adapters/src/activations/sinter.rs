//! `sinter`: f(x) = x + A·x·sin(ωx), LoRAN's paper default, with A = 5e-5 and ω = 1e4.
//! f′(x) = 1 + A·sin(ωx) + A·ω·x·cos(ωx). f(0) = 0, f′(0) = 1.
//!
//! Parameters: `amplitude` (A, default 5e-5) and `omega` (ω, default 1e4).
//! Computed in f64 and rounded once to f32: the ripple is 5e-5 of x (about 400
//! f32 ulps, nothing in bf16), and the phase ωx needs more than f32's 24 bits
//! for f′ to hold to 1e-8 (see the golden values in the tests).

use super::{Activation, ActivationSpec, Param, Params};
use std::sync::Arc;

/// Registry entry.
pub const SPEC: ActivationSpec = ActivationSpec {
    name: "sinter",
    formula: "x + A·x·sin(ωx)",
    params: &[
        Param::number("amplitude", 5e-5, "A, the ripple's size relative to x"),
        Param::number("omega", 1e4, "ω, the ripple's frequency"),
    ],
    build,
};

fn build(p: &Params) -> Arc<dyn Activation> {
    Arc::new(Sinter { amplitude: p.get("amplitude"), omega: p.get("omega") })
}

#[derive(Debug)]
struct Sinter {
    amplitude: f64,
    omega: f64,
}

impl Activation for Sinter {
    fn f(&self, x: f64) -> f64 {
        x + self.amplitude * x * (self.omega * x).sin()
    }
    fn df(&self, x: f64) -> f64 {
        let w = self.omega * x;
        1.0 + self.amplitude * (w.sin() + w * w.cos())
    }
    fn f_df(&self, x: f64) -> (f64, f64) {
        let w = self.omega * x;
        let (sin, cos) = w.sin_cos();
        (x + self.amplitude * x * sin, 1.0 + self.amplitude * (sin + w * cos))
    }
}

#[cfg(test)]
mod tests {
    use crate::activations::ActivationConfig;

    /// DESIGN.md's golden values for A = 5e-5, ω = 1e4: (x, f(x), f′(x)).
    const GOLDEN: [(f64, f64, f64); 4] = [
        (1e-4, 1.000042073549e-04, 1.000069089),
        (0.05, 4.999883057049e-02, 0.977880380),
        (-0.05, -5.000116942951e-02, 1.022119620),
        (0.1, 1.000041343977e-01, 1.028160298),
    ];

    #[test]
    fn matches_its_formula() {
        super::super::tests::check_formula("sinter", &[], |x| x * (1.0 + 5e-5 * (1e4 * x).sin()));
        super::super::tests::check_formula("sinter", &[("amplitude", 0.5), ("omega", 3.0)], |x| x * (1.0 + 0.5 * (3.0 * x).sin()));
    }

    #[test]
    fn golden_values_hold() {
        let act = ActivationConfig::default().resolve().unwrap();
        let f = act.function();
        for (x, fx, dfx) in GOLDEN {
            // f64 path: f to 1e-12 relative (the goldens' 13 digits), f′ to 1e-8.
            assert!(((f.f(x) - fx) / fx).abs() < 1e-12, "f({x}) = {:.15e}, golden {fx:.15e}", f.f(x));
            assert!((f.df(x) - dfx).abs() < 1e-8, "f'({x}) = {:.12}, golden {dfx}", f.df(x));
            // f32 path: the f32 input is not exactly x, so compare with the f64 value at that input
            // (to one rounding), and with the golden to f32 resolution.
            let x32 = x as f32;
            assert_eq!(act.f(x32), f.f(x32 as f64) as f32);
            assert!(((act.f(x32) as f64 - fx) / fx).abs() < 2.5e-7, "f32 f({x}) = {:e}", act.f(x32));
            // f′ moves by up to A·ω²·|x|·|δx| (≤ 7.5e-7 here) when x is rounded to f32 by δx.
            let shift = 5e-5 * 1e8 * x.abs() * (x32 as f64 - x).abs();
            assert!((act.df(x32) as f64 - dfx).abs() < shift + 1.2e-7, "f32 f'({x}) = {}", act.df(x32));
        }
    }
}
