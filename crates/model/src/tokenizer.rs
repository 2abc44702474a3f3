//! Tokenizers from an HF `tokenizer.json` or from a GGUF file's vocabulary and merges.

use crate::error::{ModelError, Result};
use candle_core::quantized::gguf_file;
use candle_core::quantized::tokenizer::TokenizerFromGguf;
use std::path::Path;
use tokenizers::decoders::byte_level::ByteLevel as ByteLevelDecoder;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::digits::Digits;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::Tokenizer;

/// GGUF `tokenizer.ggml.pre` values whose pre-tokenization we reproduce exactly.
pub const SUPPORTED_GGUF_PRE: &[&str] = &["gpt2", "default", "smollm", "qwen2", "llama3", "smaug-bpe", "lfm2"];

/// Loads an HF `tokenizer.json`, with its padding and truncation turned off.
pub fn tokenizer_from_file(path: &Path) -> Result<Tokenizer> {
    if !path.exists() {
        return Err(ModelError::MissingFile { path: path.to_path_buf(), what: "the model's tokenizer.json".into() });
    }
    let mut tokenizer = Tokenizer::from_file(path)
        .map_err(|e| ModelError::Tokenizer { file: path.to_path_buf(), detail: e.to_string() })?;
    tokenizer.with_padding(None);
    tokenizer
        .with_truncation(None)
        .map_err(|e| ModelError::Tokenizer { file: path.to_path_buf(), detail: e.to_string() })?;
    Ok(tokenizer)
}

/// Builds a byte-level BPE tokenizer from GGUF metadata (`tokenizer.ggml.*`).
///
/// candle builds the vocabulary, merges and special tokens; we set the
/// pre-tokenizer for `pre` values it does not know (SmolLM2's `smollm`:
/// individual digits, then byte-level without a prefix space).
pub fn tokenizer_from_gguf(content: &gguf_file::Content, path: &Path) -> Result<Tokenizer> {
    let err = |detail: String| ModelError::Tokenizer { file: path.to_path_buf(), detail };
    let pre = match content.metadata.get("tokenizer.ggml.pre") {
        Some(v) => v.to_string().map_err(|e| err(e.to_string()))?.clone(),
        None => "gpt2".to_string(),
    };
    if !SUPPORTED_GGUF_PRE.contains(&pre.as_str()) {
        return Err(err(format!(
            "tokenizer.ggml.pre `{pre}` is not supported (supported: {}); use an HF folder with tokenizer.json instead",
            SUPPORTED_GGUF_PRE.join(", ")
        )));
    }
    let mut tokenizer = Tokenizer::from_gguf(content).map_err(|e| err(e.to_string()))?;
    if pre == "smollm" {
        let pre_tokenizer = Sequence::new(vec![Digits::new(true).into(), ByteLevel::new(false, true, true).into()]);
        tokenizer.with_pre_tokenizer(Some(pre_tokenizer));
        tokenizer.with_decoder(Some(ByteLevelDecoder::new(true, true, true)));
    }
    Ok(tokenizer)
}

/// Encodes `text` as written (special-token strings inside it become their ids; nothing is prepended).
pub fn encode(tokenizer: &Tokenizer, text: &str) -> std::result::Result<Vec<u32>, tokenizers::Error> {
    Ok(tokenizer.encode(text, false)?.get_ids().to_vec())
}
