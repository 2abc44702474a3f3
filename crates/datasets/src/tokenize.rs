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
//! template writes as text map to their special ids. The prompt then starts with
//! the special tokens the tokenizer's post-processor puts in front of a text
//! ([`leading_special_ids`]), as HF's `tokenizer(prompt)` does: Llama-2's
//! `TemplateProcessing` adds `<s>` (id 1), SmolLM2's byte-level post-processor adds
//! nothing, and a prompt that already starts with them gets no second copy.
//!
//! The target's tokens are the tail of the joint encoding of prompt + target text,
//! not the target encoded alone: a SentencePiece tokenizer (Llama-2 prepends `▁` to
//! the text it encodes) turns " Hello" alone into `▁`, `▁Hello`, with a stray `▁`
//! (id 29871) the model never sees after a prompt. Only if the joint encoding does
//! not start with the prompt's tokens (a merge across the boundary) is the target
//! encoded alone.

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
    Ok(encode_prompt(tok, template, &ex.input, limits, &ex.id)?.ids)
}

/// Prompt + target + eos with a loss mask on the target and the eos.
pub fn tokenize_for_training(
    tok: &Tokenizer,
    template: &PromptTemplate,
    ex: &Example,
    limits: &TokenLimits,
    eos_id: u32,
) -> Result<TokenizedExample, DatasetError> {
    check_special_tokens(tok, template)?;
    let prompt = encode_prompt(tok, template, &ex.input, limits, &ex.id)?;
    let target_text = template.render_target(&ex.target);
    let what = format!("the target of `{}`", ex.id);
    let mut target = target_ids(tok, &prompt, &target_text, &what)?;
    target.truncate(limits.max_target_tokens);
    let prompt = prompt.ids;
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

/// The special tokens the tokenizer's post-processor puts before a text when HF
/// adds special tokens (`tokenizer(text)`): `[1]` (`<s>`) for Llama-2's
/// `TemplateProcessing`, none for SmolLM2's byte-level post-processor.
pub fn leading_special_ids(tok: &Tokenizer) -> Result<Vec<u32>, DatasetError> {
    let enc = tok
        .encode_char_offsets("a", true)
        .map_err(|e| DatasetError::Tokenizer {
            what: "a probe text, for the tokenizer's leading special tokens".into(),
            detail: e.to_string(),
        })?;
    let leading = enc.get_special_tokens_mask().iter().take_while(|&&m| m == 1).count();
    Ok(enc.get_ids()[..leading].to_vec())
}

/// `ids` after the leading special tokens, unless they already start with them.
fn with_leading(leading: &[u32], ids: &[u32]) -> Vec<u32> {
    if ids.starts_with(leading) {
        ids.to_vec()
    } else {
        [leading, ids].concat()
    }
}

/// The number of tokens of `template` around an empty input, leading special
/// tokens included.
pub(crate) fn template_tokens(
    tok: &Tokenizer,
    template: &PromptTemplate,
) -> Result<usize, DatasetError> {
    let text = template.parts("").text();
    let ids = encode(tok, &text, "the prompt template")?.get_ids().to_vec();
    Ok(with_leading(&leading_special_ids(tok)?, &ids).len())
}

/// A prompt as the model sees it and as text.
pub(crate) struct EncodedPrompt {
    /// The prompt's text (its input possibly cut).
    pub text: String,
    /// The text's own tokens, without the leading special tokens.
    pub text_ids: Vec<u32>,
    /// The leading special tokens, then the text's tokens.
    pub ids: Vec<u32>,
}

/// The tokens of `target_text` as they follow `prompt` in training: the tail of the
/// joint encoding of prompt and target text (see the module docs).
pub(crate) fn target_ids(tok: &Tokenizer, prompt: &EncodedPrompt, target_text: &str, what: &str) -> Result<Vec<u32>, DatasetError> {
    let joint = encode(tok, &format!("{}{target_text}", prompt.text), what)?;
    match joint.get_ids().strip_prefix(prompt.text_ids.as_slice()) {
        Some(tail) => Ok(tail.to_vec()),
        None => Ok(encode(tok, target_text, what)?.get_ids().to_vec()),
    }
}

/// Encodes the prompt, cutting the end of the input until the whole prompt
/// (leading special tokens included) fits the prompt budget of `limits`.
pub(crate) fn encode_prompt(
    tok: &Tokenizer,
    template: &PromptTemplate,
    input: &str,
    limits: &TokenLimits,
    id: &str,
) -> Result<EncodedPrompt, DatasetError> {
    let budget = limits.prompt_budget()?;
    let leading = leading_special_ids(tok)?;
    let what = format!("the prompt of `{id}`");
    let mut input: Vec<char> = input.chars().collect();
    loop {
        let text: String = input.iter().collect();
        let parts = template.parts(&text);
        let full = parts.text();
        let enc = encode(tok, &full, &what)?;
        let ids = with_leading(&leading, enc.get_ids());
        let total = ids.len();
        if total <= budget {
            return Ok(EncodedPrompt { text: full, text_ids: enc.get_ids().to_vec(), ids });
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
