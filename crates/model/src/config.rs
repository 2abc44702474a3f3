//! The LLaMA-family hyper-parameters, read from an HF `config.json` or from GGUF metadata.

use crate::error::{ModelError, Result};
use serde::Deserialize;
use std::path::Path;

/// Architectures this crate implements, as HF names them in `config.json`.
pub const SUPPORTED_HF_ARCHITECTURES: &[&str] = &["LlamaForCausalLM"];

/// Hyper-parameters of a LLaMA-family decoder (RMSNorm, RoPE, GQA, SwiGLU).
#[derive(Debug, Clone, PartialEq)]
pub struct LlamaConfig {
    /// Number of token embeddings.
    pub vocab_size: usize,
    /// Width of the residual stream.
    pub hidden_size: usize,
    /// Width of the SwiGLU hidden layer.
    pub intermediate_size: usize,
    /// Number of decoder blocks.
    pub num_hidden_layers: usize,
    /// Number of query heads.
    pub num_attention_heads: usize,
    /// Number of key/value heads (GQA when smaller than the query heads).
    pub num_key_value_heads: usize,
    /// Width of one attention head.
    pub head_dim: usize,
    /// RMSNorm epsilon.
    pub rms_norm_eps: f64,
    /// RoPE base frequency.
    pub rope_theta: f64,
    /// Longest sequence the RoPE tables cover.
    pub max_position_embeddings: usize,
    /// Whether the output head reuses the token embedding matrix.
    pub tie_word_embeddings: bool,
    /// Beginning-of-sequence token id, when the model has one.
    pub bos_token_id: Option<u32>,
    /// Token ids that end generation.
    pub eos_token_ids: Vec<u32>,
}

impl LlamaConfig {
    /// Number of query heads that share one key/value head.
    pub fn kv_groups(&self) -> usize {
        self.num_attention_heads / self.num_key_value_heads
    }

    /// Checks the shapes are consistent; `file` names the source in errors.
    pub fn validate(&self, file: &Path) -> Result<()> {
        let bad = |detail: String| ModelError::BadConfig { file: file.to_path_buf(), detail };
        if self.num_attention_heads == 0 || self.num_key_value_heads == 0 {
            return Err(bad("head counts must be positive".into()));
        }
        if !self.num_attention_heads.is_multiple_of(self.num_key_value_heads) {
            return Err(bad(format!(
                "num_attention_heads {} is not a multiple of num_key_value_heads {}",
                self.num_attention_heads, self.num_key_value_heads
            )));
        }
        if !self.head_dim.is_multiple_of(2) {
            return Err(bad(format!("head_dim {} must be even for RoPE", self.head_dim)));
        }
        for (name, v) in [
            ("vocab_size", self.vocab_size),
            ("hidden_size", self.hidden_size),
            ("intermediate_size", self.intermediate_size),
            ("num_hidden_layers", self.num_hidden_layers),
            ("max_position_embeddings", self.max_position_embeddings),
        ] {
            if v == 0 {
                return Err(bad(format!("{name} must be positive")));
            }
        }
        Ok(())
    }

    /// Reads and validates an HF `config.json`.
    pub fn from_hf_file(path: &Path) -> Result<Self> {
        crate::load::check_regular(path, "a config.json file", "the model's config.json")?;
        let text = std::fs::read_to_string(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => ModelError::MissingFile {
                path: path.to_path_buf(),
                what: "the model's config.json".into(),
            },
            _ => ModelError::BadConfig { file: path.to_path_buf(), detail: e.to_string() },
        })?;
        Self::from_hf_json(&text, path)
    }

    /// Parses the text of an HF `config.json`; `path` names it in errors.
    pub fn from_hf_json(text: &str, path: &Path) -> Result<Self> {
        let bad = |detail: String| ModelError::BadConfig { file: path.to_path_buf(), detail };
        let raw: HfConfig = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
        let arch = raw
            .architectures
            .first()
            .cloned()
            .or_else(|| raw.model_type.clone())
            .unwrap_or_else(|| "<none given>".into());
        let supported = SUPPORTED_HF_ARCHITECTURES.contains(&arch.as_str())
            || (raw.architectures.is_empty() && raw.model_type.as_deref() == Some("llama"));
        if !supported {
            return Err(ModelError::UnsupportedArchitecture {
                file: path.to_path_buf(),
                found: arch,
                supported: SUPPORTED_HF_ARCHITECTURES.join(", "),
            });
        }
        if raw.rope_scaling.as_ref().is_some_and(|v| !v.is_null()) {
            return Err(bad("`rope_scaling` is set; scaled RoPE is not implemented".into()));
        }
        if raw.attention_bias || raw.mlp_bias {
            return Err(bad("`attention_bias`/`mlp_bias` are set; biased projections are not implemented".into()));
        }
        if let Some(act) = raw.hidden_act.as_deref() {
            if act != "silu" {
                return Err(bad(format!("hidden_act `{act}` is not supported (only silu)")));
            }
        }
        let heads = raw.num_attention_heads;
        let head_dim = raw.head_dim.unwrap_or(raw.hidden_size.checked_div(heads).unwrap_or(0));
        let cfg = LlamaConfig {
            vocab_size: raw.vocab_size,
            hidden_size: raw.hidden_size,
            intermediate_size: raw.intermediate_size,
            num_hidden_layers: raw.num_hidden_layers,
            num_attention_heads: heads,
            num_key_value_heads: raw.num_key_value_heads.unwrap_or(heads),
            head_dim,
            rms_norm_eps: raw.rms_norm_eps,
            rope_theta: raw.rope_theta,
            max_position_embeddings: raw.max_position_embeddings,
            tie_word_embeddings: raw.tie_word_embeddings,
            bos_token_id: raw.bos_token_id,
            eos_token_ids: raw.eos_token_id.map(EosIds::into_vec).unwrap_or_default(),
        };
        cfg.validate(path)?;
        Ok(cfg)
    }

    /// The HF `config.json` that describes this model.
    pub fn to_hf_json(&self) -> serde_json::Value {
        serde_json::json!({
            "architectures": ["LlamaForCausalLM"],
            "model_type": "llama",
            "vocab_size": self.vocab_size,
            "hidden_size": self.hidden_size,
            "intermediate_size": self.intermediate_size,
            "num_hidden_layers": self.num_hidden_layers,
            "num_attention_heads": self.num_attention_heads,
            "num_key_value_heads": self.num_key_value_heads,
            "head_dim": self.head_dim,
            "rms_norm_eps": self.rms_norm_eps,
            "rope_theta": self.rope_theta,
            "max_position_embeddings": self.max_position_embeddings,
            "tie_word_embeddings": self.tie_word_embeddings,
            "hidden_act": "silu",
            "bos_token_id": self.bos_token_id,
            "eos_token_id": self.eos_token_ids,
            "torch_dtype": "float32",
        })
    }
}

/// `eos_token_id` is an integer or a list in HF configs.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum EosIds {
    One(u32),
    Many(Vec<u32>),
}

impl EosIds {
    fn into_vec(self) -> Vec<u32> {
        match self {
            EosIds::One(id) => vec![id],
            EosIds::Many(ids) => ids,
        }
    }
}

/// The subset of an HF `config.json` we read. Unknown keys are allowed: the file is HF's format, not ours.
#[derive(Debug, Deserialize)]
struct HfConfig {
    #[serde(default)]
    architectures: Vec<String>,
    model_type: Option<String>,
    vocab_size: usize,
    hidden_size: usize,
    intermediate_size: usize,
    num_hidden_layers: usize,
    num_attention_heads: usize,
    num_key_value_heads: Option<usize>,
    head_dim: Option<usize>,
    #[serde(default = "default_rms_eps")]
    rms_norm_eps: f64,
    #[serde(default = "default_rope_theta")]
    rope_theta: f64,
    #[serde(default = "default_max_positions")]
    max_position_embeddings: usize,
    #[serde(default)]
    tie_word_embeddings: bool,
    bos_token_id: Option<u32>,
    eos_token_id: Option<EosIds>,
    rope_scaling: Option<serde_json::Value>,
    #[serde(default)]
    attention_bias: bool,
    #[serde(default)]
    mlp_bias: bool,
    hidden_act: Option<String>,
}

fn default_rms_eps() -> f64 {
    1e-6
}
fn default_rope_theta() -> f64 {
    10_000.0
}
fn default_max_positions() -> usize {
    4096
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMOL: &str = r#"{"architectures":["LlamaForCausalLM"],"model_type":"llama","vocab_size":49152,
        "hidden_size":576,"intermediate_size":1536,"num_hidden_layers":30,"num_attention_heads":9,
        "num_key_value_heads":3,"rms_norm_eps":1e-05,"rope_theta":100000.0,"max_position_embeddings":8192,
        "tie_word_embeddings":true,"bos_token_id":1,"eos_token_id":2,"hidden_act":"silu","rope_scaling":null,
        "torch_dtype":"bfloat16"}"#;

    #[test]
    fn parses_smollm2_config() {
        let cfg = LlamaConfig::from_hf_json(SMOL, Path::new("config.json")).unwrap();
        assert_eq!(cfg.head_dim, 64);
        assert_eq!(cfg.kv_groups(), 3);
        assert_eq!(cfg.eos_token_ids, vec![2]);
        assert!(cfg.tie_word_embeddings);
        let back = LlamaConfig::from_hf_json(&cfg.to_hf_json().to_string(), Path::new("x")).unwrap();
        assert_eq!(back, cfg);
    }

    #[test]
    fn rejects_other_architectures_by_name() {
        let text = SMOL.replace("LlamaForCausalLM", "GPT2LMHeadModel");
        let err = LlamaConfig::from_hf_json(&text, Path::new("/m/config.json")).unwrap_err().to_string();
        assert!(err.contains("/m/config.json") && err.contains("GPT2LMHeadModel"), "{err}");
        assert!(!err.contains('\n'));
    }

    #[test]
    fn rejects_inconsistent_heads() {
        let text = SMOL.replace("\"num_key_value_heads\":3", "\"num_key_value_heads\":4");
        let err = LlamaConfig::from_hf_json(&text, Path::new("c.json")).unwrap_err().to_string();
        assert!(err.contains("num_key_value_heads 4"), "{err}");
    }
}
