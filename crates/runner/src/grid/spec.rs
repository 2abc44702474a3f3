//! The grid YAML file: `name`, `base`, `axes`, `bundles`, `exclude`, `seeds`, `report`,
//! and `include` (files it merges over, see [`crate::grid::include`]).
//!
//! Parsing is strict: unknown keys and wrong types are errors with file:line.

use crate::grid::include::{self, included_from, Included};
use loran_train::config::RunConfig;
use anyhow::{anyhow, bail, Result};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

pub use loran_report::settings::{ReportSpec, TableKind};

/// A grid file as written, before expansion.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GridSpec {
    /// Results go to `results/<name>/`.
    pub name: String,
    /// One full run config; omitted keys take their documented defaults. Required:
    /// a grid states its base explicitly (`base: {}` means every default).
    pub base: RunConfig,
    /// Cartesian product over dotted keys (`adapter.method: [lora, loran]`), in file order.
    #[serde(default)]
    pub axes: Map<String, Value>,
    /// Variants of values applied together (see [`crate::grid::expand`]).
    #[serde(default)]
    pub bundles: Vec<Map<String, Value>>,
    /// Partial assignments; a cell matching every key of one entry is dropped.
    #[serde(default)]
    pub exclude: Vec<Map<String, Value>>,
    /// One run per seed (default `[0]`).
    #[serde(default = "default_seeds")]
    pub seeds: Vec<u64>,
    /// Which table and figures to render.
    #[serde(default)]
    pub report: ReportSpec,
    /// Tune each trained cell's learning rate on the validation split first (default:
    /// no sweep; see [`crate::grid::sweep`]).
    #[serde(default)]
    pub lr_sweep: Option<crate::grid::sweep::LrSweep>,
}

fn default_seeds() -> Vec<u64> {
    vec![0]
}

/// A parsed grid and the file it came from.
#[derive(Debug, Clone)]
pub struct GridFile {
    /// Path of the YAML file.
    pub path: PathBuf,
    /// Its text, kept to point at lines in later errors.
    pub text: String,
    /// The parsed content, merged over the included files.
    pub spec: GridSpec,
    /// The files it includes, the one whose keys win first (empty without `include:`):
    /// errors about keys set there point at their lines.
    pub included: Vec<Included>,
}

/// Reads (see [`crate::grid::file::read_text`]: a regular UTF-8 file of at most 1 MiB) and
/// strictly parses a grid file, then checks what serde cannot
/// (see [`crate::grid::validate`]).
pub fn read_grid(path: &Path) -> Result<GridFile> {
    let text = crate::grid::file::read_text(path)
        .map_err(|e| anyhow!("{}: cannot read the grid file ({}); {}", path.display(), e.why(), e.fix()))?;
    parse_grid(path, &text)
}

/// Strictly parses and checks grid `text` as [`read_grid`] does; `path` is only named
/// in errors and kept in the [`GridFile`] (the fuzzer feeds text without a file).
/// Errors are one line (see [`loran_io::one_line`]).
pub fn parse_grid(path: &Path, text: &str) -> Result<GridFile> {
    parse_text(path, text).map_err(|e| anyhow!(loran_io::chain_line(&*e)))
}

fn parse_text(path: &Path, text: &str) -> Result<GridFile> {
    let text = text.to_string();
    if text.lines().all(|l| l.trim().is_empty() || l.trim_start().starts_with('#')) {
        bail!("{}: the grid file is empty; a grid needs at least `name: <folder name>` and `base: {{}}` (see experiments/quick/table-main.yaml)", path.display());
    }
    // A grid without `include:` parses as before; `include` is no GridSpec key.
    let (spec, included) = match serde_saphyr::from_str::<GridSpec>(&text) {
        Ok(spec) => (spec, Vec::new()),
        Err(e) => match include::with_include(&text) {
            Ok(Some(top)) => include::resolve(path, &text, top)?,
            Ok(None) => bail!("{}", crate::grid::parse_error::located(path, &text, &e)),
            Err(value_error) => bail!("{}", crate::grid::parse_error::located(path, &text, &value_error)),
        },
    };
    let file = GridFile { path: path.to_path_buf(), text, spec, included };
    crate::grid::validate::check_file(&file).map_err(|e| anyhow!(file.with_origin(&format!("{e:#}"))))?;
    Ok(file)
}

impl GridFile {
    /// `file:line` of the first line that mentions `key:` (best effort), for errors.
    pub fn locate(&self, key: &str) -> String {
        self.find(key).unwrap_or_else(|| self.path.display().to_string())
    }

    /// `file:line` of the first line that mentions `key:`, if any: in the grid file,
    /// else in the included files (the grid file's keys override theirs).
    pub fn find(&self, key: &str) -> Option<String> {
        self.sources().find_map(|(path, text)| key_line(text, key, 0).map(|i| at(path, i)))
    }

    /// `file:line` of the first line mentioning `key:` inside the top-level `section:`
    /// (the line of the section itself when the key is not found there).
    pub fn locate_in(&self, section: &str, key: &str) -> String {
        let mut first_section = None;
        for (path, text) in self.sources() {
            let Some(s) = text.lines().position(|l| l.starts_with(&format!("{section}:"))) else { continue };
            if let Some(i) = key_line(text, key, s) {
                return at(path, i);
            }
            first_section.get_or_insert_with(|| at(path, s));
        }
        first_section.unwrap_or_else(|| self.locate(key))
    }

    /// `file:line` of the dotted key `path` (`base.train.lr`) found segment by segment, each
    /// at or after the line of the one before (a mapping written in block or flow style);
    /// as far as it gets when a later segment is not written out.
    pub fn locate_path(&self, path: &str) -> String {
        let mut best: Option<(usize, String)> = None;
        for (file, text) in self.sources() {
            let mut from = 0;
            let mut found = 0;
            let mut place = None;
            for segment in path.split('.') {
                let Some(i) = key_line(text, segment, from) else { break };
                (from, found, place) = (i, found + 1, Some(at(file, i)));
            }
            if let Some(place) = place {
                if best.as_ref().is_none_or(|(n, _)| found > *n) {
                    best = Some((found, place));
                }
            }
        }
        best.map(|(_, p)| p).unwrap_or_else(|| self.path.display().to_string())
    }

    /// `file:line` of the first line at or after `key:` that holds `value` as a whole
    /// word (so a bad value in a block list is pointed at), else of `key:` itself.
    pub fn locate_value(&self, key: &str, value: &serde_json::Value) -> String {
        self.locate_nth_value(key, value, 0)
    }

    /// As [`Self::locate_value`] for the `n`-th (from 0) occurrence of `value`, to point
    /// at a repeat.
    pub fn locate_nth_value(&self, key: &str, value: &serde_json::Value, n: usize) -> String {
        let word = match value {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Number(_) | serde_json::Value::Bool(_) => Some(value.to_string()),
            _ => None,
        };
        let mut first_key = None;
        for (path, text) in self.sources() {
            let Some(key_at) = key_line(text, key, 0) else { continue };
            first_key.get_or_insert_with(|| at(path, key_at));
            let Some(word) = &word else { break };
            let hits = text
                .lines()
                .enumerate()
                .skip(key_at)
                .flat_map(|(i, l)| std::iter::repeat_n(i, word_count(l.split(" #").next().unwrap_or(l), word)));
            if let Some(found) = hits.clone().nth(n).or_else(|| hits.last()) {
                return at(path, found);
            }
        }
        first_key.unwrap_or_else(|| self.path.display().to_string())
    }

    /// `message` with `(included from <grid>)` appended when it starts with an included
    /// file's path, so that an error located there still names the grid being read.
    pub fn with_origin(&self, message: &str) -> String {
        match self.included.iter().find(|f| message.starts_with(&format!("{}:", f.path.display()))) {
            Some(f) => format!("{message} {}", included_from(&f.via)),
            None => message.to_string(),
        }
    }

    /// The grid file's path and text, then each included file's, the one whose keys win first.
    fn sources(&self) -> impl Iterator<Item = (&Path, &str)> {
        std::iter::once((self.path.as_path(), self.text.as_str())).chain(self.included.iter().map(|f| (f.path.as_path(), f.text.as_str())))
    }
}

/// Index of the first line of `text` from `from` on that mentions `key:`.
fn key_line(text: &str, key: &str, from: usize) -> Option<usize> {
    let needle = format!("{key}:");
    text.lines()
        .enumerate()
        .skip(from)
        .find(|(_, l)| l.trim_start().starts_with(&needle) || l.contains(&format!(" {needle}")) || l.contains(&format!("{{{needle}")))
        .map(|(i, _)| i)
}

/// `file:line` for the 0-based line `i`.
fn at(path: &Path, i: usize) -> String {
    format!("{}:{}", path.display(), i + 1)
}

/// How often `word` occurs in `line` delimited by non-name characters.
fn word_count(line: &str, word: &str) -> usize {
    if word.is_empty() {
        return 0;
    }
    let name_char = |c: char| c.is_alphanumeric() || matches!(c, '-' | '_' | '.');
    line.match_indices(word)
        .filter(|(i, _)| {
            let before = line[..*i].chars().next_back();
            let after = line[i + word.len()..].chars().next();
            !before.is_some_and(name_char) && !after.is_some_and(name_char)
        })
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<GridFile> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("grid.yaml");
        std::fs::write(&path, text).unwrap();
        read_grid(&path).map_err(|e| anyhow!(e.to_string().replace(&dir.path().display().to_string(), "DIR")))
    }

    #[test]
    fn a_misspelt_key_is_an_error_with_file_and_line() {
        let err = parse("name: g\nbase:\n  train: { steps: 3, lerning_rate: 0.1 }\n").unwrap_err().to_string();
        assert!(err.starts_with("DIR/grid.yaml:"), "{err}");
        assert!(err.starts_with("DIR/grid.yaml:3:"), "{err}");
        assert!(err.contains("unknown field `lerning_rate`") && err.contains("lr"), "{err}");
        assert!(!err.contains('\n'), "{err}");
        let err = parse("name: g\naxis:\n  task: [a]\n").unwrap_err().to_string();
        assert!(err.starts_with("DIR/grid.yaml:2:") && err.contains("axis"), "{err}");
    }

    #[test]
    fn a_misspelt_axis_key_is_named_with_its_line() {
        let g = parse("name: g\nbase: {}\naxes:\n  adapter.rank: [8, 16]\n").unwrap();
        let err = crate::grid::expand(&g).unwrap_err().to_string();
        assert!(err.contains("grid.yaml:4: "), "{err}");
        assert!(err.contains("unknown field `rank`") && err.contains("`r`"), "{err}");
    }

    #[test]
    fn shape_errors_name_the_key() {
        let err = parse("name: g\nbase: {}\naxes:\n  task: news-standfirst\n").unwrap_err().to_string();
        assert!(err.contains("grid.yaml:4") && err.contains("must be a list"), "{err}");
        let err = parse("name: g\nbase: {}\nseeds: []\n").unwrap_err().to_string();
        assert!(err.contains("grid.yaml:3") && err.contains("seeds"), "{err}");
        let err = parse("name: a/b\nbase: {}\n").unwrap_err().to_string();
        assert!(err.starts_with("DIR/grid.yaml:1: `name`") && err.contains("e.g. `name: table-main`"), "{err}");
    }

    #[test]
    fn base_is_required_and_empty_files_are_named() {
        let err = parse("name: g\naxes:\n  task: [news-standfirst]\n").unwrap_err().to_string();
        assert!(err.starts_with("DIR/grid.yaml:") && err.contains("`base`") && err.contains("base: {}"), "{err}");
        let err = parse("# nothing here\n\n").unwrap_err().to_string();
        assert!(err.starts_with("DIR/grid.yaml: the grid file is empty"), "{err}");
        let err = parse("- name: g\n").unwrap_err().to_string();
        assert!(err.contains("must be a mapping with the keys name, base"), "{err}");
        let err = parse("name: g\nbase:\n  train:\n    steps: many\n").unwrap_err().to_string();
        assert!(err.starts_with("DIR/grid.yaml:4:") && err.contains("`base.train.steps`") && err.contains("a whole number"), "{err}");
    }

    #[test]
    fn values_are_located_by_word() {
        assert_eq!(word_count("  - lora # lora", "lora"), 2);
        assert_eq!(word_count("[lora, loran, qlora]", "lora"), 1);
        let g = GridFile { path: "g.yaml".into(), text: "axes:\n  task:\n    - a\n    - b\n".into(), spec: serde_saphyr::from_str("name: g\nbase: {}\n").unwrap(), included: Vec::new() };
        assert_eq!(g.locate_value("task", &"b".into()), "g.yaml:4");
        assert_eq!(g.locate_value("task", &"zz".into()), "g.yaml:2");
    }

    #[test]
    fn errors_quoting_a_multi_line_value_stay_one_line() {
        let err = parse("name: \"a\\nb/c\"\nbase: {}\n").unwrap_err().to_string();
        assert!(err.starts_with("DIR/grid.yaml:1: `name`") && err.contains("got \"a\\nb/c\"") && !err.contains('\n'), "{err}");
    }

    #[test]
    fn defaults_fill_a_minimal_grid() {
        let g = parse("name: minimal\nbase: {}\n").unwrap();
        assert_eq!(g.spec.seeds, vec![0]);
        assert_eq!(g.spec.base, RunConfig::default());
        assert_eq!(g.spec.report.table, TableKind::Main);
    }
}
