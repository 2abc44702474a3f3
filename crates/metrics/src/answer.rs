//! Reading a classification answer out of generated text: the classification
//! scorer ([`crate::scoring::classification`]) parses every answer with it.

/// The label the model wrote: the first non-empty line of `generated`, with
/// whitespace and ASCII punctuation trimmed from both ends, compared
/// case-insensitively with each label. Returns the label as spelled in
/// `labels`, or `None` when the line is not exactly one of them.
pub fn parse_label(generated: &str, labels: &[String]) -> Option<String> {
    let line = generated.lines().map(str::trim).find(|l| !l.is_empty())?;
    let answer = line.trim_matches(|c: char| c.is_whitespace() || c.is_ascii_punctuation());
    if answer.is_empty() {
        return None;
    }
    labels
        .iter()
        .find(|l| l.to_lowercase() == answer.to_lowercase())
        .cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> Vec<String> {
        ["fork", "ilug", "rpm-list", "exmh-users", "exmh-workers"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    #[test]
    fn exact_first_line_case_insensitive() {
        assert_eq!(parse_label("fork", &labels()).as_deref(), Some("fork"));
        assert_eq!(parse_label("  ILUG.\n", &labels()).as_deref(), Some("ilug"));
        assert_eq!(
            parse_label("Rpm-List\nbecause it talks about rpm", &labels()).as_deref(),
            Some("rpm-list")
        );
        assert_eq!(
            parse_label("\n\n\"exmh-users\"", &labels()).as_deref(),
            Some("exmh-users")
        );
        assert_eq!(
            parse_label("**exmh-workers**", &labels()).as_deref(),
            Some("exmh-workers")
        );
    }

    #[test]
    fn anything_else_is_none() {
        assert_eq!(parse_label("", &labels()), None);
        assert_eq!(parse_label("...", &labels()), None);
        assert_eq!(parse_label("The answer is fork", &labels()), None);
        assert_eq!(parse_label("exmh", &labels()), None);
        assert_eq!(parse_label("fork ilug", &labels()), None);
        assert_eq!(parse_label("spam", &labels()), None);
        // Only the first line counts.
        assert_eq!(parse_label("I think\nfork", &labels()), None);
    }
}
