//! The valid range of every numeric key of a run config, in one table, checked when a
//! config is resolved (before anything loads). Ranges that need the model (the rank
//! against each target's width, layer indices, positions) are checked in the preflight.
//!
//! A range may depend on other keys (`train.max_target_tokens` below `train.max_len`), so
//! each entry computes its range from the config; `doc` says the same in words.

use crate::config::RunConfig;
use loran_adapters::params::Range;
use loran_adapters::AdapterConfig;
use std::fmt;

/// One numeric key and its valid values.
pub struct NumericKey {
    /// Dotted key in the run config (`train.lr`).
    pub key: &'static str,
    /// Valid values, in words, for docs (`in (0, 1]`).
    pub doc: &'static str,
    /// Whether the key holds whole numbers.
    pub whole: bool,
    /// The other keys the range depends on (`doc` names them too); empty for most.
    pub depends_on: &'static [&'static str],
    /// The valid values given the rest of the config.
    pub range: fn(&RunConfig) -> Range,
    /// The value, or `None` when the key is unset (an optional cap).
    pub get: fn(&RunConfig) -> Option<f64>,
    /// What to do instead: a typical value, and what the key is for.
    pub fix: &'static str,
}

/// Every numeric key of a run config outside the methods' own parameters (those declare
/// their ranges in their files, see `loran_adapters::params`).
pub const NUMERIC_KEYS: &[NumericKey] = &[
    key("train.steps", "at least 0 (0 skips training)", true, |_| Range::at_least(0.0), |c| Some(c.train.steps as f64), "e.g. 200"),
    key("train.lr", "in (0, 1]", false, |_| Range::open_closed(0.0, 1.0), |c| Some(c.train.lr), "e.g. 2e-4 (the default)"),
    key("train.batch_size", "at least 1", true, |_| Range::at_least(1.0), |c| Some(c.train.batch_size as f64), "e.g. 4"),
    key("train.max_len", "at least 3 (the model's positions are checked before training)", true, |_| Range::at_least(3.0), |c| Some(c.train.max_len as f64), "e.g. 256"),
    dependent_key(
        "train.max_target_tokens",
        &["train.max_len"],
        "in [1, train.max_len − 2], leaving a prompt token and the end token",
        true,
        |c| Range::closed(1.0, c.train.max_len as f64 - 2.0),
        |c| Some(c.train.max_target_tokens as f64),
        "e.g. 64 with train.max_len 256",
    ),
    key("train.warmup_ratio", "in [0, 1]", false, |_| Range::closed(0.0, 1.0), |c| Some(c.train.warmup_ratio), "e.g. 0.03 (a share of the steps)"),
    key("train.max_grad_norm", "at least 0 (0 turns clipping off)", false, |_| Range::at_least(0.0), |c| Some(c.train.max_grad_norm), "e.g. 0.3, or 0 for no clipping"),
    key("train.weight_decay", "in [0, 1]", false, |_| Range::closed(0.0, 1.0), |c| Some(c.train.weight_decay), "e.g. 0 or 0.01"),
    key("train.beta1", "in [0, 1)", false, |_| Range::closed_open(0.0, 1.0), |c| Some(c.train.beta1), "e.g. 0.9"),
    key("train.beta2", "in [0, 1)", false, |_| Range::closed_open(0.0, 1.0), |c| Some(c.train.beta2), "e.g. 0.999"),
    key("train.eps", "in (0, 1]", false, |_| Range::open_closed(0.0, 1.0), |c| Some(c.train.eps), "e.g. 1e-8"),
    key("eval.max_examples", "at least 1", true, |_| Range::at_least(1.0), |c| Some(c.eval.max_examples as f64), "e.g. 200"),
    key("eval.max_new_tokens", "at least 1", true, |_| Range::at_least(1.0), |c| Some(c.eval.max_new_tokens as f64), "e.g. 64"),
    key("eval.batch_size", "at least 1", true, |_| Range::at_least(1.0), |c| Some(c.eval.batch_size as f64), "e.g. 8"),
    dependent_key(
        "data.validation_fraction",
        &["data.test_fraction"],
        "in [0, 1 − data.test_fraction)",
        false,
        |c| Range::closed_open(0.0, 1.0 - finite_or(c.data.test_fraction, 0.0).clamp(0.0, 1.0)),
        |c| Some(c.data.validation_fraction),
        "e.g. 0.1 (some examples must be left for training)",
    ),
    dependent_key(
        "data.test_fraction",
        &["data.validation_fraction"],
        "in (0, 1 − data.validation_fraction)",
        false,
        |c| Range::open(0.0, 1.0 - finite_or(c.data.validation_fraction, 0.0).clamp(0.0, 1.0)),
        |c| Some(c.data.test_fraction),
        "e.g. 0.2 (some examples must be left for training)",
    ),
    key("data.max_input_chars", "at least 1", true, |_| Range::at_least(1.0), |c| Some(c.data.max_input_chars as f64), "e.g. 4000"),
    key("data.max_train_examples", "at least 1, or unset for all", true, |_| Range::at_least(1.0), |c| c.data.max_train_examples.map(|n| n as f64), "leave it unset to keep every example"),
    key("data.max_validation_examples", "at least 0, or unset for all", true, |_| Range::at_least(0.0), |c| c.data.max_validation_examples.map(|n| n as f64), "leave it unset to keep every example"),
    key("data.max_test_examples", "at least 1, or unset for all", true, |_| Range::at_least(1.0), |c| c.data.max_test_examples.map(|n| n as f64), "leave it unset; eval.max_examples sets how many are scored"),
    key("adapter.r", "at least 1, and at most min(d_in, d_out) of every target", true, |_| AdapterConfig::R_RANGE, |c| Some(c.adapter.r as f64), "e.g. 8 or 64"),
    key("adapter.alpha", "above 0", false, |_| AdapterConfig::ALPHA_RANGE, |c| Some(c.adapter.alpha), "e.g. 16 (the update is scaled by α/r)"),
    key("adapter.dropout", "in [0, 1)", false, |_| AdapterConfig::DROPOUT_RANGE, |c| Some(c.adapter.dropout), "e.g. 0.05, or 0 for none"),
];

const fn key(key: &'static str, doc: &'static str, whole: bool, range: fn(&RunConfig) -> Range, get: fn(&RunConfig) -> Option<f64>, fix: &'static str) -> NumericKey {
    NumericKey { key, doc, whole, depends_on: &[], range, get, fix }
}

const fn dependent_key(
    key: &'static str,
    depends_on: &'static [&'static str],
    doc: &'static str,
    whole: bool,
    range: fn(&RunConfig) -> Range,
    get: fn(&RunConfig) -> Option<f64>,
    fix: &'static str,
) -> NumericKey {
    NumericKey { key, doc, whole, depends_on, range, get, fix }
}

fn finite_or(v: f64, fallback: f64) -> f64 {
    if v.is_finite() {
        v
    } else {
        fallback
    }
}

/// A value outside its key's range.
#[derive(Debug, Clone, PartialEq)]
pub struct RangeError {
    /// Dotted key (`train.lr`).
    pub key: &'static str,
    /// The value as given.
    pub value: f64,
    /// Its valid values, in words.
    pub doc: &'static str,
    /// What to give instead.
    pub fix: &'static str,
    /// The other keys the range depends on (see [`NumericKey::depends_on`]).
    pub depends_on: &'static [&'static str],
}

impl fmt::Display for RangeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = self.value;
        let what = match v {
            v if !v.is_finite() => format!("is {v}, not a finite number"),
            v if v != 0.0 && !(1e-4..1e6).contains(&v.abs()) => format!("is {v:e}"),
            v => format!("is {v}"),
        };
        write!(f, "`{}` {what}; it must be {}; {}", self.key, self.doc, self.fix)
    }
}

impl std::error::Error for RangeError {}

impl NumericKey {
    /// The error for `cfg`'s value of this key, if it is outside the range.
    pub fn check(&self, cfg: &RunConfig) -> Result<(), RangeError> {
        match (self.get)(cfg) {
            Some(value) if !(self.range)(cfg).contains(value) => Err(RangeError { key: self.key, value, doc: self.doc, fix: self.fix, depends_on: self.depends_on }),
            _ => Ok(()),
        }
    }
}

/// The first numeric key of `cfg` outside its range, in table order. Keys whose range
/// does not depend on other keys come first, so a lone bad value is blamed on its own key.
pub fn check(cfg: &RunConfig) -> Result<(), RangeError> {
    check_keys(cfg, false)?;
    check_keys(cfg, true)
}

/// As [`check`], for keys whose range does not depend on other keys only when
/// `dependent` is false (a grid's `base` alone: axes may still change the others); then
/// the other keys are still refused when not finite, since no axis makes NaN valid.
pub fn check_keys(cfg: &RunConfig, dependent: bool) -> Result<(), RangeError> {
    for k in NUMERIC_KEYS {
        if k.depends_on.is_empty() != dependent {
            k.check(cfg)?;
        } else if let Some(value) = (k.get)(cfg).filter(|v| !v.is_finite()) {
            return Err(RangeError { key: k.key, value, doc: k.doc, fix: k.fix, depends_on: k.depends_on });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(edit: impl FnOnce(&mut RunConfig)) -> String {
        let mut cfg = RunConfig::default();
        edit(&mut cfg);
        check(&cfg).unwrap_err().to_string()
    }

    #[test]
    fn the_defaults_are_inside_every_range() {
        check(&RunConfig::default()).unwrap();
        for k in NUMERIC_KEYS {
            assert!(k.check(&RunConfig::default()).is_ok(), "{}", k.key);
        }
    }

    #[test]
    fn each_nonsensical_value_of_the_issue_is_refused_naming_its_key() {
        assert_eq!(err(|c| c.train.lr = -1e-3), "`train.lr` is -0.001; it must be in (0, 1]; e.g. 2e-4 (the default)");
        assert!(err(|c| c.train.lr = 1e300).starts_with("`train.lr` is 1e300"));
        assert!(err(|c| c.train.lr = f64::NAN).starts_with("`train.lr` is NaN, not a finite number"));
        assert!(err(|c| c.adapter.alpha = -16.0).starts_with("`adapter.alpha` is -16"));
        assert!(err(|c| c.train.batch_size = 0).starts_with("`train.batch_size` is 0"));
        assert!(err(|c| c.eval.batch_size = 0).starts_with("`eval.batch_size` is 0"));
        assert!(err(|c| c.eval.max_new_tokens = 0).starts_with("`eval.max_new_tokens` is 0"));
        assert!(err(|c| c.eval.max_examples = 0).starts_with("`eval.max_examples` is 0"));
        assert!(err(|c| c.train.warmup_ratio = 2.0).starts_with("`train.warmup_ratio` is 2"));
        assert!(err(|c| c.train.max_grad_norm = -1.0).starts_with("`train.max_grad_norm` is -1"));
        assert!(err(|c| c.train.beta1 = 2.0).starts_with("`train.beta1` is 2"));
        assert!(err(|c| c.train.eps = 0.0).starts_with("`train.eps` is 0"));
        assert!(err(|c| c.train.weight_decay = f64::INFINITY).starts_with("`train.weight_decay` is inf, not a finite number"));
        assert!(err(|c| c.adapter.dropout = f64::NAN).starts_with("`adapter.dropout` is NaN"));
        assert!(err(|c| c.data.test_fraction = f64::NEG_INFINITY).starts_with("`data.test_fraction` is -inf"));
    }

    #[test]
    fn ranges_that_depend_on_other_keys_blame_the_dependent_key() {
        // max_len alone is fine; the answer budget no longer fits, so that key is named.
        let e = err(|c| c.train.max_len = 40);
        assert!(e.starts_with("`train.max_target_tokens` is 64; it must be in [1, train.max_len − 2]"), "{e}");
        let e = err(|c| {
            c.data.validation_fraction = 0.5;
            c.data.test_fraction = 0.5;
        });
        assert!(e.starts_with("`data.validation_fraction` is 0.5; it must be in [0, 1 − data.test_fraction)"), "{e}");
        let mut cfg = RunConfig::default();
        cfg.train.max_len = 40;
        assert!(check_keys(&cfg, false).is_ok(), "the base alone is not blamed for a budget axes may fix");
        cfg.data.validation_fraction = f64::NAN;
        assert!(check_keys(&cfg, false).unwrap_err().to_string().starts_with("`data.validation_fraction` is NaN"));
    }

    #[test]
    fn optional_caps_are_checked_only_when_set() {
        assert!(err(|c| c.data.max_train_examples = Some(0)).starts_with("`data.max_train_examples` is 0"));
        let mut cfg = RunConfig::default();
        cfg.data.max_validation_examples = Some(0);
        assert!(check(&cfg).is_ok(), "an empty validation split is allowed");
    }
}
