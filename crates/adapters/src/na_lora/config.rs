//! NA-LoRA-style knobs: their declaration (the group `adapter.na_lora:`, with defaults,
//! ranges and docs) and [`NaLoraConfig`], the typed view the layer and the rules read.
//!
//! Gate classes read the EMA of the per-token mean of σ(z) = φ(z)/z ∈ (0, 1): saturated-on
//! at ≥ `sigma_on` (0.9: a channel whose every token has z ≥ ln 9 ≈ 2.20), closed at ≤
//! `sigma_closed` (0.1: z ≤ −2.20), transition between (z = 0 gives σ = ½). The earlier
//! `kappa_on` / `kappa_closed` (mean κ(z) = 1 + z(1 − σ(z))) are refused with a message:
//! κ ≥ 0.9 for all z ≥ −0.18 and κ is unbounded below (see [`super::stats`]).

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
            "sigma_on",
            0.9,
            Range::open_closed(0.0, 1.0),
            "a channel whose mean gate openness σ(z) = φ(z)/z is at least this is saturated-on (φ(z) ≈ z; 0.9 is z ≥ ln 9 ≈ 2.2 for every token)",
        ),
        Param::number(
            "sigma_closed",
            0.1,
            Range::closed_open(0.0, 1.0),
            "a channel whose mean σ(z) is at most this is closed (φ(z) ≈ 0; 0.1 is z ≤ −2.2 for every token); between the two it is in transition (z ≈ 0, σ = ½, lands here); below sigma_on",
        ),
        Param::number("scale_on", 1.0, Range::at_least(0.0), "step multiplier of B's rows in saturated-on channels"),
        Param::number("scale_transition", 1.5, Range::at_least(0.0), "step multiplier of B's rows in transition channels"),
        Param::number("scale_closed", 0.5, Range::at_least(0.0), "step multiplier of B's rows in closed channels"),
    ],
    "NA-LoRA-style mask and step-scaling knobs",
)
.with_removed(REMOVED)];

/// Keys of earlier versions, with why they went and what replaces them.
const REMOVED: &[(&str, &str)] = &[
    ("kappa_on", KAPPA_GONE),
    ("kappa_closed", KAPPA_GONE),
];

const KAPPA_GONE: &str = "channels are no longer classed by mean κ(z) (κ ≥ 0.9 held for every z ≥ −0.18, so the half-open gate counted as saturated-on, and κ is unbounded below); \
     they are classed by mean gate openness σ(z): use `sigma_on` (default 0.9) and `sigma_closed` (default 0.1), both in [0, 1]";

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
    /// Mean openness σ(z) = φ(z)/z at or above which a channel is saturated-on
    /// (default 0.9, in (0, 1]; σ is bounded, so one token moves a mean of n by < 1/n).
    pub sigma_on: f64,
    /// Mean σ(z) at or below which a channel is closed (default 0.1, in [0, 1), below
    /// `sigma_on`); z ≈ 0 (σ = ½, the half-open gate) falls between: transition.
    pub sigma_closed: f64,
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
            sigma_on: n("sigma_on"),
            sigma_closed: n("sigma_closed"),
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
            ("sigma_on", c.sigma_on.into()),
            ("sigma_closed", c.sigma_closed.into()),
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
    if c.sigma_closed >= c.sigma_on {
        return Err(AdapterError::config("na_lora.sigma_closed", format!("{} must be below sigma_on ({})", c.sigma_closed, c.sigma_on)));
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
        assert_eq!((want.ema, want.warmup, want.sigma_on, want.sigma_closed), (0.9, 10, 0.9, 0.1));
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
        let err = check("method: na-lora\nna_lora: { sigma_closed: 0.95 }").unwrap_err();
        assert_eq!(err, "adapter.na_lora.sigma_closed: 0.95 must be below sigma_on (0.9)");
        assert!(check("method: na-lora\nna_lora: { sigma_closed: 0.5 }").is_ok());
        let err = check("na_lora: { sigma_on: 1.5 }").unwrap_err();
        assert!(err.starts_with("adapter.na_lora.sigma_on: 1.5 is not a number in (0, 1]"), "{err}");
        let err = check("na_lora: { sigma_closed: -0.1 }").unwrap_err();
        assert!(err.starts_with("adapter.na_lora.sigma_closed: -0.1 is not a number in [0, 1)"), "{err}");
        let err = serde_saphyr::from_str::<AdapterConfig>("na_lora: { mask: medium }").unwrap_err().to_string();
        assert!(err.contains("adapter.na_lora.mask: expected one of hard, soft, got the string \"medium\""), "{err}");
        let err = serde_saphyr::from_str::<AdapterConfig>("na_lora: { warmup: -1 }").unwrap_err().to_string();
        assert!(err.contains("adapter.na_lora.warmup: expected an integer ≥ 0, got the number -1"), "{err}");
    }

    #[test]
    fn the_removed_kappa_thresholds_are_an_error_naming_their_replacement() {
        for key in ["kappa_on", "kappa_closed"] {
            let err = serde_saphyr::from_str::<AdapterConfig>(&format!("method: na-lora\nna_lora: {{ {key}: 0.9 }}")).unwrap_err().to_string();
            assert!(err.contains(&format!("adapter.na_lora.{key}: removed:")), "{err}");
            assert!(err.contains("use `sigma_on` (default 0.9) and `sigma_closed` (default 0.1)"), "{err}");
            let mut cfg = AdapterConfig { method: "na-lora".into(), ..AdapterConfig::default() };
            let err = cfg.params.set(&format!("na_lora.{key}"), Value::Number(0.9)).unwrap_err().to_string();
            assert!(err.contains("removed:") && err.contains("sigma_on"), "{err}");
        }
    }
}
