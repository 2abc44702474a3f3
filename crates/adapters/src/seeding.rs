//! Reproducible randomness: one stream per (run seed, layer name, purpose).

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// FNV-1a over bytes: a stable (platform- and release-independent) hash.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3))
}

/// A generator for `purpose` (e.g. "init", "dropout") of layer `name` under run seed `seed`.
pub fn stream(seed: u64, name: &str, purpose: &str) -> StdRng {
    let key = format!("{seed}\u{1f}{name}\u{1f}{purpose}");
    StdRng::seed_from_u64(fnv1a(key.as_bytes()))
}

/// `n` values uniform in `[-bound, bound)`.
pub fn uniform(rng: &mut StdRng, n: usize, bound: f32) -> Vec<f32> {
    (0..n).map(|_| rng.random_range(-bound..bound)).collect()
}

/// PEFT's LoRA A init, `kaiming_uniform_(a=√5)`: U(−1/√fan_in, 1/√fan_in).
pub fn kaiming_uniform_a_sqrt5(rng: &mut StdRng, rows: usize, fan_in: usize) -> Vec<f32> {
    uniform(rng, rows * fan_in, 1.0 / (fan_in as f32).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let a: Vec<f32> = uniform(&mut stream(0, "layer.q", "init"), 4, 1.0);
        assert_eq!(a, uniform(&mut stream(0, "layer.q", "init"), 4, 1.0));
        assert_ne!(a, uniform(&mut stream(1, "layer.q", "init"), 4, 1.0));
        assert_ne!(a, uniform(&mut stream(0, "layer.v", "init"), 4, 1.0));
        assert_ne!(a, uniform(&mut stream(0, "layer.q", "dropout"), 4, 1.0));
    }

    #[test]
    fn kaiming_bound_is_one_over_sqrt_fan_in() {
        let v = kaiming_uniform_a_sqrt5(&mut stream(3, "x", "init"), 64, 100);
        let max = v.iter().fold(0f32, |m, x| m.max(x.abs()));
        assert!(max <= 0.1 && max > 0.095, "max {max}");
        let var = v.iter().map(|x| x * x).sum::<f32>() / v.len() as f32;
        // Var of U(-b, b) is b²/3.
        assert!((var - 0.01 / 3.0).abs() < 0.0005, "var {var}");
    }
}
