//! Checks of the token limits against a task, before any example is
//! tokenized: the prompt template must leave room for the input, and every
//! class label must fit `max_target_tokens` whole.
//!
//! [`crate::tokenize_for_training`] cuts any target longer than
//! `max_target_tokens`. For a summary that is a documented truncation; for a
//! class label it would train the model to write a label that is not one of
//! the task's, so [`check_limits`] refuses such limits.

use crate::error::DatasetError;
use crate::task::LoadedTask;
use crate::tokenize::{check_special_tokens, encode_prompt, target_ids, template_tokens, TokenLimits};
use tokenizers::Tokenizer;

/// Checks `limits` against `task` with `tok`: the ChatML special tokens
/// exist when the template needs them, the prompt budget holds the template
/// plus at least one input token, and (classification) every label renders
/// to at most `max_target_tokens` tokens. Errors are one line naming
/// `train.max_len` / `train.max_target_tokens` and the value to set.
pub fn check_limits(
    tok: &Tokenizer,
    task: &LoadedTask,
    limits: &TokenLimits,
) -> Result<(), DatasetError> {
    check_special_tokens(tok, &task.template)?;
    let budget = limits.prompt_budget()?;
    let fixed = template_tokens(tok, &task.template)?;
    if fixed >= budget {
        return Err(limits.no_room_for_input(fixed));
    }
    let Some(labels) = task.kind.labels() else {
        return Ok(());
    };
    // A label's tokens as training sees them: after the prompt (any input ends where
    // the answer cue does, so the empty one stands for all).
    let prompt = encode_prompt(tok, &task.template, "", limits, "the template")?;
    let mut lengths = Vec::with_capacity(labels.len());
    for label in labels {
        let text = task.template.render_target(label);
        let what = format!("the label `{label}`");
        lengths.push(target_ids(tok, &prompt, &text, &what)?.len());
    }
    let too_long = lengths
        .iter()
        .filter(|&&n| n > limits.max_target_tokens)
        .count();
    if too_long == 0 {
        return Ok(());
    }
    // The first of the longest labels (there is one: a label is too long).
    let Some((longest, tokens)) = lengths
        .iter()
        .copied()
        .enumerate()
        .rev()
        .max_by_key(|&(_, n)| n)
    else {
        return Ok(());
    };
    Err(DatasetError::TokenBudget(format!(
        "task `{}`: label `{}` takes {tokens} tokens, more than `train.max_target_tokens` {}, so training \
         would cut it ({too_long} of the {} labels do not fit); raise `train.max_target_tokens` to at least {tokens}",
        task.name,
        labels[longest],
        limits.max_target_tokens,
        labels.len()
    )))
}
