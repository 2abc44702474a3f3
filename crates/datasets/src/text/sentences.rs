//! A small sentence counter, good enough to tell one-sentence standfirsts
//! from multi-sentence ones in English news text.
//!
//! A boundary is `.`, `!` or `?` (possibly repeated), optionally followed by
//! closing quotes or brackets, then whitespace, then optionally opening
//! quotes or brackets, then an upper-case letter or a digit. A `.` does not
//! end a sentence after a known abbreviation (`Mr.`, `Sen.`, `Feb.`, ...), a
//! single letter (an initial, as in `Donald J. Trump`) or a dotted acronym
//! (`U.S.`).

/// Titles, months and other abbreviations that are followed by a capital
/// without ending the sentence (compared in lower case, without the dot).
const ABBREVIATIONS: &[&str] = &[
    "mr", "mrs", "ms", "dr", "prof", "sen", "rep", "gov", "gen", "lt", "col", "sgt", "capt",
    "cmdr", "adm", "maj", "rev", "st", "jr", "sr", "mt", "ft", "no", "vs", "v", "etc", "inc",
    "corp", "co", "ltd", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct",
    "nov", "dec", "pres", "supt", "insp", "det", "hon", "messrs",
];

const CLOSERS: &[char] = &['"', '\'', ')', ']', '\u{201d}', '\u{2019}'];
const OPENERS: &[char] = &['"', '\'', '(', '[', '\u{201c}', '\u{2018}'];

/// Number of sentences in `text` (0 for blank text).
pub fn sentence_count(text: &str) -> usize {
    let chars: Vec<char> = text.trim().chars().collect();
    if chars.is_empty() {
        return 0;
    }
    let mut count = 1;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if !matches!(c, '.' | '!' | '?') {
            i += 1;
            continue;
        }
        let terminator_at = i;
        let mut j = i;
        while j < chars.len() && matches!(chars[j], '.' | '!' | '?') {
            j += 1;
        }
        while j < chars.len() && CLOSERS.contains(&chars[j]) {
            j += 1;
        }
        let ws_start = j;
        while j < chars.len() && chars[j].is_whitespace() {
            j += 1;
        }
        let had_space = j > ws_start;
        while j < chars.len() && OPENERS.contains(&chars[j]) {
            j += 1;
        }
        let next_starts_sentence =
            j < chars.len() && (chars[j].is_uppercase() || chars[j].is_ascii_digit());
        if had_space
            && next_starts_sentence
            && !(c == '.' && is_abbreviation(&chars[..terminator_at]))
        {
            count += 1;
        }
        i = ws_start.max(i + 1);
    }
    count
}

/// Whether the word just before a `.` is an abbreviation, an initial or a dotted acronym.
fn is_abbreviation(before: &[char]) -> bool {
    let start = before
        .iter()
        .rposition(|c| c.is_whitespace() || OPENERS.contains(c))
        .map_or(0, |p| p + 1);
    let word: String = before[start..].iter().collect();
    if word.is_empty() {
        return false;
    }
    if word.contains('.') {
        return true; // U.S, N.Y, e.g
    }
    if word.chars().count() == 1 && word.chars().all(char::is_alphabetic) {
        return true; // an initial
    }
    ABBREVIATIONS.contains(&word.to_lowercase().as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_sentence() {
        for s in [
            "The prime minister has met Scotland's first minister in a Glasgow hotel.",
            "Sen. Kirsten Gillibrand (D-N.Y.) hopes President Donald J. Trump will be receptive to a paid leave plan.",
            "The U.S. Senate voted on Feb. 7 to confirm Betsy DeVos",
            "He said \"we will win.\"",
            "Growth was 2.5 percent in 2016, the ministry said.",
            "No question mark? no new sentence when lower case follows",
        ] {
            assert_eq!(sentence_count(s), 1, "{s}");
        }
    }

    #[test]
    fn several_sentences() {
        assert_eq!(
            sentence_count("Zircon flies fast. It will be tested soon."),
            2
        );
        assert_eq!(
            sentence_count("Fed up? Fancy the tropics instead? Consider Kourou."),
            3
        );
        assert_eq!(
            sentence_count("He said \"we will win.\" The crowd cheered."),
            2
        );
        assert_eq!(sentence_count("Rain fell. 2016 was dry."), 2);
        assert_eq!(sentence_count(""), 0);
        assert_eq!(sentence_count("   "), 0);
    }
}
