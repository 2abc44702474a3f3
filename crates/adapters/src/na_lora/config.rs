//! NA-LoRA-style knobs: their declaration (the group `adapter.na_lora:`, with defaults,
//! ranges and docs) and [`NaLoraConfig`], the typed view the layer and the rules read.

use crate::config::AdapterConfig;
use crate::error::{AdapterError, Result};
use crate::params::{Param, Range, Value};

/// The knobs under `adapter.na_lora`. The defaults are ours (the paper publishes only
/// its abstract), chosen for short CPU runs.
pub const PARAMS: &[Param] = &[Param::group(
    "na_lora",
    &[
        Param::number("ema", 0.9, Range::closed_open(0.0, 1.0), "β of the per-channel EMAs: I ← β·I + (1 − β)·batch mean"),
        Param::choice("mask", "hard", &["hard", "soft"], "`hard` keeps the channels at or above the quantile, `soft` weighs B's rows by I / max I"),
        Param::number(
            "quantile",
            0.25,
            Range::closed_open(0.0, 1.0),
            "hard mask: channels whose importance is below this quantile of all channels (numpy's linear interpolation) are masked",
        ),
        Param::integer("warmup", 10, 0, "optimizer steps before the first mask"),
        Param::integer("every", 10, 1, "the mask and the step classes are recomputed every K steps from the warm-up on"),
        Param::number(
            "kappa_on",
            0.9,
            Range::ANY,
            "a channel whose mean κ(z) is at least this is saturated-on (φ acts like a degree-1 homogeneous map, z ≳ −0.1 for SiLU)",
        ),
        Param::number(
            "kappa_closed",
            0.0,
            Range::ANY,
            "a channel whose mean κ(z) is at most this is closed (φ(z) ≈ 0, z ≲ −1.28 for SiLU); between the two it is in transition; below kappa_on",
        ),
        Param::number("scale_on", 1.0, Range::at_least(0.0), "step multiplier of B's rows in saturated-on channels"),
        Param::number("scale_transition", 1.5, Range::at_least(0.0), "step multiplier of B's rows in transition channels"),
        Param::number("scale_closed", 0.5, Range::at_least(0.0), "step multiplier of B's rows in closed channels"),
    ],
    "NA-LoRA-style mask and step-scaling knobs",
)];

/// How the importance mask weighs the rows of B.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaskKind {
    /// 1 for channels whose importance is at or above the `quantile`, else 0.
    Hard,
    /// `I / max I` per channel.
    Soft,
}

impl MaskKind {
    /// The word in YAML.
    pub fn name(self) -> &'static str {
        match self {
            MaskKind::Hard => "hard",
            MaskKind::Soft => "soft",
        }
    }
}

/// NA-LoRA-style settings as the layer uses them; see [`PARAMS`] for each knob.
#[derive(Debug, Clone, PartialEq)]
pub struct NaLoraConfig {
    /// β of the per-channel EMAs.
    pub ema: f64,
    /// Hard or soft mask.
    pub mask: MaskKind,
    /// Hard mask: the quantile of importance below which channels are masked.
    pub quantile: f64,
    /// Optimizer steps before the first mask.
    pub warmup: usize,
    /// Steps between mask updates.
    pub every: usize,
    /// κ at or above which a channel is saturated-on.
    pub kappa_on: f64,
    /// κ at or below which a channel is closed.
    pub kappa_closed: f64,
    /// Step multiplier of saturated-on rows.
    pub scale_on: f64,
    /// Step multiplier of transition rows.
    pub scale_transition: f64,
    /// Step multiplier of closed rows.
    pub scale_closed: f64,
}

impl Default for NaLoraConfig {
    /// The declared defaults.
    fn default() -> Self {
        Self::of(&AdapterConfig::default())
    }
}

impl NaLoraConfig {
    /// The knobs a config gives NA-LoRA (the declared defaults where it gives none).
    pub fn of(cfg: &AdapterConfig) -> Self {
        let p = &cfg.params;
        let n = |key: &str| p.number(&format!("na_lora.{key}"));
        let count = |key: &str| p.integer(&format!("na_lora.{key}")) as usize;
        Self {
            ema: n("ema"),
            mask: if p.text("na_lora.mask") == "soft" { MaskKind::Soft } else { MaskKind::Hard },
            quantile: n("quantile"),
            warmup: count("warmup"),
            every: count("every"),
            kappa_on: n("kappa_on"),
            kappa_closed: n("kappa_closed"),
            scale_on: n("scale_on"),
            scale_transition: n("scale_transition"),
            scale_closed: n("scale_closed"),
        }
    }

    /// Whether a mask update is due once `steps_done` optimizer steps have finished.
    pub fn mask_due(&self, steps_done: usize) -> bool {
        steps_done >= self.warmup && (steps_done - self.warmup).is_multiple_of(self.every)
    }
}

impl From<&NaLoraConfig> for Value {
    /// The whole group, for `AdapterConfig::with("na_lora", &knobs)`.
    fn from(c: &NaLoraConfig) -> Self {
        Value::Group(vec![
            ("ema", c.ema.into()),
            ("mask", c.mask.name().into()),
            ("quantile", c.quantile.into()),
            ("warmup", c.warmup.into()),
            ("every", c.every.into()),
            ("kappa_on", c.kappa_on.into()),
            ("kappa_closed", c.kappa_closed.into()),
            ("scale_on", c.scale_on.into()),
            ("scale_transition", c.scale_transition.into()),
            ("scale_closed", c.scale_closed.into()),
        ])
    }
}

/// The check across knobs (each knob's own range is declared): the closed threshold
/// must lie below the saturated-on one.
pub fn validate(cfg: &AdapterConfig) -> Result<()> {
    let c = NaLoraConfig::of(cfg);
    if c.kappa_closed >= c.kappa_on {
        return Err(AdapterError::config("na_lora.kappa_closed", format!("{} must be below kappa_on ({})", c.kappa_closed, c.kappa_on)));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knobs_read_from_yaml_with_their_defaults_and_round_trip_through_the_group() {
        let cfg: AdapterConfig = serde_saphyr::from_str("method: na-lora\nna_lora: { quantile: 0.5, mask: soft, every: 3 }").unwrap();
        let knobs = NaLoraConfig::of(&cfg);
        let want = NaLoraConfig { quantile: 0.5, mask: MaskKind::Soft, every: 3, ..NaLoraConfig::default() };
        assert_eq!(knobs, want);
        assert_eq!((want.ema, want.warmup, want.kappa_on, want.kappa_closed), (0.9, 10, 0.9, 0.0));
        assert_eq!((want.scale_on, want.scale_transition, want.scale_closed), (1.0, 1.5, 0.5));
        let again = AdapterConfig { method: "na-lora".into(), ..AdapterConfig::default() }.with("na_lora", &knobs).unwrap();
        assert_eq!(again, cfg);
    }

    #[test]
    fn ranges_and_the_threshold_order_name_the_key() {
        let check = |yaml: &str| serde_saphyr::from_str::<AdapterConfig>(yaml).unwrap().validate().map_err(|e| e.to_string());
        let err = check("na_lora: { ema: 1.5 }").unwrap_err();
        assert_eq!(err, "adapter.na_lora.ema: 1.5 is not a number in [0, 1); e.g. 0.9 (the default)");
        let err = check("na_lora: { every: 0 }").unwrap_err();
        assert!(err.starts_with("adapter.na_lora.every: 0 is not an integer ≥ 1"), "{err}");
        let err = check("na_lora: { scale_closed: -1 }").unwrap_err();
        assert!(err.starts_with("adapter.na_lora.scale_closed: -1 is not a number in [0, ∞)"), "{err}");
        let err = check("method: na-lora\nna_lora: { kappa_closed: 2 }").unwrap_err();
        assert_eq!(err, "adapter.na_lora.kappa_closed: 2 must be below kappa_on (0.9)");
        assert!(check("method: na-lora\nna_lora: { kappa_closed: 0.5 }").is_ok());
        let err = serde_saphyr::from_str::<AdapterConfig>("na_lora: { mask: medium }").unwrap_err().to_string();
        assert!(err.contains("adapter.na_lora.mask: expected one of hard, soft, got the string \"medium\""), "{err}");
        let err = serde_saphyr::from_str::<AdapterConfig>("na_lora: { warmup: -1 }").unwrap_err().to_string();
        assert!(err.contains("adapter.na_lora.warmup: expected an integer ≥ 0, got the number -1"), "{err}");
    }
}
