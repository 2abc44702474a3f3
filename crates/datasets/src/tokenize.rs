//! Tokenization for a causal LM whose loss falls only on the target tokens.
//!
//! Layout of a training sequence: `prompt tokens | target tokens | eos`, with
//! `loss_mask` 1 exactly on the target tokens and the eos. Token `i`'s mask
//! says whether token `i` is scored; the model predicts it from position
//! `i - 1`, so the runner shifts by one when it computes the loss.
//!
//! The token budget is fixed in advance: the prompt gets
//! `max_len - max_target_tokens - 1` tokens whatever the target, so training
//! and evaluation ([`tokenize_prompt`]) see exactly the same prompt tokens.
//! When the prompt is too long, only the input text is cut: its first tokens
//! are kept and its end is dropped (at a token boundary, then re-encoded);
//! the instruction and the answer cue stay whole. A target longer than
//! `max_target_tokens` keeps its first `max_target_tokens` tokens, and the
//! eos follows. Limits whose prompt budget leaves no room for a single input
//! token are an error naming `train.max_len` and `train.max_target_tokens`
//! (see also [`crate::check_limits`], which also refuses limits that would
//! cut a class label).
//! Text is encoded with `add_special_tokens = false`: the ChatML markers the
//! template writes as text map to their special ids.

use crate::error::DatasetError;
use crate::prompt::PromptTemplate;
use crate::task::Example;
use serde::{Deserialize, Serialize};
use tokenizers::Tokenizer;

/// Sequence length limits, in tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TokenLimits {
    /// Longest sequence, prompt + target + eos (default 256).
    pub max_len: usize,
    /// Longest target before the eos; longer targets are cut (default 64).
    /// The prompt's budget is `max_len - max_target_tokens - 1`.
    pub max_target_tokens: usize,
}

impl Default for TokenLimits {
    fn default() -> Self {
        Self {
            max_len: 256,
            max_target_tokens: 64,
        }
    }
}

impl TokenLimits {
    /// Tokens available to the prompt.
    pub fn prompt_budget(&self) -> Result<usize, DatasetError> {
        match self.max_len.checked_sub(self.max_target_tokens + 1) {
            Some(b) if b > 0 && self.max_target_tokens > 0 => Ok(b),
            _ => Err(DatasetError::TokenBudget(format!(
                "`train.max_len` {} leaves no room for a prompt next to `train.max_target_tokens` {} and the eos; \
                 raise `train.max_len` well above {} or lower `train.max_target_tokens` (both must be positive)",
                self.max_len,
                self.max_target_tokens,
                self.max_target_tokens + 1
            ))),
        }
    }

    /// The error for a prompt template of `fixed` tokens that leaves no room
    /// for the input within these limits.
    pub(crate) fn no_room_for_input(&self, fixed: usize) -> DatasetError {
        DatasetError::TokenBudget(format!(
            "the instruction and answer cue take {fixed} tokens, which leaves no room for the input in the \
             prompt budget of {} tokens (`train.max_len` {} - `train.max_target_tokens` {} - 1 for the eos); \
             raise `train.max_len` to at least {} (more keeps more of the input), or lower `train.max_target_tokens`",
            self.max_len.saturating_sub(self.max_target_tokens + 1),
            self.max_len,
            self.max_target_tokens,
            fixed + self.max_target_tokens + 2
        ))
    }
}

/// One tokenized training example.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenizedExample {
    /// Prompt, target and eos token ids.
    pub input_ids: Vec<u32>,
    /// 1 on the target tokens including the final eos, 0 on the prompt.
    pub loss_mask: Vec<u8>,
    /// Number of prompt tokens (the first target token is at this index).
    pub prompt_len: usize,
}

/// The prompt tokens of an example, for generation at evaluation time:
/// identical to the prompt part of [`tokenize_for_training`].
pub fn tokenize_prompt(
    tok: &Tokenizer,
    template: &PromptTemplate,
    ex: &Example,
    limits: &TokenLimits,
) -> Result<Vec<u32>, DatasetError> {
    check_special_tokens(tok, template)?;
    encode_prompt(tok, template, &ex.input, limits, &ex.id)
}

/// Prompt + target + eos with a loss mask on the target and the eos.
pub fn tokenize_for_training(
    tok: &Tokenizer,
    template: &PromptTemplate,
    ex: &Example,
    limits: &TokenLimits,
    eos_id: u32,
) -> Result<TokenizedExample, DatasetError> {
    let prompt = tokenize_prompt(tok, template, ex, limits)?;
    let target_text = template.render_target(&ex.target);
    let mut target = encode(tok, &target_text, &format!("the target of `{}`", ex.id))?
        .get_ids()
        .to_vec();
    target.truncate(limits.max_target_tokens);
    let prompt_len = prompt.len();
    let mut input_ids = prompt;
    input_ids.extend_from_slice(&target);
    input_ids.push(eos_id);
    let mut loss_mask = vec![0u8; prompt_len];
    loss_mask.resize(input_ids.len(), 1);
    Ok(TokenizedExample {
        input_ids,
        loss_mask,
        prompt_len,
    })
}

pub(crate) fn check_special_tokens(
    tok: &Tokenizer,
    template: &PromptTemplate,
) -> Result<(), DatasetError> {
    for token in template.required_special_tokens() {
        if tok.token_to_id(token).is_none() {
            return Err(DatasetError::MissingSpecialToken {
                token: token.to_string(),
            });
        }
    }
    Ok(())
}

pub(crate) fn encode(
    tok: &Tokenizer,
    text: &str,
    what: &str,
) -> Result<tokenizers::Encoding, DatasetError> {
    tok.encode_char_offsets(text, false)
        .map_err(|e| DatasetError::Tokenizer {
            what: what.to_string(),
            detail: e.to_string(),
        })
}

/// The number of tokens of `template` around an empty input.
pub(crate) fn template_tokens(
    tok: &Tokenizer,
    template: &PromptTemplate,
) -> Result<usize, DatasetError> {
    let text = template.parts("").text();
    Ok(encode(tok, &text, "the prompt template")?.get_ids().len())
}

/// Encodes the prompt, cutting the end of the input until the whole prompt
/// fits the prompt budget of `limits`.
fn encode_prompt(
    tok: &Tokenizer,
    template: &PromptTemplate,
    input: &str,
    limits: &TokenLimits,
    id: &str,
) -> Result<Vec<u32>, DatasetError> {
    let budget = limits.prompt_budget()?;
    let what = format!("the prompt of `{id}`");
    let mut input: Vec<char> = input.chars().collect();
    loop {
        let text: String = input.iter().collect();
        let parts = template.parts(&text);
        let enc = encode(tok, &parts.text(), &what)?;
        let total = enc.get_ids().len();
        if total <= budget {
            return Ok(enc.get_ids().to_vec());
        }
        // Char span of the input inside the prompt; sanitizing may have
        // lengthened it, so measure the rendered input, and cut in its terms.
        let rendered: Vec<char> = parts.input.chars().collect();
        let start = parts.prefix.chars().count();
        let end = start + rendered.len();
        let input_token_ends: Vec<usize> = enc
            .get_offsets()
            .iter()
            .filter(|(s, e)| *s >= start && *e <= end)
            .map(|(_, e)| e - start)
            .collect();
        let fixed = total - input_token_ends.len();
        if rendered.is_empty() || fixed >= budget {
            // Not even one input token fits: an error, not a prompt without its input.
            return Err(limits.no_room_for_input(template_tokens(tok, template)?));
        }
        let cut = input_token_ends[budget - fixed - 1];
        // Always make progress, even if re-encoding merges tokens differently.
        let cut = cut.min(rendered.len().saturating_sub(1));
        input = trim_end(&rendered[..cut]);
    }
}

fn trim_end(chars: &[char]) -> Vec<char> {
    let mut v = chars.to_vec();
    while v.last().is_some_and(|c| c.is_whitespace()) {
        v.pop();
    }
    v
}
