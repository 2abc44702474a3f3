//! The tiny LLaMA the tests, and the interop checks against transformers and PEFT, run
//! on: 2 blocks over a 264-token byte-level BPE vocabulary configured as SmolLM2's.
//! Deterministic in the seed, built in memory in milliseconds, no files or network.

use crate::config::LlamaConfig;
use crate::load::gguf::GgufVocab;
use crate::synthetic::random_model;
use tokenizers::decoders::byte_level::ByteLevel as ByteLevelDecoder;
use tokenizers::models::bpe::BPE;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::digits::Digits;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::{AddedToken, Tokenizer};

/// Special tokens of the tiny vocabulary (ids 0, 1, 2), as in SmolLM2.
pub const SPECIAL_TOKENS: [&str; 3] = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"];

/// Merge rules of the tiny vocabulary, by priority; their results get ids 259.. in this order.
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

/// The tiny vocabulary: 3 specials, the 256 byte chars (id `3 + byte`), then [`MERGES`].
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

/// The tiny tokenizer, built directly with the `tokenizers` API the way
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

/// A tiny LLaMA (2 blocks, GQA 4:2, head_dim 8, widths multiple of 32 so GGUF block types fit) over the tiny vocabulary.
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

/// A tiny random LLaMA ([`tiny_config`], [`crate::synthetic::random_weights`] of `seed`) built in memory,
/// f32 on the CPU: the same network a test gets by writing and loading an HF folder.
pub fn tiny_model(seed: u64) -> crate::Result<crate::Llama> {
    random_model(&tiny_config(), seed)
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
}
