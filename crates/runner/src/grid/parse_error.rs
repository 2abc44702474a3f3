//! Parser messages made into one-line grid errors: `file:line:column: `key`: what
//! is wrong; what is valid or how to fix it`.

use crate::grid::yaml_path::{key_path, scalar_at};
use std::path::Path;

/// The top-level keys of a grid file, for errors.
const GRID_KEYS: &str = "name, base, axes, bundles, exclude, seeds, report, include";

/// `file:line:column: message` from a parser message such as
/// `error: line 3 column 22: unknown field ...` followed by a source excerpt;
/// `text` is the file's text, to name the key at that position.
pub fn located(path: &Path, text: &str, msg: &str) -> String {
    let first = msg.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or_default();
    let first = first.strip_prefix("error: ").unwrap_or(first);
    let position = first.strip_prefix("line ").and_then(|rest| {
        let (line, rest) = rest.split_once(" column ")?;
        let (column, message) = rest.split_once(": ")?;
        Some((line.parse::<usize>().ok()?, column.parse::<usize>().ok()?, message))
    });
    let Some((line, column, message)) = position else {
        return format!("{}: {}", path.display(), explain(first, None, ""));
    };
    if is_syntax_error(message) {
        return format!(
            "{}:{line}:{column}: YAML syntax error: {message}; check the indentation here and on the line above \
             (spaces only, children indented under their key) and that every [ and {{ is closed",
            path.display()
        );
    }
    let key = key_path(text, line, column);
    // Name the key unless the message already does (`adapter.r: ...`, ``unknown field `x` ``).
    let named = key.as_deref().is_none_or(|k| {
        let last = k.rsplit('.').next().unwrap_or(k);
        let short = k.strip_prefix("base.").unwrap_or(k);
        message.contains(&format!("`{last}`")) || message.starts_with(short)
    });
    let prefix = match (&key, named) {
        (Some(k), false) => format!("`{k}`: "),
        _ => String::new(),
    };
    let value = scalar_at(text, line, column).unwrap_or_default();
    format!("{}:{line}:{column}: {prefix}{}", path.display(), explain(message, key.as_deref(), &value))
}

/// `message` kept on one line: control characters and line separators (a `"a\nb"` name,
/// task or key echoed in an error) are written as escapes (`\n`), so every grid error,
/// whatever user text it quotes, is the single line `loran` promises.
pub fn one_line(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    for c in message.chars() {
        if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// Messages of the YAML scanner and parser rather than of serde.
fn is_syntax_error(message: &str) -> bool {
    ["while parsing", "while scanning", "did not find expected", "illegal placement", "not allowed", "unexpected end of", "invalid indentation", "found character that cannot start"]
        .iter()
        .any(|p| message.contains(p))
}

/// The parser's message with what is valid or how to fix it; `key` is the key at the
/// error (None at the top level) and `value` the scalar there.
fn explain(message: &str, key: Option<&str>, value: &str) -> String {
    let message = plain_types(message, value);
    if message.contains("missing field `base`") {
        format!("{message}; every grid states its base run config: add `base: {{}}` for all defaults, or e.g. `base: {{ model: smollm2-135m, task: news-standfirst }}`")
    } else if message.contains("missing field `name`") {
        format!("{message}; add `name: <folder name>` (results go to results/<name>/)")
    } else if message.contains("expected struct GridSpec") || (key.is_none() && message.contains("expected mapping")) {
        format!("a grid file must be a mapping with the keys {GRID_KEYS}, not a list or a scalar ({message})")
    } else if message.contains("expected struct RunConfig") {
        format!("{message}; write `base: {{}}` for all defaults")
    } else if key.is_none() && message.starts_with("unknown field") && message.ends_with("seeds, report") {
        // `include` is read before the grid's own keys, so serde does not list it.
        format!("{message}, include")
    } else if let Some((before, _)) = message.split_once(", set DuplicateKeyPolicy") {
        format!("{before}; give each key once")
    } else {
        message
    }
}

/// Rust type names in parser messages in the words of a YAML file.
fn plain_types(message: &str, value: &str) -> String {
    let shown = if value.is_empty() { String::new() } else { format!("`{value}` ") };
    for (rust, plain) in [
        ("usize", "a whole number >= 0, e.g. 200"),
        ("u64", "a whole number >= 0, e.g. 200"),
        ("u32", "a whole number >= 0"),
        ("f64", "a number, e.g. 2.0e-4"),
        ("f32", "a number, e.g. 0.1"),
        ("bool", "true or false"),
    ] {
        if message == format!("invalid {rust}") {
            return format!("{shown}is not {plain}");
        }
        let expected = format!("expected {rust}");
        if message.ends_with(&expected) {
            return format!("{}expected {plain}", &message[..message.len() - rust.len() - "expected ".len()]);
        }
    }
    message.replace("expected a boolean", "expected true or false")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_key_and_what_is_valid() {
        let text = "name: g\nbase:\n  train:\n    steps: many\n";
        let e = located(Path::new("g.yaml"), text, "error: line 4 column 12: invalid u64\n  | snippet");
        assert_eq!(e, "g.yaml:4:12: `base.train.steps`: `many` is not a whole number >= 0, e.g. 200");
        let e = located(Path::new("g.yaml"), text, "line 4 column 12: invalid type: string \"x\", expected f64");
        assert!(e.ends_with("invalid type: string \"x\", expected a number, e.g. 2.0e-4"), "{e}");
        let e = located(Path::new("g.yaml"), "- a\n", "line 1 column 1: expected mapping start");
        assert!(e.contains("must be a mapping with the keys name, base"), "{e}");
        let e = located(Path::new("g.yaml"), "includes: x\n", "line 1 column 1: unknown field `includes`, expected one of name, base, axes, bundles, exclude, seeds, report");
        assert!(e.ends_with("expected one of name, base, axes, bundles, exclude, seeds, report, include"), "{e}");
    }

    #[test]
    fn quoted_user_text_stays_on_one_line() {
        assert_eq!(one_line("g.yaml:3: unknown task `a\nb\tc\u{2028}`"), "g.yaml:3: unknown task `a\\nb\\tc\\u{2028}`");
        assert_eq!(one_line("plain `日本` text"), "plain `日本` text");
    }

    #[test]
    fn syntax_errors_say_where_to_look() {
        let e = located(Path::new("g.yaml"), "a: [1\nb: 2\n", "line 2 column 2: illegal placement of ':' indicator");
        assert!(e.starts_with("g.yaml:2:2: YAML syntax error: illegal") && e.contains("every [ and { is closed"), "{e}");
        let e = located(Path::new("g.yaml"), "a:\n  b: 1, b: 2\n", "line 2 column 9: duplicate mapping key: b, set DuplicateKeyPolicy in Options if acceptable");
        assert!(e.ends_with("duplicate mapping key: b; give each key once"), "{e}");
    }
}
