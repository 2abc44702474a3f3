//! The tokenizer built from GGUF metadata against hand-computed ids and the tokenizer.json route.

use candle_core::quantized::GgmlDType;
use loran_model::fixtures::{random_weights, tiny_config, tiny_tokenizer, tiny_vocab};
use loran_model::load::gguf::{open_gguf, write_gguf};
use loran_model::tokenizer::{encode, tokenizer_from_gguf};

fn gguf_tokenizer() -> tokenizers::Tokenizer {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tiny.gguf");
    let cfg = tiny_config();
    write_gguf(&path, &cfg, &random_weights(&cfg, 0), GgmlDType::F32, Some(&tiny_vocab())).unwrap();
    let file = open_gguf(&path).unwrap();
    tokenizer_from_gguf(&file.content, &path).unwrap()
}

/// Id of byte `b` in the fixture vocabulary.
fn byte(b: u8) -> u32 {
    3 + b as u32
}

#[test]
fn gguf_tokenizer_gives_hand_computed_ids() {
    let tok = gguf_tokenizer();
    // "the" -> t + (h e); " cat" -> Ġ + ((c a) t); " " ; digits one by one.
    let expected = vec![byte(b't'), 259, byte(b' '), 263, byte(b' '), byte(b'4'), byte(b'2')];
    assert_eq!(encode(&tok, "the cat 42").unwrap(), expected);
    // " the" uses the chained merges (Ġ t) then (Ġt he).
    assert_eq!(encode(&tok, "a the").unwrap(), vec![byte(b'a'), 261]);
    // Special tokens written in the text map to their ids; nothing is prepended.
    assert_eq!(encode(&tok, "<|im_start|>the<|im_end|>").unwrap(), vec![1, byte(b't'), 259, 2]);
}

#[test]
fn gguf_tokenizer_round_trips_and_matches_tokenizer_json() {
    let from_gguf = gguf_tokenizer();
    let reference = tiny_tokenizer();
    let texts = [
        "The cat sat on the mat.",
        "Numbers 12345 and  double  spaces\nnew lines\ttabs",
        "Ünïcödé — “quotes” 東京 🙂",
        "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n",
    ];
    for text in texts {
        let ids = encode(&from_gguf, text).unwrap();
        assert_eq!(ids, encode(&reference, text).unwrap(), "{text:?}");
        assert_eq!(from_gguf.decode(&ids, false).unwrap(), text);
    }
    // Special tokens are recognised as special, so they can be skipped on decode.
    let ids = encode(&from_gguf, "<|im_start|>the<|im_end|>").unwrap();
    assert_eq!(from_gguf.decode(&ids, true).unwrap(), "the");
}

#[test]
fn unsupported_pre_tokenizer_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("odd.gguf");
    let cfg = tiny_config();
    let mut vocab = tiny_vocab();
    vocab.pre = "mystery-pre".into();
    write_gguf(&path, &cfg, &random_weights(&cfg, 0), GgmlDType::F32, Some(&vocab)).unwrap();
    let file = open_gguf(&path).unwrap();
    let err = tokenizer_from_gguf(&file.content, &path).unwrap_err().to_string();
    assert!(err.contains("odd.gguf") && err.contains("mystery-pre"), "{err}");
}
