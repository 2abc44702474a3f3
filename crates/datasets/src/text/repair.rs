//! Repair of the mangled punctuation in NewsArticles.csv.
//!
//! Somewhere upstream the file's curly quotes and dashes were squashed into
//! ASCII. The damage follows a few patterns, measured on the real file:
//!
//! * a right quote, an apostrophe or an em dash followed by a space became
//!   `"?` (5,783 times in the article texts): `choice,"?Sen.`,
//!   `teachers"?unions`, `behalf "? and`, `Medicaid-"?which`;
//! * an apostrophe inside a word became `"`: `don"t`, `they"ve` (about 1,200);
//! * a non-breaking space became `-`: `said.-"We had`, `failure,-the`,
//!   but also `decision-that` (indistinguishable from a real compound, so
//!   only the cases after `. ! ? , ; :` are repaired);
//! * 13 texts end with a stray `,-1"` (the tail of a broken CSV row);
//! * accented letters and currency signs became U+FFFD (`Sinn F��in`,
//!   `�18m`) or `?` (`Schw?bisch`), and the character after an opening
//!   quote is sometimes replaced (`"Hinancial abuse"`).
//!
//! [`repair_mojibake`] undoes the first four where the context decides the
//! answer: `"?` after `, . ! ? ; : ) ]` is a closing quote plus a space;
//! after a space, a hyphen or another quote it is an em dash; after a letter
//! or digit it is a closing quote when a double quote is open, and an
//! apostrophe (`teachers' unions`) otherwise. The lost letters (U+FFFD,
//! `?`) cannot be recovered and are left as they are.

/// Characters that were zero-width or non-breaking spaces in the source.
fn normalize_spaces(c: char) -> Option<char> {
    match c {
        '\u{a0}' | '\u{2007}' | '\u{202f}' => Some(' '),
        '\u{200b}' | '\u{200c}' | '\u{200d}' | '\u{feff}' => None,
        c => Some(c),
    }
}

/// The tail some rows carry from a broken CSV export.
const BROKEN_ROW_TAIL: &str = ",-1\"";

/// Repairs the mangled quotes, apostrophes, dashes and spaces described in
/// the module docs, and collapses whitespace runs to single spaces.
pub fn repair_mojibake(text: &str) -> String {
    let cleaned: String = text.chars().filter_map(normalize_spaces).collect();
    let trimmed = cleaned.trim_end();
    let trimmed = trimmed.strip_suffix(BROKEN_ROW_TAIL).unwrap_or(trimmed);
    let chars: Vec<char> = trimmed.chars().collect();
    let mut out = String::with_capacity(trimmed.len() + 16);
    let mut quote_open = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let prev = out.chars().next_back();
        if c == '"' && chars.get(i + 1) == Some(&'?') {
            let next = chars.get(i + 2).copied();
            repair_quote_mark(&mut out, prev, next, &mut quote_open);
            i += 2;
            continue;
        }
        let next = chars.get(i + 1).copied();
        if c == '"' {
            if prev.is_some_and(char::is_alphabetic) && next.is_some_and(char::is_alphabetic) {
                out.push('\''); // don"t -> don't
            } else {
                quote_open = prev.is_none_or(|p| p.is_whitespace() || "([-\u{2014}/".contains(p));
                out.push('"');
            }
        } else if c == '-'
            && ends_sentence(&out)
            && next.is_none_or(|n| n.is_whitespace() || n == '"' || n.is_uppercase())
        {
            out.push(' '); // said.-"We -> said. "We
        } else if c == '-'
            && prev.is_some_and(|p| ",;:".contains(p))
            && next.is_some_and(|n| !n.is_whitespace())
        {
            out.push(' '); // failure,-the -> failure, the
        } else {
            out.push(c);
        }
        i += 1;
    }
    super::collapse_whitespace(&out)
}

/// Whether `out` ends with sentence-final punctuation, possibly inside a closing quote.
fn ends_sentence(out: &str) -> bool {
    let mut rev = out.chars().rev();
    match rev.next() {
        Some('.' | '!' | '?') => true,
        Some('"') => matches!(rev.next(), Some('.' | '!' | '?')),
        _ => false,
    }
}

/// Writes the repair of one `"?` given the characters around it.
fn repair_quote_mark(
    out: &mut String,
    prev: Option<char>,
    next: Option<char>,
    quote_open: &mut bool,
) {
    let space_after = |out: &mut String| {
        if next.is_some_and(|n| !n.is_whitespace() && !",.;:)]".contains(n)) {
            out.push(' ');
        }
    };
    match prev {
        None => out.push('"'),
        Some(p) if p.is_whitespace() || p == '"' || p == '-' || p == '\u{2014}' => {
            if next.is_some_and(|n| n.is_ascii_digit()) {
                // An opening quote whose next character was lost: `"?0 Minutes`.
                out.push('"');
                *quote_open = true;
                return;
            }
            if p == '-' {
                out.pop();
            }
            if !out.ends_with(' ') {
                out.push(' ');
            }
            out.push('\u{2014}');
            if next.is_some_and(|n| !n.is_whitespace()) {
                out.push(' ');
            }
        }
        Some(p) if ",.!?;:)]".contains(p) => {
            out.push('"');
            *quote_open = false;
            space_after(out);
        }
        Some(p) if p.is_alphanumeric() => {
            if *quote_open {
                out.push('"');
                *quote_open = false;
            } else {
                out.push('\'');
            }
            space_after(out);
        }
        Some(_) => {
            out.push('"');
            *quote_open = false;
            space_after(out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closing_quotes_after_punctuation_get_their_space_back() {
        assert_eq!(
            repair_mojibake(
                "\"It is hard to imagine a worse choice,\"?Sen. Elizabeth Warren said."
            ),
            "\"It is hard to imagine a worse choice,\" Sen. Elizabeth Warren said."
        );
        assert_eq!(
            repair_mojibake("\"I didn't need the sharks.\"?\"I never said that.\""),
            "\"I didn't need the sharks.\" \"I never said that.\""
        );
    }

    #[test]
    fn possessives_and_quoted_words_are_told_apart() {
        assert_eq!(
            repair_mojibake("The Senate voted on DeVos\"?highly contentious nomination."),
            "The Senate voted on DeVos' highly contentious nomination."
        );
        assert_eq!(
            repair_mojibake(
                "opposition from teachers\"?unions and a \"grans-regional threat\"?that grows"
            ),
            "opposition from teachers' unions and a \"grans-regional threat\" that grows"
        );
    }

    #[test]
    fn dashes() {
        assert_eq!(
            repair_mojibake("on her behalf \"? and Russian"),
            "on her behalf \u{2014} and Russian"
        );
        assert_eq!(
            repair_mojibake("in the public eye \"?and has"),
            "in the public eye \u{2014} and has"
        );
        assert_eq!(
            repair_mojibake("open up Medicaid-\"?which is"),
            "open up Medicaid \u{2014} which is"
        );
    }

    #[test]
    fn apostrophes_inside_words() {
        assert_eq!(
            repair_mojibake("\"I don\"t know,\"?she said."),
            "\"I don't know,\" she said."
        );
        assert_eq!(repair_mojibake("they\"ve gone"), "they've gone");
    }

    #[test]
    fn spaces_and_row_tails() {
        assert_eq!(
            repair_mojibake("Clapper said.-\"We had no evidence.\""),
            "Clapper said. \"We had no evidence.\""
        );
        assert_eq!(repair_mojibake("a world tour.-"), "a world tour.");
        assert_eq!(
            repair_mojibake("ended in failure,-the palace said"),
            "ended in failure, the palace said"
        );
        assert_eq!(
            repair_mojibake("a long-term plan, -5 degrees"),
            "a long-term plan, -5 degrees"
        );
        assert_eq!(repair_mojibake("U.S.-led forces"), "U.S.-led forces");
        assert_eq!(repair_mojibake("a\u{a0}b\u{200b}c   d"), "a bc d");
        assert_eq!(
            repair_mojibake("and it should be nonpartisan.\"?,-1\""),
            "and it should be nonpartisan.\""
        );
    }

    #[test]
    fn clean_text_and_lost_letters_are_left_alone() {
        let clean = "He said \"no\" (twice) - it's over. Sinn F\u{fffd}\u{fffd}in won?";
        assert_eq!(repair_mojibake(clean), clean);
        assert!(!repair_mojibake("x\"?y \"?z,\"?w").contains("\"?"));
    }
}
