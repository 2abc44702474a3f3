//! Error text on one line. `loran` promises one `error:` line per failure, and a failed
//! cell's `result.json` keeps its error as one line; messages come from us, from libraries
//! (parsers print snippets, polars prints advice on several lines, candle appends a
//! backtrace under `RUST_BACKTRACE`) and quote user text (a grid key, a task name, a CSV
//! value) that may hold any character.

use std::error::Error;

/// `text` as one line of an error message:
///
/// - **inside a `backtick` span**, every control character and line separator is escaped
///   as in Rust source (`\n`, `\t`, `\u{1b}`, `\u{2028}`). Backticks are how serde, polars
///   and our own messages quote user text, so a key `a\nb` stays exact and unlike a key
///   `a b`, and no quoted text can move the terminal's cursor;
/// - **outside them**, a run of blanks holding a line break (or a tab) becomes one space, so
///   a library's multi-line message (a parser's snippet, polars' advice) reads as one
///   sentence with nothing lost; other control characters are escaped there too;
/// - **a backtrace** a library appended (a line starting `0: ` after its indentation, the
///   first frame of a std backtrace) is dropped with all that follows: the tool never
///   prints one, whatever `RUST_BACKTRACE` says;
/// - the ends are trimmed.
///
/// A backtick without a partner quotes to the end of the text (escaping is the safe side).
/// Applying it twice gives the same line, so each layer may apply it again; that is why a
/// backslash the user typed is not doubled (`\n` typed as two characters reads like an
/// escaped newline: the one ambiguity kept).
pub fn one_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut quoted = false;
    let mut rest = text.trim();
    while let Some(c) = rest.chars().next() {
        if !quoted && c.is_whitespace() {
            let end = rest.find(|c: char| !c.is_whitespace()).unwrap_or(rest.len());
            let (blanks, after) = rest.split_at(end);
            if !blanks.contains(breaks) {
                out.push_str(blanks);
            } else if after.starts_with("0: ") && blanks.contains(['\n', '\r']) {
                break;
            } else {
                out.push(' ');
            }
            rest = after;
            continue;
        }
        if c == '`' {
            quoted = !quoted;
        }
        if breaks(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// Characters that could break or rewrite a terminal line.
fn breaks(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}')
}

/// `error` and its causes (following `source()`), each through [`one_line`], joined by
/// `: ` as anyhow's `{:#}` joins them. A cause whose text is already on the line is left
/// out: a context such as `reading x: {e}`, or thiserror's `{source}` in a message, quotes
/// its cause, which would otherwise be said twice. For an `anyhow::Error` pass `&*e`.
pub fn chain_line(error: &(dyn Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(error);
    while let Some(e) = next {
        let part = one_line(&e.to_string());
        if !part.is_empty() && !parts.iter().any(|p| p.contains(&part)) {
            parts.push(part);
        }
        next = e.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;
    use std::fmt;

    #[test]
    fn a_plain_message_is_unchanged() {
        let m = "g.yaml:3:5: `base.train.steps`: `many` is not a whole number >= 0, e.g. 200";
        assert_eq!(one_line(m), m);
        assert_eq!(one_line("plain `日本` text,  two spaces kept"), "plain `日本` text,  two spaces kept");
    }

    #[test]
    fn quoted_user_text_is_escaped_and_stays_unambiguous() {
        assert_eq!(one_line("g.yaml:3: unknown task `a\nb\tc\u{2028}`"), "g.yaml:3: unknown task `a\\nb\\tc\\u{2028}`");
        assert_ne!(one_line("unknown field `a\nb`"), one_line("unknown field `a b`"));
        assert_eq!(one_line("value `\u{1b}[2Jx\r`"), "value `\\u{1b}[2Jx\\r`");
        assert_eq!(one_line("open `a\nb"), "open `a\\nb", "an unclosed quote escapes to the end");
    }

    #[test]
    fn a_multi_line_library_message_reads_as_one_sentence() {
        let snippet = "error: line 3 column 7: unknown field `x`\n --> <input>:3:7\n  |\n3 |   x: 1\n  |   ^\n";
        assert_eq!(one_line(snippet), "error: line 3 column 7: unknown field `x` --> <input>:3:7 | 3 |   x: 1 |   ^");
        let polars = "could not parse `a\nb` as dtype `i64` at column 'n'\n\nThe current offset in the file is 4 bytes.\n\nYou might want to try:\n- increasing `infer_schema_length`";
        assert_eq!(
            one_line(polars),
            "could not parse `a\\nb` as dtype `i64` at column 'n' The current offset in the file is 4 bytes. You might want to try: - increasing `infer_schema_length`"
        );
        assert_eq!(one_line("tab\there, \u{1b}[31mred"), "tab here, \\u{1b}[31mred");
    }

    #[test]
    fn an_appended_backtrace_is_dropped() {
        let e = "shape mismatch in matmul, lhs: [2, 3], rhs: [4, 5]\n   0: candle_core::error::Error::bt\n             at src/error.rs:263:25\n   1: main\n";
        assert_eq!(one_line(e), "shape mismatch in matmul, lhs: [2, 3], rhs: [4, 5]");
        assert_eq!(one_line("rank `\n   0: x`"), "rank `\\n   0: x`", "quoted text is never a backtrace");
    }

    #[test]
    fn applying_it_twice_changes_nothing() {
        for m in ["a `b\nc` d\n  e", "`x\u{2028}`\r\ny", "odd ` quote\n", "  ends \n"] {
            assert_eq!(one_line(&one_line(m)), one_line(m), "{m:?}");
            assert!(!one_line(m).contains(['\n', '\r', '\u{2028}']), "{m:?}");
        }
    }

    #[derive(Debug)]
    struct Io(&'static str);
    impl fmt::Display for Io {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.0)
        }
    }
    impl Error for Io {}

    /// A thiserror-style error that quotes its cause in its message and also returns it.
    #[derive(Debug)]
    struct Quoting(Io);
    impl fmt::Display for Quoting {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "cannot write x.json: {}; free space", self.0)
        }
    }
    impl Error for Quoting {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn a_cause_chain_is_one_line_without_repeats() {
        let e = anyhow::Error::new(Io("No space left on device")).context("writing `a\nb`").context("cell `r8`");
        assert_eq!(chain_line(&*e), "cell `r8`: writing `a\\nb`: No space left on device");
        let e = anyhow::Error::new(Quoting(Io("No space left on device"))).context("cell `r8`");
        assert_eq!(chain_line(&*e), "cell `r8`: cannot write x.json: No space left on device; free space");
        let e = anyhow::Error::new(Io("bad header\n   0: backtrace::capture")).context("reading model.gguf");
        assert_eq!(chain_line(&*e), "reading model.gguf: bad header");
        let e = Io("");
        assert_eq!(chain_line(&e), "");
        let e = Err::<(), _>(Io("root")).context("outer").unwrap_err();
        assert_eq!(chain_line(e.as_ref()), "outer: root");
    }
}
