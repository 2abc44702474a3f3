//! Learning rate at each step: linear warm-up, then constant, linear or cosine decay.

use crate::config::{Schedule, TrainConfig};

/// Warm-up steps: `ceil(warmup_ratio · steps)`, as HF Trainer computes them.
pub fn warmup_steps(cfg: &TrainConfig) -> usize {
    (cfg.warmup_ratio * cfg.steps as f64).ceil() as usize
}

/// Learning rate of optimizer step `step` (0-based).
pub fn lr_at(cfg: &TrainConfig, step: usize) -> f64 {
    let warmup = warmup_steps(cfg);
    if step < warmup {
        return cfg.lr * (step + 1) as f64 / warmup as f64;
    }
    let decay_steps = cfg.steps.saturating_sub(warmup).max(1) as f64;
    let progress = ((step - warmup) as f64 / decay_steps).min(1.0);
    match cfg.schedule {
        Schedule::Constant => cfg.lr,
        Schedule::Linear => cfg.lr * (1.0 - progress),
        Schedule::Cosine => cfg.lr * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(schedule: Schedule) -> TrainConfig {
        TrainConfig { steps: 100, lr: 1e-3, warmup_ratio: 0.1, schedule, ..TrainConfig::default() }
    }

    #[test]
    fn warmup_then_decay() {
        let c = cfg(Schedule::Linear);
        assert_eq!(warmup_steps(&c), 10);
        assert!((lr_at(&c, 0) - 1e-4).abs() < 1e-12);
        assert!((lr_at(&c, 9) - 1e-3).abs() < 1e-12);
        assert!((lr_at(&c, 10) - 1e-3).abs() < 1e-12);
        assert!((lr_at(&c, 55) - 0.5e-3).abs() < 1e-12);
        assert!(lr_at(&c, 99) > 0.0 && lr_at(&c, 99) < 2e-5);
        let cos = cfg(Schedule::Cosine);
        assert!((lr_at(&cos, 55) - 0.5e-3).abs() < 1e-12);
        // Step 10 + 30 is a third of the way through the decay.
        assert!((lr_at(&cos, 40) - 1e-3 * 0.5 * (1.0 + (std::f64::consts::PI / 3.0).cos())).abs() < 1e-12);
        assert_eq!(lr_at(&cfg(Schedule::Constant), 80), 1e-3);
    }
}
