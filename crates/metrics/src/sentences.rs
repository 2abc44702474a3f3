//! Sentence splitting for ROUGE-Lsum. rouge-score's `rougeLsum` takes each line of a text
//! as a sentence, and its users put one sentence per line first (usually with nltk's
//! `sent_tokenize`); given a generated paragraph without newlines, Lsum is just L.
//!
//! The splitter is Unicode's sentence boundaries (UAX #29, via `unicode-segmentation`),
//! applied within each existing line. Unlike nltk's punkt it knows no abbreviations:
//! `Mr. Smith left.` is two sentences. A full stop before a lower-case word, a decimal
//! point (`3.5`) and a closing quote after `.` do not split.

use unicode_segmentation::UnicodeSegmentation;

/// `text` with one sentence per line: lines split at sentence boundaries, each sentence
/// trimmed, empty ones dropped.
pub fn sentence_lines(text: &str) -> String {
    text.lines().flat_map(|line| line.unicode_sentences()).map(str::trim).filter(|s| !s.is_empty()).collect::<Vec<_>>().join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_go_one_per_line() {
        assert_eq!(sentence_lines("The cat sat. A dog barked! Why?"), "The cat sat.\nA dog barked!\nWhy?");
        assert_eq!(sentence_lines("It rose 3.5 percent. Then it fell."), "It rose 3.5 percent.\nThen it fell.");
        assert_eq!(sentence_lines("One line\n\n  Two lines. Three  \n"), "One line\nTwo lines.\nThree");
        // No abbreviation list: documented above.
        assert_eq!(sentence_lines("Mr. Smith left."), "Mr.\nSmith left.");
        // A full stop before a lower-case word does not end a sentence.
        assert_eq!(sentence_lines("see fig. three here."), "see fig. three here.");
        assert_eq!(sentence_lines(""), "");
    }
}
