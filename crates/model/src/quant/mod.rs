//! NF4 quantization of frozen weights (QLoRA), bit-exact with bitsandbytes 0.50 on CPU.
//!
//! - [`nf4`]: the NF4 table, blockwise quantization, packing and dequantization;
//! - [`dynamic_map`]: bitsandbytes' 8-bit dynamic codebook and its CPU quantizer;
//! - [`double_quant`]: double quantization of the NF4 absmax values;
//! - [`Nf4Weight`]: a packed weight in memory that dequantizes to an f32 tensor;
//! - [`QuantMode`]: the `quant:` setting of a run (`none`, `nf4`, `nf4-dq`).

pub mod double_quant;
pub mod dynamic_map;
pub mod nf4;
pub mod nf4_weight;

pub use double_quant::{absmax_offset, DoubleQuantAbsmax};
pub use dynamic_map::{create_dynamic_map, dynamic_map_signed};
pub use nf4::{NF4_CODE, DEFAULT_BLOCKSIZE};
pub use nf4_weight::{Nf4Absmax, Nf4Weight};

use serde::{Deserialize, Serialize};

/// How the frozen base linears are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum QuantMode {
    /// Dense weights in the load dtype.
    #[default]
    #[serde(rename = "none")]
    None,
    /// NF4, blocks of 64, f32 absmax (bitsandbytes `compress_statistics=False`).
    #[serde(rename = "nf4")]
    Nf4,
    /// NF4 with double-quantized absmax (bitsandbytes `compress_statistics=True`, QLoRA's default).
    #[serde(rename = "nf4-dq")]
    Nf4Dq,
}

impl QuantMode {
    /// Every mode, in order.
    pub const ALL: [QuantMode; 3] = [QuantMode::None, QuantMode::Nf4, QuantMode::Nf4Dq];

    /// The name used in configs.
    pub fn name(self) -> &'static str {
        match self {
            QuantMode::None => "none",
            QuantMode::Nf4 => "nf4",
            QuantMode::Nf4Dq => "nf4-dq",
        }
    }

    /// True for the NF4 modes.
    pub fn is_quantized(self) -> bool {
        self != QuantMode::None
    }
}

impl std::fmt::Display for QuantMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for QuantMode {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        QuantMode::ALL.into_iter().find(|m| m.name() == s).ok_or_else(|| {
            format!("unknown quant mode `{s}` (known: none, nf4, nf4-dq)")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quant_mode_names_round_trip_through_serde_and_from_str() {
        for mode in QuantMode::ALL {
            let json = serde_json::to_string(&mode).unwrap();
            assert_eq!(json, format!("\"{}\"", mode.name()));
            assert_eq!(serde_json::from_str::<QuantMode>(&json).unwrap(), mode);
            assert_eq!(mode.name().parse::<QuantMode>().unwrap(), mode);
        }
        assert!(serde_json::from_str::<QuantMode>("\"nf8\"").is_err());
        assert!("NF4".parse::<QuantMode>().unwrap_err().contains("nf4-dq"));
    }
}
