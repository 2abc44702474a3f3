//! Plain-text helpers shared by the loaders.

pub mod repair;
pub mod sentences;

/// Collapses every run of whitespace (including newlines) to one space and trims.
pub fn collapse_whitespace(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Cuts `text` to at most `max_chars` characters, at the last whitespace
/// before the limit when there is one in the second half; trailing
/// whitespace is removed. Text within the limit is returned unchanged.
pub fn truncate_chars(text: &str, max_chars: usize) -> String {
    let Some((byte_end, _)) = text.char_indices().nth(max_chars) else {
        return text.to_string();
    };
    let head = &text[..byte_end];
    let cut = match head.rfind(char::is_whitespace) {
        Some(ws) if head[..ws].chars().count() >= max_chars / 2 => &head[..ws],
        _ => head,
    };
    cut.trim_end().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collapse() {
        assert_eq!(collapse_whitespace("  a \n\t b   c "), "a b c");
    }

    #[test]
    fn truncate_at_word_boundary() {
        assert_eq!(truncate_chars("short", 10), "short");
        assert_eq!(
            truncate_chars("hello wonderful world", 18),
            "hello wonderful"
        );
        // No whitespace in the second half: cut mid-word rather than lose half the budget.
        assert_eq!(truncate_chars("hello wonderful world", 12), "hello wonder");
        assert_eq!(truncate_chars("abcdefghij klm", 5), "abcde");
        assert_eq!(truncate_chars("ééééé ééééé", 8), "ééééé");
        assert!(
            truncate_chars("word ".repeat(100).as_str(), 50)
                .chars()
                .count()
                <= 50
        );
    }
}
