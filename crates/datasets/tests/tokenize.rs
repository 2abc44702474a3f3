//! Tokenization, truncation, loss masks and batching with tiny tokenizers.

use crate::common;

use common::{byte_tokenizer, pre_tokens, word_tokenizer};
use loran_datasets::{
    collate, tokenize_for_training, tokenize_prompt, BatchIter, DatasetError, Example, PromptStyle,
    PromptTemplate, TokenLimits,
};
use tokenizers::Tokenizer;

const EOS: u32 = 2;

fn template(style: PromptStyle) -> PromptTemplate {
    PromptTemplate::summarization(style)
}

fn example(input: &str, target: &str) -> Example {
    Example {
        id: "ex-1".into(),
        input: input.into(),
        target: target.into(),
    }
}

fn long_input(words: usize) -> String {
    (0..words)
        .map(|i| format!("word{i}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A word tokenizer that knows every word of the template and the texts.
fn tokenizer_for(texts: &[&str]) -> Tokenizer {
    let t = template(PromptStyle::ChatMl);
    let prompt = t.render_prompt("");
    let mut all: Vec<&str> = vec![prompt.as_str(), "assistant user"];
    all.extend_from_slice(texts);
    word_tokenizer(&all, true)
}

fn ids(tok: &Tokenizer, text: &str) -> Vec<u32> {
    tok.encode(text, false).unwrap().get_ids().to_vec()
}

#[test]
fn mask_covers_exactly_the_target_and_eos() {
    let ex = example("The cat sat on the mat .", "A cat sat .");
    let tok = tokenizer_for(&[&ex.input, &ex.target]);
    let t = template(PromptStyle::ChatMl);
    let limits = TokenLimits::default();
    let out = tokenize_for_training(&tok, &t, &ex, &limits, EOS).unwrap();

    let prompt_ids = ids(&tok, &t.render_prompt(&ex.input));
    let target_ids = ids(&tok, &ex.target);
    assert_eq!(target_ids.len(), 4);
    assert!(!target_ids.contains(&0), "the target must be in the vocab");
    assert_eq!(out.prompt_len, prompt_ids.len());
    assert_eq!(
        out.input_ids,
        [prompt_ids.clone(), target_ids.clone(), vec![EOS]].concat()
    );
    assert_eq!(
        out.loss_mask,
        [vec![0u8; prompt_ids.len()], vec![1u8; 5]].concat()
    );
    // The ChatML markers written as text became their special ids.
    assert_eq!(out.input_ids[0], 1);
    assert_eq!(
        out.input_ids.iter().filter(|&&i| i == 2).count(),
        2,
        "<|im_end|> after the user turn, then eos"
    );
    // The evaluation prompt is the training prompt.
    assert_eq!(tokenize_prompt(&tok, &t, &ex, &limits).unwrap(), prompt_ids);
}

#[test]
fn truncation_cuts_only_the_input_and_keeps_cue_and_target() {
    let input = long_input(300);
    let ex = example(&input, "short answer here");
    let tok = tokenizer_for(&[&input, &ex.target]);
    let t = template(PromptStyle::ChatMl);
    let limits = TokenLimits {
        max_len: 64,
        max_target_tokens: 8,
    };
    let out = tokenize_for_training(&tok, &t, &ex, &limits, EOS).unwrap();

    let budget = 64 - 8 - 1;
    assert_eq!(
        out.prompt_len, budget,
        "a word tokenizer can fill the prompt budget exactly"
    );
    assert!(out.input_ids.len() <= limits.max_len);

    let prefix = ids(&tok, &t.parts("").prefix);
    let suffix = ids(&tok, &t.parts("").suffix);
    let prompt = &out.input_ids[..out.prompt_len];
    assert_eq!(
        &prompt[..prefix.len()],
        prefix.as_slice(),
        "the instruction is intact"
    );
    assert_eq!(
        &prompt[prompt.len() - suffix.len()..],
        suffix.as_slice(),
        "the answer cue is intact"
    );
    // The kept input is the first words of the original, as many as fit.
    let kept = &prompt[prefix.len()..prompt.len() - suffix.len()];
    let expected: Vec<u32> = ids(&tok, &input)[..budget - prefix.len() - suffix.len()].to_vec();
    assert_eq!(kept, expected.as_slice());
    // The target and eos follow untouched, with the mask on them only.
    assert_eq!(
        &out.input_ids[out.prompt_len..],
        [ids(&tok, &ex.target), vec![EOS]].concat().as_slice()
    );
    assert_eq!(out.loss_mask.iter().filter(|&&m| m == 1).count(), 4);
    assert!(out.loss_mask[..out.prompt_len].iter().all(|&m| m == 0));
    assert_eq!(
        tokenize_prompt(&tok, &t, &ex, &limits).unwrap(),
        prompt.to_vec()
    );
}

#[test]
fn the_target_is_capped_and_still_ends_with_eos() {
    let target = long_input(20);
    let ex = example("a short article", &target);
    let tok = tokenizer_for(&[&ex.input, &target]);
    let t = template(PromptStyle::ChatMl);
    let limits = TokenLimits {
        max_len: 128,
        max_target_tokens: 8,
    };
    let out = tokenize_for_training(&tok, &t, &ex, &limits, EOS).unwrap();
    let target_ids = ids(&tok, &target);
    assert_eq!(
        &out.input_ids[out.prompt_len..out.prompt_len + 8],
        &target_ids[..8]
    );
    assert_eq!(*out.input_ids.last().unwrap(), EOS);
    assert_eq!(out.input_ids.len(), out.prompt_len + 9);
    assert_eq!(out.loss_mask.iter().filter(|&&m| m == 1).count(), 9);
}

#[test]
fn plain_style_puts_a_space_before_the_target() {
    let ex = example("The cat sat .", "A cat .");
    let t = template(PromptStyle::Plain);
    let tok = word_tokenizer(&[&t.render_prompt(&ex.input), &ex.target], false);
    let out = tokenize_for_training(&tok, &t, &ex, &TokenLimits::default(), 0).unwrap();
    let prompt = tok.decode(&out.input_ids[..out.prompt_len], false).unwrap();
    assert!(prompt.ends_with("Standfirst :"), "{prompt}");
    assert_eq!(
        &out.input_ids[out.prompt_len..],
        [ids(&tok, "A cat ."), vec![0]].concat().as_slice()
    );
}

#[test]
fn chatml_needs_the_special_tokens() {
    let ex = example("x", "y");
    let tok = word_tokenizer(&["x y"], false);
    let err = tokenize_prompt(
        &tok,
        &template(PromptStyle::ChatMl),
        &ex,
        &TokenLimits::default(),
    )
    .unwrap_err();
    assert!(
        matches!(err, DatasetError::MissingSpecialToken { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("<|im_start|>") && err.to_string().contains("plain"));
}

#[test]
fn limits_too_small_for_the_instruction_are_an_error() {
    let ex = example("some input", "y");
    let tok = tokenizer_for(&[&ex.input]);
    let t = template(PromptStyle::ChatMl);
    let err = tokenize_prompt(
        &tok,
        &t,
        &ex,
        &TokenLimits {
            max_len: 12,
            max_target_tokens: 4,
        },
    )
    .unwrap_err();
    assert!(matches!(err, DatasetError::TokenBudget(_)), "{err}");
    assert!(err.to_string().contains("raise `train.max_len`"), "{err}");
    let err = tokenize_prompt(
        &tok,
        &t,
        &ex,
        &TokenLimits {
            max_len: 8,
            max_target_tokens: 8,
        },
    )
    .unwrap_err();
    assert!(matches!(err, DatasetError::TokenBudget(_)), "{err}");
}

#[test]
fn byte_level_truncation_respects_multibyte_characters() {
    let tok = byte_tokenizer();
    let t = template(PromptStyle::ChatMl);
    // 'é' is two bytes, so two tokens that share one character.
    let input = "é".repeat(40) + " caf\u{e9} 2017";
    let ex = example(&input, "ok");
    let fixed = tok.encode(t.render_prompt(""), false).unwrap().len();
    let limits = TokenLimits {
        max_len: fixed + 25 + 3 + 1,
        max_target_tokens: 3,
    };
    let prompt = tokenize_prompt(&tok, &t, &ex, &limits).unwrap();
    assert!(
        prompt.len() <= fixed + 25,
        "{} > {}",
        prompt.len(),
        fixed + 25
    );
    assert!(
        prompt.len() >= fixed + 24,
        "the cut wasted room: {}",
        prompt.len()
    );
    let text = tok.decode(&prompt, false).unwrap();
    assert!(
        text.ends_with("<|im_end|>\n<|im_start|>assistant\n"),
        "{text:?}"
    );
    assert!(
        !text.contains('\u{fffd}'),
        "a character was split: {text:?}"
    );
    assert!(text.contains(&"é".repeat(12)), "{text:?}");
    let out = tokenize_for_training(&tok, &t, &ex, &limits, EOS).unwrap();
    assert_eq!(&out.input_ids[..out.prompt_len], prompt.as_slice());
    assert_eq!(
        tok.decode(
            &out.input_ids[out.prompt_len..out.input_ids.len() - 1],
            false
        )
        .unwrap(),
        "ok"
    );
}

#[test]
fn tokenization_and_batches_are_deterministic() {
    let texts: Vec<String> = (0..10).map(|i| long_input(3 + i)).collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let tok = tokenizer_for(&refs);
    let t = template(PromptStyle::ChatMl);
    let limits = TokenLimits {
        max_len: 80,
        max_target_tokens: 4,
    };
    let encode = || {
        texts
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let ex = Example {
                    id: format!("e{i}"),
                    input: s.clone(),
                    target: "word0 word1".into(),
                };
                tokenize_for_training(&tok, &t, &ex, &limits, EOS).unwrap()
            })
            .collect::<Vec<_>>()
    };
    let a = encode();
    assert_eq!(a, encode());
    let batches = |seed| {
        BatchIter::new(a.clone(), 3, 0, seed)
            .take(7)
            .collect::<Vec<_>>()
    };
    assert_eq!(batches(5), batches(5));
    assert_ne!(batches(5), batches(6));
    // Padding is masked out and every row keeps its own tokens.
    let b = collate(&[&a[0], &a[9]], 0);
    assert_eq!(b.seq_len, a[9].input_ids.len());
    let row0_len = a[0].input_ids.len();
    assert_eq!(&b.input_ids[..row0_len], a[0].input_ids.as_slice());
    assert!(b.input_ids[row0_len..b.seq_len].iter().all(|&i| i == 0));
    assert!(b.loss_mask[row0_len..b.seq_len].iter().all(|&m| m == 0.0));
    let scored: f32 = b.loss_mask.iter().sum();
    assert_eq!(scored, 6.0, "two targets of two tokens, plus two eos");
}

#[test]
fn pre_tokens_helper_matches_the_whitespace_pre_tokenizer() {
    let tok = word_tokenizer(&["hello , world ! x2"], false);
    let text = "hello, world!! x2";
    let enc = tok.encode(text, false).unwrap();
    assert_eq!(enc.get_tokens().len(), pre_tokens(text).len());
}
