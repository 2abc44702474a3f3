//! Tokenizers from an HF `tokenizer.json` or from a GGUF file's vocabulary and merges.

use crate::error::{ModelError, Result};
use loran_io::one_line;
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
///
/// A bad file gives one line naming it and what is wrong: missing
/// ([`ModelError::MissingFile`]), or empty, truncated, not JSON, or JSON that
/// is not a tokenizer ([`ModelError::CorruptTokenizer`]).
pub fn tokenizer_from_file(path: &Path) -> Result<Tokenizer> {
    crate::load::check_regular(path, "a tokenizer.json file", "the model's tokenizer.json; copy it from the model's hub repo next to config.json")?;
    let bytes = std::fs::read(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => ModelError::MissingFile {
            path: path.to_path_buf(),
            what: "the model's tokenizer.json; copy it from the model's hub repo next to config.json".into(),
        },
        _ => ModelError::Tokenizer { file: path.to_path_buf(), detail: e.to_string() },
    })?;
    let corrupt = |detail: String| ModelError::CorruptTokenizer {
        file: path.to_path_buf(),
        folder: path.parent().map(|p| p.display().to_string()).unwrap_or_else(|| ".".into()),
        detail,
    };
    let json = check_tokenizer_json(&bytes).map_err(corrupt)?;
    let mut tokenizer: Tokenizer = json
        .parse()
        .map_err(|e: tokenizers::Error| corrupt(format!("not a tokenizer the `tokenizers` library can read: {}", one_line(&e.to_string()))))?;
    tokenizer.with_padding(None);
    tokenizer
        .with_truncation(None)
        .map_err(|e| ModelError::Tokenizer { file: path.to_path_buf(), detail: e.to_string() })?;
    Ok(tokenizer)
}

/// The text of a `tokenizer.json` if it is a JSON object with a `model`
/// section, else what is wrong with it.
fn check_tokenizer_json(bytes: &[u8]) -> std::result::Result<&str, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| format!("not UTF-8 text: {e}"))?;
    if text.trim().is_empty() {
        return Err("the file is empty".into());
    }
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        if e.is_eof() {
            format!("truncated: the JSON ends early, at line {} column {}", e.line(), e.column())
        } else {
            format!("not valid JSON: syntax error at line {} column {}", e.line(), e.column())
        }
    })?;
    match value.as_object() {
        Some(object) if object.contains_key("model") => Ok(text),
        Some(object) => {
            let keys: Vec<&str> = object.keys().map(String::as_str).take(8).collect();
            Err(format!("valid JSON but not a tokenizer: no `model` key (keys: {})", keys.join(", ")))
        }
        None => Err("valid JSON but not a tokenizer: a tokenizer.json is a JSON object".into()),
    }
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
