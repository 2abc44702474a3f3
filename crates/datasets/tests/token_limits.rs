//! Sequences longer than the token limits, counted token by token with a
//! word-level tokenizer (one token per word or punctuation run): the prompt
//! keeps the start of the input, the instruction and the answer cue; a
//! summary target is cut to `train.max_target_tokens`; limits that leave no
//! room for the input, or cut a class label, are errors naming the key.

use crate::common;

use common::word_tokenizer;
use loran_datasets::loaders::newsgroups20;
use loran_datasets::{
    check_limits, tokenize_for_training, tokenize_prompt, DatasetError, Example, LoadedTask,
    PromptStyle, PromptTemplate, Splits, TaskKind, TaskOptions, TokenLimits,
};
use tokenizers::Tokenizer;

const EOS: u32 = 2;

fn words(prefix: &str, n: usize) -> String {
    (0..n)
        .map(|i| format!("{prefix}{i}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn ids(tok: &Tokenizer, text: &str) -> Vec<u32> {
    tok.encode(text, false).unwrap().get_ids().to_vec()
}

fn summary_setup() -> (Tokenizer, PromptTemplate, usize) {
    let t = PromptTemplate::summarization(PromptStyle::ChatMl);
    let empty = t.render_prompt("");
    let tok = word_tokenizer(&[&empty, &words("w", 60), &words("t", 20)], true);
    let fixed = ids(&tok, &empty).len();
    (tok, t, fixed)
}

fn example(input: &str, target: &str) -> Example {
    Example {
        id: "ex-7".into(),
        input: input.into(),
        target: target.into(),
    }
}

#[test]
fn a_long_input_keeps_its_first_tokens_and_the_whole_template() {
    let (tok, t, fixed) = summary_setup();
    let limits = TokenLimits {
        max_len: fixed + 20 + 8 + 1,
        max_target_tokens: 8,
    };
    // 20 input words fit exactly: nothing is cut.
    let out = tokenize_for_training(
        &tok,
        &t,
        &example(&words("w", 20), "t0 t1 t2"),
        &limits,
        EOS,
    )
    .unwrap();
    assert_eq!(out.prompt_len, fixed + 20);
    assert_eq!(out.input_ids.len(), fixed + 20 + 3 + 1);
    // 60 input words: the first 20 are kept, the last 40 dropped; the target is whole.
    let ex = example(&words("w", 60), "t0 t1 t2");
    let out = tokenize_for_training(&tok, &t, &ex, &limits, EOS).unwrap();
    assert_eq!(out.prompt_len, fixed + 20);
    assert_eq!(
        &out.input_ids[..out.prompt_len],
        ids(&tok, &t.render_prompt(&words("w", 20))).as_slice()
    );
    assert_eq!(
        &out.input_ids[out.prompt_len..],
        [ids(&tok, "t0 t1 t2"), vec![EOS]].concat().as_slice()
    );
    assert_eq!(out.loss_mask.iter().filter(|&&m| m == 1).count(), 4);
    assert_eq!(
        tokenize_prompt(&tok, &t, &ex, &limits).unwrap().len(),
        fixed + 20
    );
}

#[test]
fn a_long_summary_target_is_cut_to_max_target_tokens_and_fills_max_len() {
    let (tok, t, fixed) = summary_setup();
    let limits = TokenLimits {
        max_len: fixed + 20 + 8 + 1,
        max_target_tokens: 8,
    };
    let out = tokenize_for_training(
        &tok,
        &t,
        &example(&words("w", 60), &words("t", 20)),
        &limits,
        EOS,
    )
    .unwrap();
    assert_eq!(out.input_ids.len(), limits.max_len);
    assert_eq!(
        &out.input_ids[out.prompt_len..limits.max_len - 1],
        &ids(&tok, &words("t", 20))[..8]
    );
    assert_eq!(out.input_ids[limits.max_len - 1], EOS);
}

#[test]
fn limits_that_leave_no_room_for_the_input_are_an_error_naming_the_keys() {
    let (tok, t, fixed) = summary_setup();
    // The prompt budget equals the template alone: the input would vanish entirely.
    for max_len in [fixed + 8 + 1, fixed + 8 - 3] {
        let limits = TokenLimits {
            max_len,
            max_target_tokens: 8,
        };
        let err = tokenize_for_training(&tok, &t, &example(&words("w", 5), "t0"), &limits, EOS)
            .unwrap_err();
        assert!(matches!(err, DatasetError::TokenBudget(_)), "{err}");
        let msg = err.to_string();
        assert!(!msg.contains('\n'), "{msg}");
        for needle in [
            format!("take {fixed} tokens"),
            format!("`train.max_len` {max_len}"),
            "`train.max_target_tokens` 8".to_string(),
            format!("raise `train.max_len` to at least {}", fixed + 8 + 2),
        ] {
            assert!(msg.contains(&needle), "{needle:?} not in: {msg}");
        }
    }
    let err = tokenize_prompt(
        &tok,
        &t,
        &example("w0", "t0"),
        &TokenLimits {
            max_len: 8,
            max_target_tokens: 8,
        },
    )
    .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("`train.max_len` 8")
            && msg.contains("`train.max_target_tokens` 8")
            && msg.contains("raise `train.max_len`"),
        "{msg}"
    );
}

fn newsgroups_task() -> LoadedTask {
    let opts = TaskOptions::default();
    LoadedTask {
        name: newsgroups20::TASK.into(),
        kind: TaskKind::Classification {
            labels: newsgroups20::labels(),
        },
        splits: Splits::default(),
        data_sha256: String::new(),
        source: "test".into(),
        template: newsgroups20::template(&opts),
        filters: Vec::new(),
    }
}

/// `tokenize_for_training` cuts any target to `max_target_tokens`; for a class
/// label that would teach a wrong label, so `check_limits` refuses such limits.
#[test]
fn a_class_label_longer_than_max_target_tokens_is_an_error() {
    let task = newsgroups_task();
    let prompt = task.template.render_prompt("");
    let tok = word_tokenizer(&[&prompt, "a post"], true);
    let fixed = ids(&tok, &prompt).len();
    // comp . os . ms - windows . misc: the longest label, 9 tokens.
    let label = "comp.os.ms-windows.misc";
    assert_eq!(ids(&tok, label).len(), 9);
    let limits = TokenLimits {
        max_len: fixed + 10 + 4 + 1,
        max_target_tokens: 4,
    };
    let out = tokenize_for_training(
        &tok,
        &task.template,
        &example("a post", label),
        &limits,
        EOS,
    )
    .unwrap();
    assert_eq!(
        out.input_ids.len() - out.prompt_len,
        4 + 1,
        "the label is cut to 4 tokens"
    );

    let err = check_limits(&tok, &task, &limits).unwrap_err();
    let msg = err.to_string();
    assert!(!msg.contains('\n'), "{msg}");
    for needle in [
        "task `newsgroups20`",
        "label `comp.os.ms-windows.misc` takes 9 tokens",
        "`train.max_target_tokens` 4",
        "raise `train.max_target_tokens` to at least 9",
    ] {
        assert!(msg.contains(needle), "{needle:?} not in: {msg}");
    }
    check_limits(
        &tok,
        &task,
        &TokenLimits {
            max_len: fixed + 10 + 9 + 1,
            max_target_tokens: 9,
        },
    )
    .unwrap();
    // The template check applies to every task.
    let err = check_limits(
        &tok,
        &task,
        &TokenLimits {
            max_len: fixed + 9 + 1,
            max_target_tokens: 9,
        },
    )
    .unwrap_err();
    assert!(
        err.to_string().contains(&format!(
            "raise `train.max_len` to at least {}",
            fixed + 9 + 2
        )),
        "{err}"
    );
}
