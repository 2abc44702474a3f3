//! Llama-2's tokenizer behaviour in prompts and targets, on a tiny Llama-style
//! tokenizer built here (no network): one `<s>` before every prompt, and target
//! tokens equal to the tail of the joint prompt + target encoding (no stray `▁`).
//! SmolLM2-style byte-level BPE keeps its prompts as they were.

use crate::common::byte_tokenizer;
use loran_datasets::tokenize::leading_special_ids;
use loran_datasets::{tokenize_for_training, tokenize_prompt, Example, PromptStyle, PromptTemplate, TokenLimits};
use tokenizers::Tokenizer;

const BOS: u32 = 1;
const EOS: u32 = 2;
/// The bare `▁` piece (Llama-2's id 29871).
const SPACE: u32 = 3;

fn special(id: u32, content: &str) -> serde_json::Value {
    serde_json::json!({"id": id, "content": content, "single_word": false, "lstrip": false,
                       "rstrip": false, "normalized": false, "special": true})
}

/// A Llama-2-style BPE: `<unk>`=0, `<s>`=1, `</s>`=2, `▁`=3, every character of
/// `texts` (spaces as `▁`), and merges that build `▁Hello` and `▁world`. `legacy`
/// lays it out as meta-llama/Llama-2-7b-hf's tokenizer.json does (normalizer: prepend
/// `▁`, spaces to `▁`; no pre-tokenizer); otherwise as newer conversions do (a
/// Metaspace pre-tokenizer, `prepend_scheme: first`, no split). Both post-process with
/// `TemplateProcessing` `<s> $A` and decode like Llama-2.
fn llama_tokenizer(texts: &[&str], legacy: bool) -> Tokenizer {
    let mut vocab = serde_json::Map::new();
    for (id, t) in ["<unk>", "<s>", "</s>", "▁"].iter().enumerate() {
        vocab.insert(t.to_string(), id.into());
    }
    let merges = [("H", "e"), ("He", "l"), ("Hel", "l"), ("Hell", "o"), ("▁", "Hello"), ("w", "o"), ("wo", "r"), ("wor", "l"), ("worl", "d"), ("▁", "world")];
    let pieces = texts.iter().flat_map(|t| t.replace(' ', "▁").chars().map(String::from).collect::<Vec<_>>());
    for piece in pieces.chain(merges.iter().map(|(a, b)| format!("{a}{b}"))) {
        let next = vocab.len() as u64;
        vocab.entry(piece).or_insert(next.into());
    }
    let (normalizer, pre_tokenizer) = if legacy {
        let n = serde_json::json!({"type": "Sequence", "normalizers": [
            {"type": "Prepend", "prepend": "▁"},
            {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]});
        (n, serde_json::Value::Null)
    } else {
        (serde_json::Value::Null, serde_json::json!({"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": false}))
    };
    let json = serde_json::json!({
        "version": "1.0", "truncation": null, "padding": null,
        "added_tokens": [special(0, "<unk>"), special(1, "<s>"), special(2, "</s>")],
        "normalizer": normalizer, "pre_tokenizer": pre_tokenizer,
        "post_processor": {"type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": "<s>", "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
            "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}},
        "decoder": {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": "▁"}, "content": " "},
            {"type": "ByteFallback"}, {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
        "model": {"type": "BPE", "dropout": null, "unk_token": "<unk>", "continuing_subword_prefix": null,
                  "end_of_word_suffix": null, "fuse_unk": true, "byte_fallback": false, "ignore_merges": false,
                  "vocab": vocab, "merges": merges.iter().map(|(a, b)| format!("{a} {b}")).collect::<Vec<_>>()}
    });
    json.to_string().parse().unwrap()
}

fn example() -> Example {
    Example { id: "ex-1".into(), input: "Hi there.".into(), target: "Hello world".into() }
}

fn setup(legacy: bool) -> (Tokenizer, PromptTemplate, String) {
    let t = PromptTemplate::summarization(PromptStyle::Plain);
    let prompt = t.render_prompt(&example().input);
    let tok = llama_tokenizer(&[&prompt, "Hello world"], legacy);
    (tok, t, prompt)
}

fn ids(tok: &Tokenizer, text: &str, special: bool) -> Vec<u32> {
    tok.encode(text, special).unwrap().get_ids().to_vec()
}

#[test]
fn the_fixture_behaves_like_llama_2() {
    let (tok, _, _) = setup(true);
    let (hello, world) = (tok.token_to_id("▁Hello").unwrap(), tok.token_to_id("▁world").unwrap());
    assert_eq!(ids(&tok, "Hello world", true), vec![BOS, hello, world]);
    // The leading space encoded alone: a stray `▁` before `▁Hello` (Llama-2: 29871, 15043).
    assert_eq!(ids(&tok, " Hello world", false), vec![SPACE, hello, world]);
    assert_eq!(tok.decode(&[BOS, hello, world], true).unwrap(), "Hello world");
    assert_eq!(leading_special_ids(&tok).unwrap(), vec![BOS]);
}

#[test]
fn prompts_start_with_exactly_one_bos() {
    for legacy in [true, false] {
        let (tok, t, prompt) = setup(legacy);
        let got = tokenize_prompt(&tok, &t, &example(), &TokenLimits::default()).unwrap();
        assert_eq!(got, ids(&tok, &prompt, true), "legacy {legacy}: what HF's tokenizer(prompt) gives");
        assert_eq!((got[0], got.iter().filter(|&&i| i == BOS).count()), (BOS, 1));
        let train = tokenize_for_training(&tok, &t, &example(), &TokenLimits::default(), EOS).unwrap();
        assert_eq!(&train.input_ids[..train.prompt_len], got.as_slice());
    }
}

#[test]
fn target_tokens_are_the_tail_of_the_joint_encoding() {
    for legacy in [true, false] {
        let (tok, t, prompt) = setup(legacy);
        let train = tokenize_for_training(&tok, &t, &example(), &TokenLimits::default(), EOS).unwrap();
        let joint = ids(&tok, &format!("{prompt}{}", t.render_target(&example().target)), true);
        assert_eq!(&joint[..train.prompt_len], &train.input_ids[..train.prompt_len], "legacy {legacy}");
        let target = &train.input_ids[train.prompt_len..train.input_ids.len() - 1];
        assert_eq!(target, &joint[train.prompt_len..], "legacy {legacy}");
        let want = [tok.token_to_id("▁Hello").unwrap(), tok.token_to_id("▁world").unwrap()];
        assert_eq!(target, want, "legacy {legacy}: no stray ▁");
        assert_eq!(train.loss_mask.iter().filter(|&&m| m == 1).count(), 3, "target and eos");
    }
}

/// The BOS counts against the prompt budget: a prompt cut to fit still fits with it.
#[test]
fn the_bos_counts_in_the_prompt_budget() {
    let (tok, t, _) = setup(true);
    let long = Example { input: "Hi there. ".repeat(40), ..example() };
    let limits = TokenLimits { max_len: 200, max_target_tokens: 8 };
    let got = tokenize_prompt(&tok, &t, &long, &limits).unwrap();
    let budget = limits.prompt_budget().unwrap();
    assert_eq!(got[0], BOS);
    // One token per character here, so the cut fills the budget (less a trailing `▁`).
    assert!(got.len() <= budget && got.len() + 1 >= budget, "{} of {budget}", got.len());
}

/// SmolLM2-style byte-level BPE: nothing is prepended, and a template that adds
/// `<|im_start|>` (as a GGUF with `add_bos_token` gives) does not double the ChatML
/// prompt's own.
#[test]
fn byte_level_chatml_prompts_are_unchanged() {
    let t = PromptTemplate::summarization(PromptStyle::ChatMl);
    let plain = byte_tokenizer();
    assert!(leading_special_ids(&plain).unwrap().is_empty());
    let got = tokenize_prompt(&plain, &t, &example(), &TokenLimits::default()).unwrap();
    assert_eq!(got, ids(&plain, &t.render_prompt(&example().input), false));
    let mut with_bos = byte_tokenizer();
    let bos = tokenizers::processors::template::TemplateProcessing::builder()
        .try_single("<|im_start|> $A")
        .unwrap()
        .special_tokens(vec![("<|im_start|>", 1)])
        .build()
        .unwrap();
    with_bos.with_post_processor(Some(bos));
    assert_eq!(leading_special_ids(&with_bos).unwrap(), vec![1]);
    assert_eq!(tokenize_prompt(&with_bos, &t, &example(), &TokenLimits::default()).unwrap(), got);
    let train = tokenize_for_training(&plain, &t, &example(), &TokenLimits::default(), 2).unwrap();
    let target = ids(&plain, "Hello world", false);
    assert_eq!(train.input_ids, [got, target, vec![2]].concat());
}
