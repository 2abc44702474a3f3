//! Element-wise activations f for LoRAN, by name, with YAML parameters.
//!
//! Each activation is one file in this folder that defines f and f′ (on f64,
//! see [`Activation`]) and a `SPEC` with its name, formula and parameters.
//! The registry below lists one module per line. Adding an activation:
//!
//! 1. write `activations/<name>.rs` (copy `softsign.rs`: a `SPEC`, a struct, `f`, `df`, a test);
//! 2. add its module name to the `registry!` list below.
//!
//! f(0) and f′(0) of each (DESIGN.md; the tests check every row):
//!
//! | name | f(x) | f(0) | f′(0) |
//! |---|---|---|---|
//! | identity | x | 0 | 1 |
//! | sigmoid | 1/(1+e^−x) | 0.5 | 0.25 |
//! | tanh | tanh x | 0 | 1 |
//! | relu | max(0,x) | 0 | 0 |
//! | silu | x·σ(x) | 0 | 0.5 |
//! | swish | x·σ(βx), β=25 | 0 | 0.5 |
//! | gaussian | 0.5·x·e^(−x²) | 0 | 0.5 |
//! | cos | x + x·cos(ωx), ω=10⁴ | 0 | 2 |
//! | sinter | x + A·x·sin(ωx), A=5e-5, ω=10⁴ | 0 | 1 |
//! | sigmoid-centered | σ(x) − 0.5 | 0 | 0.25 |
//! | leaky-relu | x or slope·x, slope=0.01 | 0 | slope |
//! | softsign | x/(1+\|x\|) | 0 | 1 |

mod config;
mod op;
mod spec;

pub use config::{ActivationConfig, ResolvedActivation};
pub use op::{apply, apply_scaled, derivative};
pub use spec::{Activation, ActivationSpec, BuildActivation, Param, Params};

/// Declares each activation module and lists its `SPEC` in [`ACTIVATIONS`].
macro_rules! registry {
    ($($module:ident),* $(,)?) => {
        $(pub mod $module;)*
        /// Every registered activation, in this order in docs and errors.
        pub const ACTIVATIONS: &[ActivationSpec] = &[$($module::SPEC),*];
    };
}

registry! {
    identity,
    sigmoid,
    tanh,
    relu,
    silu,
    swish,
    gaussian,
    cos,
    sinter,
    sigmoid_centered,
    leaky_relu,
    softsign,
}

/// The activation registered as `name`.
pub fn find(name: &str) -> Option<&'static ActivationSpec> {
    ACTIVATIONS.iter().find(|s| s.name == name)
}

/// σ(x) = 1/(1+e^−x) without overflow for large |x|.
pub fn logistic(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Points from large negative through 0 to large positive.
    const POINTS: [f64; 13] = [-30.0, -4.0, -1.3, -0.2, -1e-3, -2e-5, 0.0, 3e-5, 1e-4, 0.05, 0.7, 2.5, 30.0];

    fn resolve(name: &str, params: &[(&str, f64)]) -> ResolvedActivation {
        let mut cfg = ActivationConfig::named(name).unwrap();
        for (k, v) in params {
            cfg = cfg.with(k, *v).unwrap();
        }
        cfg.resolve().unwrap()
    }

    /// Checks the registered `name` (with `params`) against `expected` at [`POINTS`], in f64,
    /// and that the f32 entry point is the f64 value rounded once.
    pub(crate) fn check_formula(name: &str, params: &[(&str, f64)], expected: impl Fn(f64) -> f64) {
        let act = resolve(name, params);
        for x in POINTS {
            let (got, want) = (act.function().f(x), expected(x));
            assert!((got - want).abs() <= 1e-12 + 1e-10 * want.abs(), "{name} {params:?}: f({x}) = {got:e}, formula gives {want:e}");
            let x32 = x as f32;
            assert_eq!(act.f(x32).to_bits(), (act.function().f(x32 as f64) as f32).to_bits());
        }
    }

    #[test]
    fn f_and_slope_at_zero_match_the_design_table() {
        let table: [(&str, f64, f64); 12] = [
            ("identity", 0.0, 1.0),
            ("sigmoid", 0.5, 0.25),
            ("tanh", 0.0, 1.0),
            ("relu", 0.0, 0.0),
            ("silu", 0.0, 0.5),
            ("swish", 0.0, 0.5),
            ("gaussian", 0.0, 0.5),
            ("cos", 0.0, 2.0),
            ("sinter", 0.0, 1.0),
            ("sigmoid-centered", 0.0, 0.25),
            ("leaky-relu", 0.0, 0.01),
            ("softsign", 0.0, 1.0),
        ];
        for (name, f0, df0) in table {
            let act = resolve(name, &[]);
            assert_eq!((act.f(0.0), act.df(0.0)), (f0 as f32, df0 as f32), "{name}");
            assert_eq!((act.function().f(0.0), act.function().df(0.0)), (f0, df0), "{name}");
        }
        for spec in ACTIVATIONS {
            let act = resolve(spec.name, &[]);
            assert!(act.f(0.0).is_finite() && act.df(0.0).is_finite(), "{}", spec.name);
        }
    }

    #[test]
    fn derivatives_match_central_differences_in_f64() {
        let mut cases: Vec<(&str, Vec<(&str, f64)>)> = ACTIVATIONS.iter().map(|s| (s.name, vec![])).collect();
        cases.push(("sinter", vec![("amplitude", 0.3), ("omega", 7.0)]));
        cases.push(("swish", vec![("beta", 1.5)]));
        cases.push(("leaky-relu", vec![("slope", 0.3)]));
        cases.push(("cos", vec![("omega", 2.0)]));
        for (name, params) in cases {
            let act = resolve(name, &params);
            let f = act.function();
            // cos and sinter oscillate with period 2π/ω ≈ 6e-4 at ω = 1e4: use a small step.
            let omega = params.iter().find(|(k, _)| *k == "omega").map(|p| p.1).unwrap_or(1e4);
            let h = if matches!(name, "cos" | "sinter") && omega > 100.0 { 1e-8 } else { 1e-6 };
            // Skip 0 (relu's kink); f′(0) is checked against the table.
            for x in POINTS.into_iter().filter(|&x| x != 0.0) {
                let fd = (f.f(x + h) - f.f(x - h)) / (2.0 * h);
                let df = f.df(x);
                assert!((fd - df).abs() <= 1e-6 * df.abs().max(1.0), "{name} {params:?}: f'({x}) = {df}, central difference {fd}");
            }
        }
    }

    #[test]
    fn every_spec_is_well_formed() {
        let mut names: Vec<&str> = ACTIVATIONS.iter().map(|s| s.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), ACTIVATIONS.len(), "duplicate activation names");
        for spec in ACTIVATIONS {
            assert!(find(spec.name).is_some());
            assert!(!spec.formula.is_empty());
            assert!(spec.params.iter().all(|p| p.default.is_finite()), "{}", spec.name);
        }
        assert!(find("nope").is_none());
    }

    #[test]
    fn logistic_is_stable_at_both_ends() {
        assert_eq!(logistic(0.0), 0.5);
        assert_eq!(logistic(1000.0), 1.0);
        assert_eq!(logistic(-1000.0), 0.0);
        assert!((logistic(-30.0) / 9.3576229688393e-14 - 1.0).abs() < 1e-13);
    }
}
