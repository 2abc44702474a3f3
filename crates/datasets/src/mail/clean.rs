//! Cleaning of a message body for topic classification: everything that
//! names the list, or that was written by someone else, is removed.
//!
//! In order:
//! 1. PGP armour: the `BEGIN PGP SIGNED MESSAGE` header with its `Hash:`
//!    lines, signature and key blocks, and the `- ` dash-escaping.
//! 2. Outlook-style quoted originals: from an `-----Original Message-----`
//!    line to the end.
//! 3. Quoted lines (after optional indentation: `>`, `|` then a space,
//!    `--]`, or supercite initials such as `MF>`) and the attribution line
//!    that introduces them (`... wrote:`, `... writes:`, `... said:`, or a
//!    line with an address ending in `:`, with a preceding `On ...` line). When an attribution is followed by lines
//!    starting with `)`, `#` or `:` and a space, that marker is this
//!    message's quote marker and all its lines go too.
//! 4. Footers and signatures, cut at the first separator line that starts
//!    one, repeatedly until none is left: a `-- ` signature delimiter with
//!    at most 10 non-blank lines after it; a rule of 10+ underscores with at
//!    most 8 after it (mailman and webmail footers); a rule followed by at
//!    most 8 lines of which one is a rule (a framed signature); or a
//!    delimiter or rule (10+ `-`, `=`, `_`, `*`, ...) followed within 3
//!    non-blank lines by a list-footer phrase (`mailing list`, `listinfo`,
//!    `sponsored by`, ...).
//! 5. Lines that still point at a list (`/listinfo/`, `/mailman/`),
//!    forwarding markers (`--- begin forwarded text`), and
//!    header-like lines (`From:`, `Subject:`, `Date:`, `List-...:`,
//!    `X-...:`, ... as in forwarded mail or `Date:/From:/Message-ID:` reply
//!    preambles).
//! 6. Trailing spaces, runs of blank lines and blank edges.

/// Phrases that mark a list footer.
const FOOTER_PHRASES: &[&str] = &[
    "mailing list",
    "listinfo",
    "sponsored by",
    "unsubscribe",
    "(un)subscription",
    "list maintainer",
    "mailman",
];

/// Header names that, at the start of a body line, mark it as a header line.
const HEADER_NAMES: &[&str] = &[
    "from",
    "to",
    "cc",
    "bcc",
    "subject",
    "date",
    "sent",
    "reply-to",
    "message-id",
    "in-reply-to",
    "references",
    "organization",
    "organisation",
    "newsgroups",
    "return-path",
    "delivered-to",
    "received",
    "content-type",
    "content-transfer-encoding",
    "content-disposition",
    "mime-version",
    "sender",
    "errors-to",
    "precedence",
    "user-agent",
    "importance",
    "priority",
    "followup-to",
    "mail-followup-to",
];

/// The cleaned body text (possibly empty).
pub fn clean_body(text: &str) -> String {
    let lines: Vec<String> = text
        .replace("\r\n", "\n")
        .lines()
        .map(str::to_string)
        .collect();
    let lines = strip_pgp(lines);
    let lines = cut_original_message(lines);
    let lines = drop_quotes(lines);
    let lines = cut_footer(lines);
    let lines: Vec<String> = lines
        .into_iter()
        .filter(|l| !is_list_pointer(l) && !is_header_line(l) && !is_forward_marker(l))
        .collect();
    tidy(&lines)
}

fn strip_pgp(lines: Vec<String>) -> Vec<String> {
    let mut out = Vec::with_capacity(lines.len());
    let mut signed = false;
    let mut in_block = false;
    let mut in_armor_header = false;
    for line in lines {
        let t = line.trim();
        if t == "-----BEGIN PGP SIGNED MESSAGE-----" {
            signed = true;
            in_armor_header = true;
            continue;
        }
        if in_armor_header {
            if t.is_empty() {
                in_armor_header = false;
            }
            continue; // `Hash: SHA1` and the blank line after it
        }
        if t.starts_with("-----BEGIN PGP ") {
            in_block = true;
            continue;
        }
        if in_block {
            if t.starts_with("-----END PGP ") {
                in_block = false;
            }
            continue;
        }
        match line.strip_prefix("- ") {
            Some(rest) if signed => out.push(rest.to_string()),
            _ => out.push(line),
        }
    }
    out
}

fn cut_original_message(mut lines: Vec<String>) -> Vec<String> {
    let marker = |l: &String| {
        let squashed: String = l
            .chars()
            .filter(|c| c.is_alphanumeric())
            .collect::<String>()
            .to_lowercase();
        l.trim_start().starts_with("--") && squashed == "originalmessage"
    };
    if let Some(pos) = lines.iter().position(marker) {
        lines.truncate(pos);
    }
    lines
}

/// A quoted line, whatever the message: after optional indentation, `>`,
/// `|` then a space, `--]`, or supercite initials such as `MF>`.
pub fn is_quoted(line: &str) -> bool {
    let t = line.trim_start();
    if t.starts_with('>')
        || t == "|"
        || t.starts_with("| ")
        || t.starts_with("|\t")
        || t.starts_with("--]")
    {
        return true;
    }
    let initials = t.chars().take_while(|c| c.is_ascii_alphabetic()).count();
    (1..=5).contains(&initials) && t[initials..].starts_with('>')
}

/// Markers some people quote with, recognised only right after an
/// attribution line (elsewhere they start code comments or smileys).
const ATTRIBUTED_QUOTE_MARKS: &[char] = &[')', '#', ':'];

/// The quote marker a line starts with, among [`ATTRIBUTED_QUOTE_MARKS`]
/// (followed by a space or the end of the line).
fn attributed_mark(line: &str) -> Option<char> {
    let t = line.trim_start();
    let c = t.chars().next()?;
    let rest = &t[c.len_utf8()..];
    (ATTRIBUTED_QUOTE_MARKS.contains(&c) && (rest.is_empty() || rest.starts_with([' ', '\t'])))
        .then_some(c)
}

fn is_attribution(line: &str) -> bool {
    let full = line.trim().to_lowercase();
    let t = full.trim_end_matches([' ', ':']);
    ["wrote", "writes", "said", "says", "write"].iter().any(|w| t.ends_with(w))
        || (full.ends_with(':') && full.contains('@')) // `Joe <joe@x.org> [2002-08-02 19:19]:`
        || t.starts_with("in message <")
        || t.starts_with("quoting ")
}

fn drop_quotes(lines: Vec<String>) -> Vec<String> {
    let n = lines.len();
    let mut keep = vec![true; n];
    let mut marks: Vec<char> = Vec::new();
    for i in 0..n {
        if is_quoted(&lines[i]) {
            keep[i] = false;
            continue;
        }
        if lines[i].trim().is_empty() || !is_attribution(&lines[i]) {
            continue;
        }
        let Some(next) = lines[i + 1..].iter().find(|l| !l.trim().is_empty()) else {
            continue;
        };
        let mark = attributed_mark(next);
        if !is_quoted(next) && mark.is_none() {
            continue;
        }
        marks.extend(mark);
        keep[i] = false;
        // A wrapped attribution: `On Mon, 2 Sep 2002,` / `Joe Bloggs wrote:`.
        if i > 0 {
            let prev = lines[i - 1].trim();
            if !prev.is_empty() && (prev.starts_with("On ") || prev.starts_with("At ")) {
                keep[i - 1] = false;
            }
        }
    }
    for (line, k) in lines.iter().zip(keep.iter_mut()) {
        if attributed_mark(line).is_some_and(|m| marks.contains(&m)) {
            *k = false;
        }
    }
    lines
        .into_iter()
        .zip(keep)
        .filter_map(|(l, k)| k.then_some(l))
        .collect()
}

fn is_rule(t: &str, c: char) -> bool {
    t.chars().count() >= 10 && t.chars().all(|x| x == c)
}

/// A line drawn with one or two symbols, 10 or more long (`-----`, `=0=0=0`).
fn is_any_rule(t: &str) -> bool {
    let mut symbols: Vec<char> = t.chars().collect();
    let long = symbols.len() >= 10;
    symbols.sort_unstable();
    symbols.dedup();
    long && symbols.len() <= 2
        && symbols.iter().any(|c| "-=_*~#".contains(*c))
        && symbols
            .iter()
            .all(|c| !c.is_alphabetic() && !c.is_whitespace())
}

/// The index of the first separator line that starts a footer or signature.
fn footer_start(lines: &[String]) -> Option<usize> {
    for i in 0..lines.len() {
        let t = lines[i].trim();
        let signature = lines[i].trim_end() == "--";
        let underscores = is_rule(t, '_');
        let rule = is_any_rule(t);
        if !(signature || rule) {
            continue;
        }
        let rest: Vec<&str> = lines[i + 1..]
            .iter()
            .map(|l| l.trim())
            .filter(|l| !l.is_empty())
            .collect();
        let phrase_soon = rest.iter().take(3).any(|l| {
            let low = l.to_lowercase();
            FOOTER_PHRASES.iter().any(|p| low.contains(p))
        });
        // A short block framed by rules at the end: `----` / name, address / `----` / motto.
        let framed = rule && (1..=8).contains(&rest.len()) && rest.iter().any(|l| is_any_rule(l));
        if phrase_soon
            || framed
            || (signature && rest.len() <= 10)
            || (underscores && rest.len() <= 8)
        {
            return Some(i);
        }
    }
    None
}

/// Cuts footers until none is left: a list footer under a signature makes
/// the signature look long until the footer is gone.
fn cut_footer(mut lines: Vec<String>) -> Vec<String> {
    while let Some(i) = footer_start(&lines) {
        lines.truncate(i);
    }
    lines
}

/// Forwarding markers (`--- begin forwarded text`, `---------- Forwarded message ----------`).
fn is_forward_marker(line: &str) -> bool {
    let t = line.trim().trim_matches('-').trim().to_lowercase();
    line.trim_start().starts_with("--")
        && [
            "begin forwarded text",
            "end forwarded text",
            "forwarded message",
            "begin forwarded message",
        ]
        .contains(&t.as_str())
}

fn is_list_pointer(line: &str) -> bool {
    let low = line.to_lowercase();
    low.contains("/listinfo/") || low.contains("/mailman/")
}

/// A line that looks like a mail header (`Subject: ...`), possibly indented.
pub fn is_header_line(line: &str) -> bool {
    let Some((name, _)) = line.trim_start().split_once(':') else {
        return false;
    };
    let name = name.to_ascii_lowercase();
    if !super::rfc822::is_header_name(&name) {
        return false;
    }
    HEADER_NAMES.contains(&name.as_str()) || name.starts_with("x-") || name.starts_with("list-")
}

fn tidy(lines: &[String]) -> String {
    let mut out: Vec<&str> = Vec::with_capacity(lines.len());
    for line in lines {
        let line = line.trim_end();
        if line.is_empty() && out.last().is_none_or(|l| l.is_empty()) {
            continue;
        }
        out.push(line);
    }
    while out.last().is_some_and(|l| l.is_empty()) {
        out.pop();
    }
    out.join("\n")
}

#[cfg(test)]
#[path = "clean_tests.rs"]
mod tests;
