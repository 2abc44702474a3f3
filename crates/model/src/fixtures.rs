//! Tiny, deterministic models and tokenizers for tests (here and in other crates).
//!
//! Nothing here touches the network or the real assets: a test writes the
//! fixture it needs into a temporary folder in milliseconds. Built for this crate's
//! tests and, through the `test-support` feature, for other crates' tests only.

use crate::config::LlamaConfig;
use crate::load::gguf::GgufVocab;
pub use crate::synthetic::{random_model, random_weights, smollm2_135m_config, uniform};
use candle_core::Tensor;
use std::collections::HashMap;
use std::path::Path;
use tokenizers::decoders::byte_level::ByteLevel as ByteLevelDecoder;
use tokenizers::models::bpe::BPE;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::digits::Digits;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::{AddedToken, Tokenizer};

/// Special tokens of the fixture vocabulary (ids 0, 1, 2), as in SmolLM2.
pub const SPECIAL_TOKENS: [&str; 3] = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"];

/// Merge rules of the fixture vocabulary, by priority; their results get ids 259.. in this order.
pub const MERGES: [(&str, &str); 5] = [("h", "e"), ("Ġ", "t"), ("Ġt", "he"), ("c", "a"), ("ca", "t")];

/// GPT-2's reversible byte → printable-char map used by byte-level BPE.
pub fn byte_to_char() -> [char; 256] {
    let mut map = ['\0'; 256];
    let mut extra = 0u32;
    for b in 0..=255u8 {
        let printable = matches!(b, b'!'..=b'~' | 0xA1..=0xAC | 0xAE..=0xFF);
        map[b as usize] = if printable {
            char::from(b)
        } else {
            extra += 1;
            char::from_u32(255 + extra).expect("valid code point")
        };
    }
    map
}

/// The fixture vocabulary: 3 specials, the 256 byte chars (id `3 + byte`), then [`MERGES`].
pub fn tiny_vocab() -> GgufVocab {
    let mut tokens: Vec<String> = SPECIAL_TOKENS.iter().map(|s| s.to_string()).collect();
    tokens.extend(byte_to_char().iter().map(|c| c.to_string()));
    tokens.extend(MERGES.iter().map(|(a, b)| format!("{a}{b}")));
    let mut token_types = vec![3; SPECIAL_TOKENS.len()];
    token_types.resize(tokens.len(), 1);
    GgufVocab {
        tokens,
        merges: MERGES.iter().map(|(a, b)| format!("{a} {b}")).collect(),
        token_types,
        pre: "smollm".into(),
        unk: Some(0),
    }
}

/// The fixture tokenizer, built directly with the `tokenizers` API the way
/// SmolLM2's tokenizer.json is configured.
pub fn tiny_tokenizer() -> Tokenizer {
    let vocab = tiny_vocab();
    let ids: tokenizers::models::bpe::Vocab = vocab.tokens.iter().enumerate().map(|(i, t)| (t.clone(), i as u32)).collect();
    let merges = MERGES.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
    let bpe = BPE::builder().vocab_and_merges(ids, merges).build().expect("valid fixture BPE");
    let mut tokenizer = Tokenizer::new(bpe);
    tokenizer.with_pre_tokenizer(Some(Sequence::new(vec![
        Digits::new(true).into(),
        ByteLevel::new(false, true, true).into(),
    ])));
    tokenizer.with_decoder(Some(ByteLevelDecoder::new(true, true, true)));
    let specials: Vec<AddedToken> = SPECIAL_TOKENS.iter().map(|s| AddedToken::from(*s, true)).collect();
    tokenizer.add_special_tokens(specials).expect("fixture specials");
    tokenizer
}

/// A tiny LLaMA (2 blocks, GQA 4:2, head_dim 8, widths multiple of 32 so GGUF block types fit) over the fixture vocabulary.
pub fn tiny_config() -> LlamaConfig {
    LlamaConfig {
        vocab_size: tiny_vocab().tokens.len(),
        hidden_size: 32,
        intermediate_size: 64,
        num_hidden_layers: 2,
        num_attention_heads: 4,
        num_key_value_heads: 2,
        head_dim: 8,
        rms_norm_eps: 1e-5,
        rope_theta: 10_000.0,
        max_position_embeddings: 512,
        tie_word_embeddings: true,
        bos_token_id: Some(1),
        eos_token_ids: vec![2],
    }
}

/// Writes an HF folder: `config.json`, `tokenizer.json`, `model.safetensors`.
pub fn write_hf_folder(dir: &Path, cfg: &LlamaConfig, weights: &HashMap<String, Tensor>) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let config = serde_json::to_string_pretty(&cfg.to_hf_json()).map_err(std::io::Error::other)?;
    std::fs::write(dir.join("config.json"), config)?;
    tiny_tokenizer().save(dir.join("tokenizer.json"), true).map_err(std::io::Error::other)?;
    candle_core::safetensors::save(weights, dir.join("model.safetensors")).map_err(std::io::Error::other)
}

/// Lays an HF folder's files out as the hub cache does:
/// `<cache>/models--org--name/{refs/main, snapshots/<commit>/...}`. Returns the snapshot folder.
pub fn write_hub_cache(cache: &Path, repo_id: &str, commit: &str, from_folder: &Path) -> std::io::Result<std::path::PathBuf> {
    let repo_dir = cache.join(format!("models--{}", repo_id.replace('/', "--")));
    let snapshot = repo_dir.join("snapshots").join(commit);
    std::fs::create_dir_all(&snapshot)?;
    std::fs::create_dir_all(repo_dir.join("refs"))?;
    std::fs::write(repo_dir.join("refs").join("main"), commit)?;
    for entry in std::fs::read_dir(from_folder)? {
        let entry = entry?;
        std::fs::copy(entry.path(), snapshot.join(entry.file_name()))?;
    }
    Ok(snapshot)
}

/// A tiny random LLaMA ([`tiny_config`], [`random_weights`] of `seed`) built in memory,
/// f32 on the CPU: the same network a test gets by writing and loading an HF folder.
pub fn tiny_model(seed: u64) -> crate::Result<crate::Llama> {
    random_model(&tiny_config(), seed)
}

/// Largest absolute difference (checks of fused ops against their compositions).
pub fn max_diff(a: &Tensor, b: &Tensor) -> f32 {
    (a - b).unwrap().abs().unwrap().flatten_all().unwrap().max(0).unwrap().to_scalar::<f32>().unwrap()
}

/// Values and input gradients (under the weights `g`) of `f` at `inputs`.
pub fn value_and_grads(inputs: &[Tensor], g: &Tensor, f: impl Fn(&[Tensor]) -> Tensor) -> (Tensor, Vec<Tensor>) {
    let vars: Vec<candle_core::Var> = inputs.iter().map(|x| candle_core::Var::from_tensor(x).unwrap()).collect();
    let ts: Vec<Tensor> = vars.iter().map(|v| v.as_tensor().clone()).collect();
    let y = f(&ts);
    let grads = (&y * g).unwrap().sum_all().unwrap().backward().unwrap();
    let gs = ts.iter().map(|t| grads.get(t).expect("a gradient for every input").clone()).collect();
    (y, gs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_map_is_a_bijection_with_space_as_g_dot() {
        let map = byte_to_char();
        let unique: std::collections::HashSet<char> = map.iter().copied().collect();
        assert_eq!(unique.len(), 256);
        assert_eq!(map[b' ' as usize], 'Ġ');
        assert_eq!(map[b'\n' as usize], 'Ċ');
        assert_eq!(map[b'a' as usize], 'a');
    }

    #[test]
    fn uniform_is_deterministic_and_bounded() {
        let a = uniform(&[1000], 0.5, 7).to_vec1::<f32>().unwrap();
        let b = uniform(&[1000], 0.5, 7).to_vec1::<f32>().unwrap();
        assert_eq!(a, b);
        assert!(a.iter().all(|v| (-0.5..0.5).contains(v)));
        let mean = a.iter().sum::<f32>() / a.len() as f32;
        assert!(mean.abs() < 0.05, "mean {mean}");
    }
}
