//! Strategy (a): a seed grid (shipped, malformed or from `fuzz/corpus/`) with a few
//! byte- and line-level mutations. Positions are drawn as any `usize` and taken modulo
//! the current length, so every mutation applies to every seed (and shrinks toward 0).

use proptest::prelude::*;
use proptest::sample::select;

/// Characters YAML treats specially, plus whitespace and unicode oddities.
const SPECIAL: &[char] = &[
    ':', '[', ']', '{', '}', '-', '&', '*', '!', '\t', '#', '"', '\'', '|', '>', '%', '@', '`', ',', '?', '\n', '\r', ' ', '\\', '\0',
    '\u{feff}', '\u{2028}', '\u{85}', 'é', 'ß', '日', '🦀',
];

/// Short fragments worth inserting whole: document markers, anchors, tags, merges.
const FRAGMENTS: &[&str] = &[
    "\n---\n", "\n...\n", "%YAML 1.2\n---\n", "<<: *a\n", " &a ", " *a ", "*a", " !!str ", " !!binary ", " ? ", "- ", ": ", "{", "[", "\n  ", "\t",
    "&a [x, *a]", "!<tag:yaml.org,2002:str> ", "|\n  text\n", ">-\n  folded\n",
    // Includes that resolve beside a shipped grid, include themselves or name a device.
    "\ninclude: ../common/quick.yaml\n", "\ninclude: [../common/cpu.yaml, ../common/paper.yaml]\n", "\ninclude: table-main.yaml\n", "\ninclude: /dev/zero\n",
];

/// Values that change a scalar's type or push a limit.
pub const VALUES: &[&str] = &[
    "0", "-1", "1", "8", "2.5", "-0.0", "1e309", "-1e309", "1e-400", ".nan", ".NaN", ".inf", "-.inf", "~", "null", "true", "false", "yes", "no", "[]", "{}",
    "\"\"", "''", "18446744073709551615", "18446744073709551616", "-9223372036854775809", "9223372036854775807", "0x10", "0o17", "0b101", "1_000", "+5", "007",
    "\"8\"", "'lora'", "[[[[[[[[x]]]]]]]]", "{a: {b: {c: 1}}}", "[lora, lora]", "{ name: sinter, omega: .inf }", "!!str 64", "!!int \"8\"", "!!float 1",
    "!!binary aGVsbG8=", "!custom x", "*a", "&a 4", "\"a\\nb\"", "\"\\t\\r\\u2028\"", "日本語", "🦀", "a/b", "..", "lroa", "samsun", "none", "nf4",
    "loran", "sinter", "../common/quick-base.yaml", "/dev/zero", ".", "[quick.yaml, quick.yaml]", "{ last: 99999999999 }", "[0, 5, 1000000]", "{ method: na-lora, targets: [q_proj] }", "|\n  block\n", "- item",
];

/// Keys to swap in: real ones at several depths and misspellings.
pub const KEYS: &[&str] = &[
    "name", "base", "axes", "bundles", "exclude", "seeds", "report", "seed", "model", "task", "quant", "data", "adapter", "train", "eval", "method", "r",
    "alpha", "dropout", "targets", "layers", "last", "activation", "amplitude", "omega", "sine", "na_lora", "steps", "lr", "batch_size", "table",
    "notes", "baseline", "resamples", "confidence", "adapter.r", "adapter.method", "train.steps", "adapter.activation.omega", "axis", "lerning_rate",
    "rank", "include", "<<", "\"\"", "\"a b\"", "? complex", "日本",
];

/// One edit of a grid's bytes.
#[derive(Debug, Clone)]
pub enum Mutation {
    DeleteLine(usize),
    DuplicateLine(usize),
    SwapLines(usize, usize),
    Truncate(usize),
    Insert(usize, String),
    Indent(usize, i8),
    /// Replace the `nth` value-like token of a line (after `: `, `, `, `[` or `- `).
    ReplaceValue(usize, usize, String),
    ReplaceKey(usize, String),
    /// Copy `count` lines of another seed in at line `at`.
    Splice { seed: usize, line: usize, count: usize, at: usize },
    SetByte(usize, u8),
}

/// A seed index and 1..=5 mutations.
pub fn strategy(seeds: usize) -> impl Strategy<Value = (usize, Vec<Mutation>)> {
    (0..seeds, prop::collection::vec(mutation(seeds), 1..=5))
}

fn mutation(seeds: usize) -> impl Strategy<Value = Mutation> {
    let text = prop_oneof![
        3 => prop::collection::vec(prop_oneof![3 => select(SPECIAL), 1 => any::<char>()], 1..8).prop_map(String::from_iter),
        2 => select(FRAGMENTS).prop_map(String::from),
    ];
    prop_oneof![
        3 => any::<usize>().prop_map(Mutation::DeleteLine),
        2 => any::<usize>().prop_map(Mutation::DuplicateLine),
        2 => (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        1 => any::<usize>().prop_map(Mutation::Truncate),
        4 => (any::<usize>(), text).prop_map(|(p, s)| Mutation::Insert(p, s)),
        2 => (any::<usize>(), -4i8..=4).prop_map(|(l, d)| Mutation::Indent(l, d)),
        6 => (any::<usize>(), any::<usize>(), select(VALUES)).prop_map(|(l, n, v)| Mutation::ReplaceValue(l, n, v.into())),
        2 => (any::<usize>(), select(KEYS)).prop_map(|(l, k)| Mutation::ReplaceKey(l, k.into())),
        2 => (0..seeds, any::<usize>(), 1usize..6, any::<usize>()).prop_map(|(seed, line, count, at)| Mutation::Splice { seed, line, count, at }),
        1 => (any::<usize>(), any::<u8>()).prop_map(|(p, b)| Mutation::SetByte(p, b)),
    ]
}

/// The seed `seeds[index]` with `mutations` applied in order.
pub fn apply(seeds: &[Vec<u8>], index: usize, mutations: &[Mutation]) -> Vec<u8> {
    let mut bytes = seeds[index].clone();
    for m in mutations {
        bytes = apply_one(bytes, m, seeds);
    }
    bytes
}

fn apply_one(bytes: Vec<u8>, m: &Mutation, seeds: &[Vec<u8>]) -> Vec<u8> {
    let mut lines: Vec<Vec<u8>> = bytes.split(|&b| b == b'\n').map(<[u8]>::to_vec).collect();
    let n = lines.len();
    match m {
        Mutation::DeleteLine(i) => {
            lines.remove(i % n);
        }
        Mutation::DuplicateLine(i) => lines.insert(i % n, lines[i % n].clone()),
        Mutation::SwapLines(a, b) => lines.swap(a % n, b % n),
        Mutation::Truncate(p) => return bytes[..boundary(&bytes, p % (bytes.len() + 1))].to_vec(),
        Mutation::Insert(p, s) => {
            let at = boundary(&bytes, p % (bytes.len() + 1));
            return [&bytes[..at], s.as_bytes(), &bytes[at..]].concat();
        }
        Mutation::Indent(i, d) => {
            let line = &mut lines[i % n];
            if *d >= 0 {
                line.splice(0..0, std::iter::repeat_n(b' ', *d as usize));
            } else {
                let spaces = line.iter().take_while(|&&b| b == b' ').count().min(d.unsigned_abs() as usize);
                line.drain(..spaces);
            }
        }
        Mutation::ReplaceValue(i, nth, v) => replace_value(&mut lines[i % n], *nth, v),
        Mutation::ReplaceKey(i, k) => {
            let line = &mut lines[i % n];
            let start = line.iter().position(|&b| b != b' ' && b != b'-').unwrap_or(line.len());
            let end = find(line, b": ").filter(|&e| e >= start).unwrap_or(start);
            line.splice(start..end, k.bytes());
        }
        Mutation::Splice { seed, line, count, at } => {
            let other: Vec<&[u8]> = seeds[*seed].split(|&b| b == b'\n').collect();
            let from = line % other.len();
            let taken: Vec<Vec<u8>> = other[from..(from + count).min(other.len())].iter().map(|l| l.to_vec()).collect();
            let at = at % (n + 1);
            lines.splice(at..at, taken);
        }
        Mutation::SetByte(p, b) => {
            let mut bytes = bytes;
            if !bytes.is_empty() {
                let p = p % bytes.len();
                bytes[p] = *b;
            }
            return bytes;
        }
    }
    lines.join(&b'\n')
}

/// Replaces the `nth` (modulo their count) token that follows `: `, `, `, `[` or `- `
/// with `value`; a token ends at `,`, `}`, `]` or the end of the line.
fn replace_value(line: &mut Vec<u8>, nth: usize, value: &str) {
    let mut starts = Vec::new();
    for (i, w) in line.windows(2).enumerate() {
        if w == b": " || w == b", " || w == b"- " {
            starts.push(i + 2);
        } else if w[0] == b'[' {
            starts.push(i + 1);
        }
    }
    let Some(&start) = starts.get(nth % starts.len().max(1)) else {
        line.extend_from_slice(b": ");
        line.extend_from_slice(value.as_bytes());
        return;
    };
    let end = line[start..].iter().position(|b| b",}]".contains(b)).map_or(line.len(), |e| start + e);
    line.splice(start..end, value.bytes());
}

/// Position of `needle` in `hay`.
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// `p` moved back to the start of a UTF-8 character, so edits keep text valid
/// (invalid bytes come from [`Mutation::SetByte`] only).
fn boundary(bytes: &[u8], mut p: usize) -> usize {
    while p > 0 && p < bytes.len() && bytes[p] & 0xC0 == 0x80 {
        p -= 1;
    }
    p
}
