//! The dotted key at a line and column of a YAML text (best effort), so parser
//! errors such as `invalid type: string "many", expected usize` can name the key.

/// Characters of a plain key.
fn name_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | '.')
}

/// Keys open before `column` (1-based) on one line, outermost first; flow mappings
/// (`{ a: { b: 1 } }`) nest with their braces.
fn keys_in_line(line: &str, column: usize) -> Vec<String> {
    let mut stack: Vec<Option<String>> = vec![None];
    let mut word = String::new();
    let mut quote: Option<char> = None;
    let chars: Vec<char> = line.chars().take(column.saturating_sub(1)).collect();
    for (i, &c) in chars.iter().enumerate() {
        if let Some(q) = quote {
            if c == q {
                quote = None;
            }
            continue;
        }
        let depth = stack.len() - 1;
        match c {
            '"' | '\'' => quote = Some(c),
            '#' if i == 0 || chars[i - 1] == ' ' => break,
            ':' if !word.is_empty() && chars.get(i + 1).is_none_or(|n| *n == ' ') => stack[depth] = Some(std::mem::take(&mut word)),
            '{' | '[' => stack.push(None),
            '}' | ']' if depth > 0 => {
                stack.pop();
            }
            ',' => stack[depth] = None,
            _ => {}
        }
        if name_char(c) {
            word.push(c);
        } else if c != ':' || word.is_empty() {
            word.clear();
        }
    }
    stack.into_iter().flatten().collect()
}

/// Indentation of a block line, counting list dashes (`  - x` is indented 4).
fn indent(line: &str) -> usize {
    let mut n = 0;
    let mut rest = line;
    loop {
        let trimmed = rest.trim_start_matches(' ');
        n += rest.len() - trimmed.len();
        match trimmed.strip_prefix("- ") {
            Some(after) => {
                n += 2;
                rest = after;
            }
            None => return n,
        }
    }
}

/// The dotted path of the key in force at `line:column` (both 1-based), e.g.
/// `base.train.steps` for the `many` in `  train: { steps: many }` under `base:`.
pub fn key_path(text: &str, line: usize, column: usize) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let here = *lines.get(line.checked_sub(1)?)?;
    let mut path = keys_in_line(here, column);
    let mut level = indent(here);
    for above in lines[..line - 1].iter().rev() {
        if level == 0 {
            break;
        }
        let body = above.trim_start_matches([' ', '-']);
        if body.is_empty() || body.starts_with('#') || indent(above) >= level {
            continue;
        }
        level = indent(above);
        if let Some(first) = keys_in_line(above, above.len() + 1).into_iter().next() {
            path.insert(0, first);
        }
    }
    (!path.is_empty()).then(|| path.join("."))
}

/// The plain scalar starting at `line:column` (both 1-based), up to a flow
/// delimiter or a comment: the value a parser error is about.
pub fn scalar_at(text: &str, line: usize, column: usize) -> Option<String> {
    let here = text.lines().nth(line.checked_sub(1)?)?;
    let rest: String = here.chars().skip(column.saturating_sub(1)).collect();
    let end = rest.find([',', '}', ']', '#']).unwrap_or(rest.len());
    let value = rest[..end].trim();
    (!value.is_empty()).then(|| value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_and_flow_keys_join_into_a_path() {
        let text = "name: g\nbase:\n  train:\n    steps: many\n  adapter: { method: lora, r: big }\n";
        assert_eq!(key_path(text, 4, 12).as_deref(), Some("base.train.steps"));
        assert_eq!(key_path(text, 5, 32).as_deref(), Some("base.adapter.r"));
        assert_eq!(key_path(text, 1, 7).as_deref(), Some("name"));
        assert_eq!(key_path(text, 9, 1), None);
    }

    #[test]
    fn closed_flow_mappings_and_list_items_are_left_behind() {
        let text = "bundles:\n  - { train: { steps: 3 }, lr: x }\n";
        assert_eq!(key_path(text, 2, 33).as_deref(), Some("bundles.lr"));
        assert_eq!(keys_in_line("a: \"x: y\", b: 1", 15), vec!["b".to_string()]);
        assert_eq!(scalar_at("a: { b: many }", 1, 9).as_deref(), Some("many"));
    }
}
