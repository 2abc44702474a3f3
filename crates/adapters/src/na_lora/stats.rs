//! The gate statistics of NA-LoRA-style adapters, as plain functions on f64:
//! SiLU's derivative and openness, the per-channel batch means over real tokens,
//! the EMA, the quantile and the mask and class rules.
//!
//! Why classes come from σ(z) and not from κ(z) = z·φ′(z)/φ(z) = 1 + z·(1 − σ(z)):
//! κ is not monotone (κ(0) = 1, max ≈ 1.28 at z ≈ 1.28, κ → 1 as z → +∞) and is
//! unbounded below (κ ≈ 1 + z as z → −∞). So κ ≥ 0.9 for every z ≥ −0.18, which put
//! the half-open gate at z ≈ 0 (φ′(0) = ½, its most responsive point) into
//! "saturated-on", and one token at z = −50 pulled a channel's mean κ down by ~50/n.
//! The openness σ(z) = φ(z)/z is the fraction of z the gate passes: monotone, in
//! (0, 1), ≈ 1 exactly where φ(z) ≈ z (saturated-on) and ≈ 0 where φ(z) ≈ 0 (closed),
//! and one token moves a mean over n tokens by less than 1/n.

use super::config::{MaskKind, NaLoraConfig};

/// σ(z), stable at both ends.
fn sigmoid(z: f64) -> f64 {
    crate::activations::logistic(z)
}

/// SiLU's derivative φ′(z) = σ(z)·(1 + z·(1 − σ(z))).
pub fn silu_slope(z: f64) -> f64 {
    let s = sigmoid(z);
    s * (1.0 + z * (1.0 - s))
}

/// SiLU's openness σ(z) = φ(z)/z: the share of z the gate lets through, in (0, 1).
pub fn silu_openness(z: f64) -> f64 {
    sigmoid(z)
}

/// Per-channel means over the real tokens of a row-major `[rows, channels]` block of
/// gate pre-activations: (mean |φ′(z)|, mean σ(z)). `valid[row]` false marks a padded
/// position, which is left out (`None`: every row is real). `None` when no row is real.
pub fn channel_means(z: &[f32], channels: usize, valid: Option<&[bool]>) -> Option<(Vec<f64>, Vec<f64>)> {
    let (mut slope, mut open) = (vec![0.0f64; channels], vec![0.0f64; channels]);
    let mut n = 0usize;
    for (r, row) in z.chunks_exact(channels.max(1)).enumerate() {
        if valid.is_some_and(|v| !v[r]) {
            continue;
        }
        n += 1;
        for ((s, o), &v) in slope.iter_mut().zip(open.iter_mut()).zip(row) {
            let v = v as f64;
            *s += silu_slope(v).abs();
            *o += silu_openness(v);
        }
    }
    if n == 0 {
        return None;
    }
    slope.iter_mut().chain(open.iter_mut()).for_each(|v| *v /= n as f64);
    Some((slope, open))
}

/// `ema ← β·ema + (1 − β)·batch`, or `ema ← batch` for the first observation.
pub fn ema_update(ema: &mut Vec<f64>, batch: &[f64], beta: f64, first: bool) {
    if first {
        *ema = batch.to_vec();
        return;
    }
    for (e, &b) in ema.iter_mut().zip(batch) {
        *e = beta * *e + (1.0 - beta) * b;
    }
}

/// The q-quantile of `values` with linear interpolation between order statistics
/// (numpy's default): position q·(n − 1) in the sorted values.
pub fn quantile(values: &[f64], q: f64) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return f64::NAN;
    }
    let pos = q * (v.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    v[lo] + (pos - lo as f64) * (v[hi] - v[lo])
}

/// The mask on B's rows from the importance EMA: hard keeps channels at or above the
/// `quantile` (1) and masks the rest (0); soft is `I / max I` (all ones when max I = 0).
pub fn mask_from_importance(importance: &[f64], cfg: &NaLoraConfig) -> Vec<f64> {
    match cfg.mask {
        MaskKind::Hard => {
            let threshold = quantile(importance, cfg.quantile);
            importance.iter().map(|&i| if i >= threshold { 1.0 } else { 0.0 }).collect()
        }
        MaskKind::Soft => {
            let max = importance.iter().cloned().fold(0.0f64, f64::max);
            importance.iter().map(|&i| if max > 0.0 { i / max } else { 1.0 }).collect()
        }
    }
}

/// The class of a channel by its mean openness.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GateClass {
    /// Mean σ(z) ≥ `sigma_on`: the gate passes z almost linearly (φ(z) ≈ z).
    SaturatedOn,
    /// Between the thresholds: the gate is partly open and its selection is changing.
    Transition,
    /// Mean σ(z) ≤ `sigma_closed`: the gate is shut (φ(z) ≈ 0).
    Closed,
}

/// The class of a channel whose mean openness (EMA of mean σ(z)) is `openness`.
pub fn class_of(openness: f64, cfg: &NaLoraConfig) -> GateClass {
    if openness >= cfg.sigma_on {
        GateClass::SaturatedOn
    } else if openness <= cfg.sigma_closed {
        GateClass::Closed
    } else {
        GateClass::Transition
    }
}

/// The step multiplier of a channel's row of B.
pub fn step_scale(class: GateClass, cfg: &NaLoraConfig) -> f64 {
    match class {
        GateClass::SaturatedOn => cfg.scale_on,
        GateClass::Transition => cfg.scale_transition,
        GateClass::Closed => cfg.scale_closed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phi(z: f64) -> f64 {
        z / (1.0 + (-z).exp())
    }

    #[test]
    fn slope_and_openness_match_their_definitions() {
        for z in [-30.0, -4.0, -1.2785, -0.5, -1e-3, 0.7, 2.5, 30.0] {
            let h = 1e-6;
            let fd = (phi(z + h) - phi(z - h)) / (2.0 * h);
            assert!((silu_slope(z) - fd).abs() < 1e-8, "φ′({z}) = {} vs {fd}", silu_slope(z));
            assert!((silu_openness(z) - phi(z) / z).abs() < 1e-12, "σ({z}) = φ(z)/z");
        }
        assert_eq!((silu_slope(0.0), silu_openness(0.0)), (0.5, 0.5));
        // The defaults' thresholds in z: σ(z) = 0.9 at z = ln 9, σ(z) = 0.1 at z = −ln 9.
        assert!((silu_openness(9f64.ln()) - 0.9).abs() < 1e-12 && (silu_openness(-(9f64.ln())) - 0.1).abs() < 1e-12);
    }

    /// The old rule's flaw, kept as a number: κ(z) = 1 + z(1 − σ(z)) is ≥ 0.9 already at
    /// z = −0.18, where σ is below ½, so κ could not tell "on" from "half open".
    #[test]
    fn the_half_open_gate_is_in_transition_and_only_large_z_is_on() {
        let cfg = NaLoraConfig::default();
        let kappa = |z: f64| 1.0 + z * (1.0 - sigmoid(z));
        assert!(kappa(-0.18) > 0.9 && kappa(0.0) == 1.0 && sigmoid(-0.18) < 0.5);
        let class = |z: f64| class_of(silu_openness(z), &cfg);
        assert_eq!([class(0.0), class(4.0), class(-4.0)], [GateClass::Transition, GateClass::SaturatedOn, GateClass::Closed]);
        assert_eq!([class(-0.18), class(1.5), class(-1.5)], [GateClass::Transition; 3]);
        assert_eq!([class(2.2), class(-2.2)], [GateClass::SaturatedOn, GateClass::Closed]);
    }

    #[test]
    fn quantile_interpolates_like_numpy() {
        // numpy.quantile([4, 1, 3, 2], 0.25) = 1.75; q = 0.5 → 2.5; q = 0 → min.
        assert_eq!(quantile(&[4.0, 1.0, 3.0, 2.0], 0.25), 1.75);
        assert_eq!(quantile(&[4.0, 1.0, 3.0, 2.0], 0.5), 2.5);
        assert_eq!(quantile(&[4.0, 1.0, 3.0, 2.0], 0.0), 1.0);
        assert_eq!(quantile(&[7.0], 0.9), 7.0);
    }

    #[test]
    fn masks_and_classes_follow_their_rules() {
        let hard = NaLoraConfig { quantile: 0.5, ..NaLoraConfig::default() };
        assert_eq!(mask_from_importance(&[0.1, 0.4, 0.3, 0.2], &hard), vec![0.0, 1.0, 1.0, 0.0]);
        let soft = NaLoraConfig { mask: MaskKind::Soft, ..NaLoraConfig::default() };
        assert_eq!(mask_from_importance(&[0.1, 0.4, 0.2], &soft), vec![0.25, 1.0, 0.5]);
        let cfg = NaLoraConfig::default();
        assert_eq!([0.9, 0.95, 0.5, 0.11, 0.1, 0.0].map(|o| class_of(o, &cfg)), [
            GateClass::SaturatedOn,
            GateClass::SaturatedOn,
            GateClass::Transition,
            GateClass::Transition,
            GateClass::Closed,
            GateClass::Closed
        ]);
        assert_eq!([GateClass::SaturatedOn, GateClass::Transition, GateClass::Closed].map(|c| step_scale(c, &cfg)), [1.0, 1.5, 0.5]);
    }

    #[test]
    fn channel_means_and_ema() {
        // Two rows, two channels: channel 0 sees z = 0 twice, channel 1 sees 2 and −2.
        let (slope, open) = channel_means(&[0.0, 2.0, 0.0, -2.0], 2, None).unwrap();
        assert_eq!((slope[0], open[0]), (0.5, 0.5));
        assert!((slope[1] - (silu_slope(2.0).abs() + silu_slope(-2.0).abs()) / 2.0).abs() < 1e-12);
        // σ(2) + σ(−2) = 1.
        assert!((open[1] - 0.5).abs() < 1e-12, "{}", open[1]);
        let mut ema = Vec::new();
        ema_update(&mut ema, &[1.0, 2.0], 0.9, true);
        ema_update(&mut ema, &[0.0, 4.0], 0.9, false);
        assert!((ema[0] - 0.9).abs() < 1e-12 && (ema[1] - 2.2).abs() < 1e-12, "{ema:?}");
    }

    /// 19 tokens at z = 4 and one at z = −50: the mean of σ stays above 0.9 (on), where
    /// the mean of κ would be (19·κ(4) + κ(−50))/20 ≈ −1.43, below the old closed
    /// threshold 0.
    #[test]
    fn one_very_negative_token_does_not_flip_a_channel() {
        let mut z = vec![4.0f32; 19];
        z.push(-50.0);
        let (_, open) = channel_means(&z, 1, None).unwrap();
        let want = 19.0 * sigmoid(4.0) / 20.0;
        assert!((open[0] - want).abs() < 1e-12, "{} vs {want}", open[0]);
        assert_eq!(class_of(open[0], &NaLoraConfig::default()), GateClass::SaturatedOn);
        let kappa = |z: f64| 1.0 + z * (1.0 - sigmoid(z));
        let mean_kappa = (19.0 * kappa(4.0) + kappa(-50.0)) / 20.0;
        assert!(mean_kappa < -1.4, "{mean_kappa}");
    }

    /// Padded rows with extreme values change nothing; a block of only padding gives no means.
    #[test]
    fn padded_rows_are_left_out_of_the_means() {
        let real = [0.5f32, -1.0, 3.0, 2.0, -0.25, 0.0];
        let plain = channel_means(&real, 3, None).unwrap();
        let mut padded = real.to_vec();
        padded.extend([-80.0f32, 60.0, -1e4, 1e4, -3.0, 40.0]);
        let valid = [true, true, false, false];
        assert_eq!(channel_means(&padded, 3, Some(&valid)).unwrap(), plain);
        assert_ne!(channel_means(&padded, 3, None).unwrap(), plain);
        assert_eq!(channel_means(&padded, 3, Some(&[false; 4])), None);
    }
}
