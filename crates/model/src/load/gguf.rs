//! GGUF files: reading (dequantized to dense weights, Q/K un-permuted) and writing.

use crate::config::LlamaConfig;
use crate::error::{ModelError, Result};
use loran_io::one_line;
use candle_core::quantized::{gguf_file, GgmlDType, QTensor};
use candle_core::{DType, Device, Tensor};
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::Path;

/// A parsed GGUF header plus the open file it came from.
pub struct GgufFile {
    /// Header: metadata and tensor table.
    pub content: gguf_file::Content,
    reader: BufReader<File>,
}

/// Opens a GGUF file and checks that every tensor it declares fits in the file.
pub fn open_gguf(path: &Path) -> Result<GgufFile> {
    let corrupt = |detail: String| ModelError::CorruptGguf { file: path.to_path_buf(), detail };
    // Opened as a regular file only: a FIFO would block here, a device read without end.
    let file = loran_io::open_regular(path).map_err(|e| match e {
        e if e.is_not_found() => ModelError::MissingFile { path: path.to_path_buf(), what: "a GGUF model".into() },
        loran_io::NotReadable::NotRegular { kind } => ModelError::NotAFile { path: path.to_path_buf(), kind, expected: "a .gguf file".into() },
        e => corrupt(e.to_string()),
    })?;
    let file_len = file.metadata().map_err(|e| corrupt(e.to_string()))?.len();
    let mut reader = BufReader::new(file);
    let content = gguf_file::Content::read(&mut reader).map_err(|e| corrupt(one_line(&e.to_string())))?;
    for (name, info) in &content.tensor_infos {
        let elems = info.shape.elem_count();
        let bytes = (elems / info.ggml_dtype.block_size() * info.ggml_dtype.type_size()) as u64;
        let end = content.tensor_data_offset + info.offset + bytes;
        if end > file_len {
            return Err(corrupt(format!("truncated: tensor `{name}` ends at byte {end} but the file has {file_len} bytes")));
        }
    }
    Ok(GgufFile { content, reader })
}

impl GgufFile {
    fn meta(&self, key: &str) -> Option<&gguf_file::Value> {
        self.content.metadata.get(key)
    }

    /// The `general.architecture` string.
    pub fn architecture(&self) -> Option<String> {
        self.meta("general.architecture").and_then(|v| v.to_string().ok()).cloned()
    }

    /// Hyper-parameters from `llama.*` metadata; `path` names the file in errors.
    pub fn llama_config(&self, path: &Path) -> Result<LlamaConfig> {
        let arch = self.architecture().unwrap_or_else(|| "<none given>".into());
        if arch != "llama" {
            return Err(ModelError::UnsupportedArchitecture {
                file: path.to_path_buf(),
                found: arch,
                supported: "llama".into(),
            });
        }
        let bad = |detail: String| ModelError::BadConfig { file: path.to_path_buf(), detail };
        let uint = |key: &str| -> Result<usize> {
            let v = self.meta(key).ok_or_else(|| bad(format!("missing metadata key `{key}`")))?;
            v.to_u64().map(|v| v as usize).or_else(|_| v.to_u32().map(|v| v as usize)).map_err(|e| bad(format!("`{key}`: {e}")))
        };
        let float = |key: &str, default: f64| -> Result<f64> {
            match self.meta(key) {
                None => Ok(default),
                // An f32 is widened through its shortest decimal form, so 1e-5 stays 1e-5.
                Some(v) => v
                    .to_f32()
                    .map(|f| f.to_string().parse::<f64>().unwrap_or(f as f64))
                    .or_else(|_| v.to_f64())
                    .map_err(|e| bad(format!("`{key}`: {e}"))),
            }
        };
        let token_id = |key: &str| self.meta(key).and_then(|v| v.to_u32().ok());
        let heads = uint("llama.attention.head_count")?;
        let hidden = uint("llama.embedding_length")?;
        let vocab_size = match uint("llama.vocab_size") {
            Ok(v) => v,
            Err(_) => self
                .meta("tokenizer.ggml.tokens")
                .and_then(|v| v.to_vec().ok())
                .map(Vec::len)
                .ok_or_else(|| bad("missing `llama.vocab_size` and `tokenizer.ggml.tokens`".into()))?,
        };
        let head_dim = uint("llama.attention.key_length").unwrap_or(hidden.checked_div(heads).unwrap_or(0));
        let cfg = LlamaConfig {
            vocab_size,
            hidden_size: hidden,
            intermediate_size: uint("llama.feed_forward_length")?,
            num_hidden_layers: uint("llama.block_count")?,
            num_attention_heads: heads,
            num_key_value_heads: uint("llama.attention.head_count_kv").unwrap_or(heads),
            head_dim,
            rms_norm_eps: float("llama.attention.layer_norm_rms_epsilon", 1e-5)?,
            rope_theta: float("llama.rope.freq_base", 10_000.0)?,
            max_position_embeddings: uint("llama.context_length").unwrap_or(4096),
            tie_word_embeddings: !self.content.tensor_infos.contains_key("output.weight"),
            bos_token_id: token_id("tokenizer.ggml.bos_token_id"),
            eos_token_ids: token_id("tokenizer.ggml.eos_token_id").into_iter().collect(),
        };
        cfg.validate(path)?;
        Ok(cfg)
    }

    /// Every tensor dequantized to `dtype`, renamed to HF names, with Q/K rows un-permuted.
    pub fn hf_tensors(&mut self, cfg: &LlamaConfig, path: &Path, dtype: DType, device: &Device) -> Result<HashMap<String, Tensor>> {
        let mut names: Vec<String> = self.content.tensor_infos.keys().cloned().collect();
        names.sort();
        let mut out = HashMap::with_capacity(names.len());
        for name in names {
            let hf = hf_name(&name).ok_or_else(|| ModelError::BadWeights {
                file: path.to_path_buf(),
                detail: format!("GGUF tensor `{name}` has no LLaMA equivalent; this variant is not supported"),
            })?;
            let q = self
                .content
                .tensor(&mut self.reader, &name, device)
                .map_err(|e| ModelError::CorruptGguf { file: path.to_path_buf(), detail: one_line(&e.to_string()) })?;
            let mut t = q.dequantize(device)?;
            if hf.ends_with("self_attn.q_proj.weight") {
                t = unpermute_qk(&t, cfg.num_attention_heads)?;
            } else if hf.ends_with("self_attn.k_proj.weight") {
                t = unpermute_qk(&t, cfg.num_key_value_heads)?;
            }
            out.insert(hf, t.to_dtype(dtype)?);
        }
        Ok(out)
    }
}

/// Whole-model tensors: (llama.cpp name, Hugging Face name).
const GLOBAL_NAMES: [(&str, &str); 3] =
    [("token_embd.weight", "model.embed_tokens.weight"), ("output_norm.weight", "model.norm.weight"), ("output.weight", "lm_head.weight")];

/// Per-layer tensors: (llama.cpp name under `blk.<i>.`, Hugging Face name under
/// `model.layers.<i>.`). The one table both directions read.
const LAYER_NAMES: [(&str, &str); 9] = [
    ("attn_norm.weight", "input_layernorm.weight"),
    ("ffn_norm.weight", "post_attention_layernorm.weight"),
    ("attn_q.weight", "self_attn.q_proj.weight"),
    ("attn_k.weight", "self_attn.k_proj.weight"),
    ("attn_v.weight", "self_attn.v_proj.weight"),
    ("attn_output.weight", "self_attn.o_proj.weight"),
    ("ffn_gate.weight", "mlp.gate_proj.weight"),
    ("ffn_up.weight", "mlp.up_proj.weight"),
    ("ffn_down.weight", "mlp.down_proj.weight"),
];

/// The layer prefix of each scheme, in the tables' column order.
const LAYER_PREFIXES: [&str; 2] = ["blk.", "model.layers."];

/// Renames `name` from one naming scheme to the other; `from`/`to` pick the columns of
/// the tables (0 = llama.cpp, 1 = Hugging Face).
fn rename(name: &str, from: usize, to: usize) -> Option<String> {
    let pick = |pair: &(&'static str, &'static str), i: usize| if i == 0 { pair.0 } else { pair.1 };
    if let Some(pair) = GLOBAL_NAMES.iter().find(|p| pick(p, from) == name) {
        return Some(pick(pair, to).to_string());
    }
    let rest = name.strip_prefix(LAYER_PREFIXES[from])?;
    let (layer, part) = rest.split_once('.')?;
    let layer: usize = layer.parse().ok()?;
    let pair = LAYER_NAMES.iter().find(|p| pick(p, from) == part)?;
    Some(format!("{}{layer}.{}", LAYER_PREFIXES[to], pick(pair, to)))
}

/// Maps a llama.cpp tensor name to its Hugging Face name.
pub fn hf_name(gguf: &str) -> Option<String> {
    rename(gguf, 0, 1)
}

/// Maps a Hugging Face LLaMA tensor name to its llama.cpp name.
pub fn gguf_name(hf: &str) -> Option<String> {
    rename(hf, 1, 0)
}

/// HF → GGUF row order of a Q or K weight `[heads·head_dim, in]`: each head's
/// two rotary halves are interleaved (llama.cpp's `permute`).
pub fn permute_qk(w: &Tensor, heads: usize) -> candle_core::Result<Tensor> {
    let (rows, cols) = w.dims2()?;
    w.reshape((heads, 2, rows / heads / 2, cols))?.transpose(1, 2)?.reshape((rows, cols))
}

/// GGUF → HF row order: the inverse of [`permute_qk`].
pub fn unpermute_qk(w: &Tensor, heads: usize) -> candle_core::Result<Tensor> {
    let (rows, cols) = w.dims2()?;
    w.reshape((heads, rows / heads / 2, 2, cols))?.transpose(1, 2)?.reshape((rows, cols))
}

/// A byte-level BPE vocabulary as GGUF stores it (`tokenizer.ggml.*`).
#[derive(Debug, Clone)]
pub struct GgufVocab {
    /// Token strings, by id.
    pub tokens: Vec<String>,
    /// `"left right"` merge rules, by priority.
    pub merges: Vec<String>,
    /// llama.cpp token types by id (1 normal, 3 control, ...).
    pub token_types: Vec<i32>,
    /// `tokenizer.ggml.pre`, e.g. `smollm`.
    pub pre: String,
    /// Unknown-token id.
    pub unk: Option<u32>,
}

/// Writes a LLaMA model as a GGUF file the way llama.cpp's converter does:
/// llama.cpp names, Q/K rows permuted, every 2-D weight stored as `weight_type`
/// (norms stay F32).
pub fn write_gguf(
    path: &Path,
    cfg: &LlamaConfig,
    hf_tensors: &HashMap<String, Tensor>,
    weight_type: GgmlDType,
    vocab: Option<&GgufVocab>,
) -> Result<()> {
    use gguf_file::Value as V;
    let mut metadata: Vec<(String, V)> = vec![
        ("general.architecture".into(), V::String("llama".into())),
        ("llama.block_count".into(), V::U32(cfg.num_hidden_layers as u32)),
        ("llama.embedding_length".into(), V::U32(cfg.hidden_size as u32)),
        ("llama.feed_forward_length".into(), V::U32(cfg.intermediate_size as u32)),
        ("llama.attention.head_count".into(), V::U32(cfg.num_attention_heads as u32)),
        ("llama.attention.head_count_kv".into(), V::U32(cfg.num_key_value_heads as u32)),
        ("llama.attention.key_length".into(), V::U32(cfg.head_dim as u32)),
        ("llama.rope.freq_base".into(), V::F32(cfg.rope_theta as f32)),
        ("llama.attention.layer_norm_rms_epsilon".into(), V::F32(cfg.rms_norm_eps as f32)),
        ("llama.context_length".into(), V::U32(cfg.max_position_embeddings as u32)),
        ("llama.vocab_size".into(), V::U32(cfg.vocab_size as u32)),
    ];
    if let Some(bos) = cfg.bos_token_id {
        metadata.push(("tokenizer.ggml.bos_token_id".into(), V::U32(bos)));
    }
    if let Some(&eos) = cfg.eos_token_ids.first() {
        metadata.push(("tokenizer.ggml.eos_token_id".into(), V::U32(eos)));
    }
    if let Some(vocab) = vocab {
        let strings = |v: &[String]| V::Array(v.iter().map(|s| V::String(s.clone())).collect());
        metadata.push(("tokenizer.ggml.model".into(), V::String("gpt2".into())));
        metadata.push(("tokenizer.ggml.pre".into(), V::String(vocab.pre.clone())));
        metadata.push(("tokenizer.ggml.tokens".into(), strings(&vocab.tokens)));
        metadata.push(("tokenizer.ggml.merges".into(), strings(&vocab.merges)));
        metadata.push(("tokenizer.ggml.token_type".into(), V::Array(vocab.token_types.iter().map(|&t| V::I32(t)).collect())));
        if let Some(unk) = vocab.unk {
            metadata.push(("tokenizer.ggml.unknown_token_id".into(), V::U32(unk)));
        }
    }
    let mut names: Vec<&String> = hf_tensors.keys().collect();
    names.sort();
    let mut tensors = Vec::with_capacity(names.len());
    for hf in names {
        let name = gguf_name(hf).ok_or_else(|| ModelError::BadWeights {
            file: path.to_path_buf(),
            detail: format!("tensor `{hf}` has no GGUF name"),
        })?;
        let mut t = hf_tensors[hf].to_dtype(DType::F32)?;
        if hf.ends_with("self_attn.q_proj.weight") {
            t = permute_qk(&t, cfg.num_attention_heads)?;
        } else if hf.ends_with("self_attn.k_proj.weight") {
            t = permute_qk(&t, cfg.num_key_value_heads)?;
        }
        let dtype = if t.rank() == 2 { weight_type } else { GgmlDType::F32 };
        tensors.push((name, QTensor::quantize(&t, dtype)?));
    }
    let file = File::create(path).map_err(|e| ModelError::BadWeights { file: path.to_path_buf(), detail: e.to_string() })?;
    let mut writer = BufWriter::new(file);
    let meta_refs: Vec<(&str, &V)> = metadata.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let tensor_refs: Vec<(&str, &QTensor)> = tensors.iter().map(|(k, v)| (k.as_str(), v)).collect();
    gguf_file::write(&mut writer, &meta_refs, &tensor_refs)?;
    use std::io::Write;
    writer.flush().map_err(|e| ModelError::BadWeights { file: path.to_path_buf(), detail: e.to_string() })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permutation_interleaves_halves_and_inverts() {
        // 2 heads of dim 4, 1 input column: rows 0..8.
        let w = Tensor::arange(0f32, 8., &Device::Cpu).unwrap().reshape((8, 1)).unwrap();
        let p = permute_qk(&w, 2).unwrap();
        // Head 0 rows [0,1 | 2,3] become [0,2,1,3].
        assert_eq!(p.flatten_all().unwrap().to_vec1::<f32>().unwrap(), vec![0., 2., 1., 3., 4., 6., 5., 7.]);
        let back = unpermute_qk(&p, 2).unwrap();
        assert_eq!(back.flatten_all().unwrap().to_vec1::<f32>().unwrap(), (0..8).map(|i| i as f32).collect::<Vec<_>>());
    }

    #[test]
    fn names_map_both_ways() {
        for hf in ["model.embed_tokens.weight", "model.layers.12.mlp.down_proj.weight", "model.layers.0.self_attn.k_proj.weight", "lm_head.weight"] {
            assert_eq!(hf_name(&gguf_name(hf).unwrap()).unwrap(), hf);
        }
        assert_eq!(hf_name("rope_freqs.weight"), None);
        assert_eq!(hf_name("blk.3.attn_q.weight").as_deref(), Some("model.layers.3.self_attn.q_proj.weight"));
        assert_eq!(gguf_name("model.layers.7.post_attention_layernorm.weight").as_deref(), Some("blk.7.ffn_norm.weight"));
        assert_eq!(gguf_name("lm_head.weight").as_deref(), Some("output.weight"));
        assert_eq!(gguf_name("model.layers.x.mlp.up_proj.weight"), None);
        assert_eq!(hf_name("blk.1.attn_q.bias"), None);
    }
}
