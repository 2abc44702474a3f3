//! Parser errors made into one-line grid errors: `file:line:column: `key`: what
//! is wrong; what is valid or how to fix it`. serde-saphyr's errors are told apart by
//! their kind (the variants of [`YamlError`]) and placed by their [`serde_saphyr::Location`],
//! not by the text they render to.

use crate::grid::yaml_path::{key_path, scalar_at};
use serde_saphyr::{DefaultMessageFormatter, Error as YamlError, ExternalMessageSource, MessageFormatter};
use std::path::Path;

/// The top-level keys of a grid file, for errors.
const GRID_KEYS: &str = "name, base, axes, bundles, exclude, seeds, report, lr_sweep, include";

/// `file:line:column: message` for `error`, an error of parsing `text` (the file at `path`),
/// naming the key at that position.
pub fn located(path: &Path, text: &str, error: &YamlError) -> String {
    let kind = original(error);
    // The message alone: the rendered error adds `line L column C` and a snippet.
    let message = DefaultMessageFormatter.format_message(kind).into_owned();
    let Some(at) = error.location() else {
        return format!("{}: {}", path.display(), explain(kind, message, None, ""));
    };
    let (line, column) = (at.line() as usize, at.column() as usize);
    if is_syntax_error(kind) {
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
    format!("{}:{line}:{column}: {prefix}{}", path.display(), explain(kind, message, key.as_deref(), &value))
}

/// The error for a grid without its required top-level `field` (`name` or `base`) in any
/// of its files (merged grids: no one file is at fault, so no line).
pub fn missing_field(path: &Path, field: &str) -> String {
    format!("{}: {}", path.display(), missing(field))
}

/// `missing field `name``, with how to add it.
fn missing(field: &str) -> String {
    match field {
        "base" => "missing field `base`; every grid states its base run config: add `base: {}` for all defaults, or e.g. `base: { model: smollm2-135m, task: news-standfirst }`".into(),
        "name" => "missing field `name`; add `name: <folder name>` (results go to results/<name>/)".into(),
        _ => format!("missing field `{field}`"),
    }
}

/// The error itself, out of the wrappers that add a snippet or an alias's place.
fn original(mut error: &YamlError) -> &YamlError {
    while let YamlError::WithSnippet { error: inner, .. } | YamlError::AliasError { error: inner, .. } = error {
        error = inner;
    }
    error
}

/// Errors of the YAML scanner and parser (the text is not YAML), rather than of serde
/// (the YAML does not fit a grid).
fn is_syntax_error(kind: &YamlError) -> bool {
    match kind {
        YamlError::ExternalMessage { source, .. } => matches!(**source, ExternalMessageSource::Parser(_)),
        YamlError::Eof { .. } | YamlError::IndentationError { .. } => true,
        _ => false,
    }
}

/// `message` (the text of `kind`) with what is valid or how to fix it; `key` is the key
/// at the error (None at the top level) and `value` the scalar there.
fn explain(kind: &YamlError, message: String, key: Option<&str>, value: &str) -> String {
    // What was expected is a phrase, not a kind: serde-saphyr's own (`mapping start`), or
    // serde's `Expected` (a Display: `u64`, `a boolean`), so those are compared as text.
    let mapping_expected = matches!(kind, YamlError::Unexpected { expected, .. } if expected.starts_with("mapping"));
    match kind {
        YamlError::SerdeMissingField { field, .. } if key.is_none() => missing(field),
        _ if mapping_expected && key.is_none() => {
            format!("a grid file must be a mapping with the keys {GRID_KEYS}, not a list or a scalar ({message})")
        }
        _ if mapping_expected && key == Some("base") => format!("{message}; write `base: {{}}` for all defaults"),
        // `include` is read before the grid's own keys, so serde does not list it.
        YamlError::SerdeUnknownField { expected, .. } if key.is_none() && !expected.contains(&"include") => format!("{message}, include"),
        YamlError::DuplicateMappingKey { key: Some(dup), .. } => format!("duplicate mapping key `{dup}`; give each key once"),
        YamlError::DuplicateMappingKey { key: None, .. } => "duplicate mapping key; give each key once".into(),
        YamlError::NonFiniteFloat { value, .. } => {
            format!("`{value}` is not a finite number; every number in a grid must be finite: give one inside the key's range (README, \"Valid ranges\")")
        }
        YamlError::InvalidScalar { ty, .. } => match plain(ty) {
            Some(plain) if value.is_empty() => format!("is not {plain}"),
            Some(plain) => format!("`{value}` is not {plain}"),
            None => message,
        },
        YamlError::SerdeInvalidType { unexpected, expected, .. } => match plain(expected) {
            Some(plain) => format!("invalid type: {unexpected}, expected {plain}"),
            None => message,
        },
        YamlError::SerdeInvalidValue { unexpected, expected, .. } => match plain(expected) {
            Some(plain) => format!("invalid value: {unexpected}, expected {plain}"),
            None => message,
        },
        _ => message,
    }
}

/// A Rust type name or serde's word for it, as a YAML file would say it.
fn plain(rust: &str) -> Option<&'static str> {
    Some(match rust {
        "usize" | "u64" => "a whole number >= 0, e.g. 200",
        "u32" => "a whole number >= 0",
        "f64" => "a number, e.g. 2.0e-4",
        "f32" => "a number, e.g. 0.1",
        "bool" | "a boolean" => "true or false",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grid::spec::GridSpec;

    /// The one-line error of parsing `text` as a grid file `g.yaml`.
    fn error(text: &str) -> String {
        let e = serde_saphyr::from_str::<GridSpec>(text).expect_err(text);
        located(Path::new("g.yaml"), text, &e)
    }

    #[test]
    fn messages_name_the_key_and_what_is_valid() {
        let e = error("name: g\nbase:\n  train:\n    steps: many\n");
        assert_eq!(e, "g.yaml:4:12: `base.train.steps`: `many` is not a whole number >= 0, e.g. 200");
        let e = error("name: g\nbase: {}\nseeds: [0, a]\n");
        assert_eq!(e, "g.yaml:3:12: `seeds`: `a` is not a whole number >= 0, e.g. 200");
        let e = error("- a\n");
        assert!(e.starts_with("g.yaml:1:1: a grid file must be a mapping with the keys name, base"), "{e}");
        let e = error("name: g\nbase: []\n");
        assert_eq!(e, "g.yaml:2:7: `base`: expected mapping start; write `base: {}` for all defaults");
        let e = error("name: g\nincludes: x\n");
        assert!(e.ends_with("expected one of name, base, axes, bundles, exclude, seeds, report, lr_sweep, include"), "{e}");
        let e = error("name: g\n");
        assert!(e.starts_with("g.yaml:") && e.contains("missing field `base`; every grid states"), "{e}");
        assert_eq!(missing_field(Path::new("g.yaml"), "name"), "g.yaml: missing field `name`; add `name: <folder name>` (results go to results/<name>/)");
    }

    #[test]
    fn syntax_errors_say_where_to_look() {
        let e = error("name: g\nbase: {}\naxes:\n  r: [1, 2\n  t: 3\n");
        assert!(e.starts_with("g.yaml:5:") && e.contains(": YAML syntax error: ") && e.contains("every [ and { is closed"), "{e}");
        let e = error("name: g\nbase:\n  train: { steps: 3, steps: 5 }\n");
        assert_eq!(e, "g.yaml:3:22: `base.train`: duplicate mapping key `steps`; give each key once");
    }
}
