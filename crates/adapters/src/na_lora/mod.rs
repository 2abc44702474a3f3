//! NA-LoRA-style adapters (reconstructed from the paper's abstract, arXiv 2606.31717;
//! not the authors' code).
//!
//! Only adapters on a linear whose output feeds a self-gated activation (SwiGLU's
//! `gate_proj`, φ(z) = z·σ(z), SiLU) are NA-LoRA layers ([`NaLoraLinear`]); every other
//! target gets a plain LoRA pair. On a gate layer:
//! - each training forward records, per channel of the gate pre-activation z, the mean
//!   over the batch's real tokens (padding left out, see [`crate::ValidTokens`]) of the
//!   slope |φ′(z)| and of the openness σ(z) = φ(z)/z;
//! - after each optimizer step these batch means enter EMAs (β = `ema`);
//! - from `warmup` steps on, every `every` steps, the importance EMA I sets a mask on
//!   B's rows (hard: 1 at or above the `quantile` of I, else 0; soft: I / max I), and
//!   the openness EMA sorts channels into saturated-on (≥ `sigma_on`: φ(z) ≈ z),
//!   closed (≤ `sigma_closed`: φ(z) ≈ 0) and transition (between; z ≈ 0, where σ = ½
//!   and φ′ = ½, lands here), whose rows of B then step `scale_on` /
//!   `scale_transition` / `scale_closed` times the optimizer's step;
//! - a row whose mask is 0 does not step at all (its update is discarded, so it comes
//!   back bit for bit as it was when masked if a later mask keeps it);
//! - the mask multiplies B, so the merged update `s·(m ⊙ B)·A` is exact and inference
//!   costs what LoRA costs. The statistics, mask and scales are saved with the adapter.
//!
//! Why openness and not the effective homogeneity κ(z) = z·φ′(z)/φ(z) = 1 + z·(1 − σ(z))
//! is in [`stats`]: κ ≥ 0.9 for every z ≥ −0.18 and κ → −∞ as z → −∞.

pub mod config;
pub mod layer;
pub mod stats;

pub use config::{MaskKind, NaLoraConfig, PARAMS};
pub use layer::NaLoraLinear;

use crate::adapter::Adapter;
use crate::error::{AdapterError, Result};
use crate::registry::{LayerSpec, Method};
use std::sync::Arc;

/// The registry name.
pub const NAME: &str = "na-lora";

/// Registry entry.
pub const METHOD: Method = Method {
    build: Some(build),
    check: Some(check_gated),
    reconstructed: true,
    params: PARAMS,
    validate: Some(config::validate),
    // 1: classes by mean σ(z) (were mean κ(z)), padded positions left out, masked rows frozen.
    revision: 1,
    ..Method::new(NAME, "NA-LoRA-style (reconstructed): LoRA with an importance mask and per-class step scaling on gate_proj's B rows")
};

/// Builds an NA-LoRA layer on a gate projection, plain LoRA elsewhere (same init as LoRA).
pub fn build(spec: &LayerSpec) -> candle_core::Result<Arc<dyn Adapter>> {
    let Some(gate) = spec.gate else {
        return crate::lora::build(spec);
    };
    let (a, b, dropout) = crate::registry::fresh_pair(spec)?;
    let cfg = NaLoraConfig::of(spec.config);
    Ok(Arc::new(NaLoraLinear::new(a, b, spec.config.scale(), dropout, spec.training.clone(), gate, cfg).with_valid_tokens(spec.valid_tokens.clone())))
}

/// Checks that at least one adapted module feeds a self-gated activation; the error
/// names the modules that do not and says how to fix the targets.
pub fn check_gated(modules: &[(String, Option<loran_model::GateActivation>)]) -> Result<()> {
    if modules.iter().any(|(_, g)| g.is_some()) {
        return Ok(());
    }
    let names: Vec<&str> = modules.iter().map(|(n, _)| n.as_str()).collect();
    let shown = if names.len() > 4 { format!("{}, … ({} modules)", names[..4].join(", "), names.len()) } else { names.join(", ") };
    Err(AdapterError::config(
        "targets",
        format!(
            "method `{NAME}` adapts the projection that feeds a self-gated activation, but {shown} feed{} none (NA-LoRA's statistics need the gate pre-activation z of φ(z) = z·σ(z)); add `gate_proj` to adapter.targets",
            if names.len() == 1 { "s" } else { "" }
        ),
    ))
}
