//! ChatML prompts (`<|im_start|>role\ncontent<|im_end|>\n`), as SmolLM2-Instruct expects.

/// Who says a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Instructions for the assistant.
    System,
    /// The human turn.
    User,
    /// The model turn.
    Assistant,
}

impl Role {
    fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }
}

/// Renders messages in ChatML and, when `add_generation_prompt`, opens the assistant turn.
///
/// No system message is invented: pass one explicitly if the model wants it.
pub fn chatml(messages: &[(Role, &str)], add_generation_prompt: bool) -> String {
    let mut out = String::new();
    for (role, content) in messages {
        out.push_str("<|im_start|>");
        out.push_str(role.as_str());
        out.push('\n');
        out.push_str(content);
        out.push_str("<|im_end|>\n");
    }
    if add_generation_prompt {
        out.push_str("<|im_start|>assistant\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_a_user_turn_with_generation_prompt() {
        let p = chatml(&[(Role::User, "What is the capital of France?")], true);
        assert_eq!(p, "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n");
        let p = chatml(&[(Role::System, "Be brief."), (Role::User, "Hi")], false);
        assert_eq!(p, "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n");
    }
}
