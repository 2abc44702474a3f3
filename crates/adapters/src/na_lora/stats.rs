//! The gate statistics of NA-LoRA-style adapters, as plain functions on f64:
//! SiLU's derivative and effective homogeneity, the per-channel batch means,
//! the EMA, the quantile and the mask and class rules.

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

/// SiLU's effective homogeneity κ(z) = z·φ′(z)/φ(z) = 1 + z·(1 − σ(z)) (1 at z = 0 by continuity).
///
/// κ ≈ 1 where φ acts like a degree-1 homogeneous map (z ≳ 0: the gate is on), κ ≤ 0
/// where the gate is shut (z ≲ −1.28: φ(z) ≈ 0 and falls as z grows), in between
/// the gate is in transition.
pub fn silu_kappa(z: f64) -> f64 {
    1.0 + z * (1.0 - sigmoid(z))
}

/// Per-channel means over the rows of a row-major `[rows, channels]` block of
/// gate pre-activations: (mean |φ′(z)|, mean κ(z)).
pub fn channel_means(z: &[f32], channels: usize) -> (Vec<f64>, Vec<f64>) {
    let rows = z.len() / channels.max(1);
    let (mut slope, mut kappa) = (vec![0.0f64; channels], vec![0.0f64; channels]);
    for row in z.chunks_exact(channels) {
        for ((s, k), &v) in slope.iter_mut().zip(kappa.iter_mut()).zip(row) {
            let v = v as f64;
            *s += silu_slope(v).abs();
            *k += silu_kappa(v);
        }
    }
    let n = rows.max(1) as f64;
    slope.iter_mut().chain(kappa.iter_mut()).for_each(|v| *v /= n);
    (slope, kappa)
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

/// The homogeneity class of a channel with mean κ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GateClass {
    /// κ ≥ `kappa_on`: the gate passes z almost linearly.
    SaturatedOn,
    /// Between the thresholds: selection is changing.
    Transition,
    /// κ ≤ `kappa_closed`: the gate is shut.
    Closed,
}

/// The class of a channel whose mean κ is `kappa`.
pub fn class_of(kappa: f64, cfg: &NaLoraConfig) -> GateClass {
    if kappa >= cfg.kappa_on {
        GateClass::SaturatedOn
    } else if kappa <= cfg.kappa_closed {
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

    #[test]
    fn slope_and_kappa_match_their_definitions() {
        for z in [-30.0, -4.0, -1.2785, -0.5, -1e-3, 0.7, 2.5, 30.0] {
            let phi = |z: f64| z * sigmoid(z);
            let h = 1e-6;
            let fd = (phi(z + h) - phi(z - h)) / (2.0 * h);
            assert!((silu_slope(z) - fd).abs() < 1e-8, "φ′({z}) = {} vs {fd}", silu_slope(z));
            assert!((silu_kappa(z) - z * silu_slope(z) / phi(z)).abs() < 1e-9, "κ({z})");
        }
        assert_eq!(silu_kappa(0.0), 1.0);
        assert_eq!(silu_slope(0.0), 0.5);
        // κ crosses 0 near z = −1.2785 (where σ(z)·(1 − z) = 1 … i.e. 1 + z(1 − σ) = 0).
        assert!(silu_kappa(-1.27) > 0.0 && silu_kappa(-1.29) < 0.0);
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
        assert_eq!(class_of(1.1, &cfg), GateClass::SaturatedOn);
        assert_eq!(class_of(0.5, &cfg), GateClass::Transition);
        assert_eq!(class_of(-2.0, &cfg), GateClass::Closed);
        assert_eq!(class_of(0.0, &cfg), GateClass::Closed);
        assert_eq!([GateClass::SaturatedOn, GateClass::Transition, GateClass::Closed].map(|c| step_scale(c, &cfg)), [1.0, 1.5, 0.5]);
    }

    #[test]
    fn channel_means_and_ema() {
        // Two rows, two channels: channel 0 sees z = 0 twice, channel 1 sees 2 and −2.
        let (slope, kappa) = channel_means(&[0.0, 2.0, 0.0, -2.0], 2);
        assert_eq!(slope[0], 0.5);
        assert!((slope[1] - (silu_slope(2.0).abs() + silu_slope(-2.0).abs()) / 2.0).abs() < 1e-12);
        assert!((kappa[1] - (silu_kappa(2.0) + silu_kappa(-2.0)) / 2.0).abs() < 1e-12);
        let mut ema = Vec::new();
        ema_update(&mut ema, &[1.0, 2.0], 0.9, true);
        ema_update(&mut ema, &[0.0, 4.0], 0.9, false);
        assert!((ema[0] - 0.9).abs() < 1e-12 && (ema[1] - 2.2).abs() < 1e-12, "{ema:?}");
    }
}
